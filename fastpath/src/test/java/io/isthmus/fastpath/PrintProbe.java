package io.isthmus.fastpath;

/** Prints {@link FastPaths#probe()}; {@code FastPathsTest} runs it in a JVM started without native access. */
public final class PrintProbe {
    private PrintProbe() {
    }

    public static void main(String[] args) {
        System.out.println(FastPaths.probe());
    }
}
