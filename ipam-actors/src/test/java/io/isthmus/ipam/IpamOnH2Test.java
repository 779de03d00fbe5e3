package io.isthmus.ipam;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** The IPAM contract on the embedded H2 journal (the default), in a temporary directory of its own. */
class IpamOnH2Test extends IpamContract {
    private Path dir;

    @Override
    JournalSystems.Journal journal() throws Exception {
        if (dir == null) {
            dir = Files.createTempDirectory("ipam-h2-");
        }
        return new JournalSystems.H2(dir);
    }

    @Override
    void closeJournal() throws Exception {
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(path);
                }
            }
        }
    }
}
