package io.isthmus.fastpath;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * For loadtest/bench-xdp.sh: attaches an {@link XdpFilter} with no known peer (so every datagram to the port is an
 * unknown source), prints {@code attached MODE}, then on each line read from standard input prints the counters as
 * {@code counters REASON=N ...}; closes the filter at end of input. Arguments: namespace, interface, mode, port, pin
 * directory.
 */
final class XdpHold {
    private XdpHold() {
    }

    public static void main(String[] args) throws Exception {
        try (XdpFilter filter = XdpFilter.attach(new XdpFilter.Options(args[1], XdpFilter.Mode.valueOf(args[2]),
                Integer.parseInt(args[3]), Path.of(args[4]), NetNamespace.named(args[0])))) {
            System.out.println("attached " + filter.modeReport());
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            while (in.readLine() != null) {
                StringBuilder line = new StringBuilder("counters");
                filter.counters().forEach((reason, count) -> line.append(' ').append(reason).append('=').append(count));
                System.out.println(line);
                System.out.flush();
            }
        }
    }
}
