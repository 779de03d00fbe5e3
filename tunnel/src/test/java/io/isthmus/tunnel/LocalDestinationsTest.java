package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The inbound destination set against an oracle: "some network of the list contains the address" (api's Cidr). */
class LocalDestinationsTest {

    private static boolean oracle(List<Cidr> networks, InetAddress address) {
        return networks.stream().anyMatch(n -> n.contains(address));
    }

    @Test
    void edgesOfNetworksAreInsideAndTheirNeighboursOutside() throws Exception {
        List<Cidr> networks = List.of(Cidr.parse("n", "10.150.1.0/24"), Cidr.parse("n", "10.96.77.10/32"),
                Cidr.parse("n", "172.30.0.0/16"), Cidr.parse("n", "fd00:1::/64"), Cidr.parse("n", "fd00:1::/48"));
        LocalDestinations set = LocalDestinations.of(networks);
        for (String in : List.of("10.150.1.0", "10.150.1.255", "10.96.77.10", "172.30.255.255", "fd00:1::",
                "fd00:1:0:ffff:ffff:ffff:ffff:ffff")) {
            assertTrue(set.contains(InetAddress.ofLiteral(in).getAddress()), in);
        }
        for (String out : List.of("10.150.0.255", "10.150.2.0", "10.96.77.9", "10.96.77.11", "169.254.169.254",
                "127.0.0.1", "192.168.78.1", "255.255.255.255", "0.0.0.0", "fd00:0:ffff:ffff:ffff:ffff:ffff:ffff",
                "fd00:2::", "fd00:1:1::", "::1", "fe80::1")) {
            assertFalse(set.contains(InetAddress.ofLiteral(out).getAddress()), out);
        }
    }

    @Test
    void theEmptySetAndTheWholeSpaceAreWhatTheySay() {
        assertFalse(LocalDestinations.NONE.contains(InetAddress.ofLiteral("10.0.0.1").getAddress()));
        assertFalse(LocalDestinations.NONE.contains(InetAddress.ofLiteral("::1").getAddress()));
        LocalDestinations all = LocalDestinations.of(List.of(Cidr.parse("n", "0.0.0.0/0"), Cidr.parse("n", "::/0")));
        assertTrue(all.contains(InetAddress.ofLiteral("255.255.255.255").getAddress()));
        assertTrue(all.contains(InetAddress.ofLiteral("0.0.0.0").getAddress()));
        assertTrue(all.contains(InetAddress.ofLiteral("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").getAddress()));
    }

    @Test
    void randomNetworksAndAddressesAgreeWithTheOracle() throws Exception {
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            List<Cidr> networks = new ArrayList<>();
            boolean six = round % 2 == 1;
            for (int i = 0; i < 1 + random.nextInt(12); i++) {
                networks.add(randomNetwork(random, six));
            }
            LocalDestinations set = LocalDestinations.of(networks);
            for (int probe = 0; probe < 200; probe++) {
                // half near a network (its edges), half anywhere in a small corner of the space
                byte[] address = new byte[six ? 16 : 4];
                if (probe % 2 == 0) {
                    Cidr near = networks.get(random.nextInt(networks.size()));
                    address = near.network().getAddress();
                    if (random.nextBoolean()) {
                        address = near.addressAt(near.size().subtract(java.math.BigInteger.ONE)).getAddress();
                    }
                    nudge(address, random.nextInt(3) - 1);
                } else {
                    random.nextBytes(address);
                    address[0] = (byte) (six ? 0xfd : 10);
                    address[1] = (byte) random.nextInt(4);
                }
                InetAddress ip = InetAddress.getByAddress(address);
                assertEquals(oracle(networks, ip), set.contains(address), ip + " in " + networks);
            }
        }
    }

    private static Cidr randomNetwork(Random random, boolean six) throws Exception {
        byte[] address = new byte[six ? 16 : 4];
        random.nextBytes(address);
        address[0] = (byte) (six ? 0xfd : 10);
        address[1] = (byte) random.nextInt(4);
        int prefix = six ? 8 + random.nextInt(121) : 8 + random.nextInt(25);
        return Cidr.of(InetAddress.getByAddress(address), prefix);
    }

    /** Adds -1, 0 or +1 to the address as one big number (wrapping). */
    private static void nudge(byte[] address, int by) {
        java.math.BigInteger value = new java.math.BigInteger(1, address).add(java.math.BigInteger.valueOf(by));
        byte[] raw = value.toByteArray();
        byte[] out = new byte[address.length];
        for (int i = 0; i < out.length && i < raw.length; i++) {
            out[out.length - 1 - i] = raw[raw.length - 1 - i];
        }
        System.arraycopy(out, 0, address, 0, out.length);
    }
}
