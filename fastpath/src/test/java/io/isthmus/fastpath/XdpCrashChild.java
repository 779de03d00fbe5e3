package io.isthmus.fastpath;

import java.nio.file.Path;

/**
 * A process that attaches an {@link XdpFilter} and then waits to be killed, so {@link XdpFilterTest} can see what a
 * crashed gateway leaves behind. Arguments: namespace, interface, tunnel port, pin directory.
 */
final class XdpCrashChild {
    private XdpCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        XdpFilter filter = XdpFilter.attach(new XdpFilter.Options(args[1], XdpFilter.Mode.GENERIC,
                Integer.parseInt(args[2]), Path.of(args[3]), NetNamespace.named(args[0])));
        System.out.println("attached " + filter.modeReport());
        System.out.flush();
        Thread.sleep(60_000); // killed long before; never closes the filter
    }
}
