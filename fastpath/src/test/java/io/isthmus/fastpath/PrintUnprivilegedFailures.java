package io.isthmus.fastpath;

/**
 * Prints what {@link TunDevice#open} and {@link RouteNetlink} say when the process lacks CAP_NET_ADMIN;
 * {@code FastPathsTest} runs it under {@code setpriv} with that capability dropped. Sets only {@code lo} up (it is
 * up already), so nothing changes should the capability still be there.
 */
public final class PrintUnprivilegedFailures {
    private PrintUnprivilegedFailures() {
    }

    public static void main(String[] args) {
        try (TunDevice tun = TunDevice.open("isthnoperm", TunDevice.Options.defaults())) {
            System.out.println("tun: opened " + tun.name());
        } catch (Exception e) {
            System.out.println("tun: " + e.getMessage());
        }
        try (RouteNetlink netlink = RouteNetlink.open()) {
            netlink.setUp("lo", true);
            System.out.println("netlink: set lo up");
        } catch (Exception e) {
            System.out.println("netlink: " + e.getMessage());
        }
    }
}
