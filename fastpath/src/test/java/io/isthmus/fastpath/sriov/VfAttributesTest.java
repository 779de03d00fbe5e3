package io.isthmus.fastpath.sriov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.fastpath.InvalidArgumentException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The IFLA_VFINFO_LIST bytes, checked twice and independently of the encoder: against hex written out by hand from
 * the structs of {@code <linux/if_link.h>} (struct ifla_vf_mac {u32 vf; u8 mac[32];}, ifla_vf_vlan {u32 vf, vlan,
 * qos}, ifla_vf_rate {u32 vf, min_tx_rate, max_tx_rate}, ifla_vf_spoofchk / ifla_vf_trust {u32 vf; u32 setting};
 * attribute numbers IFLA_VFINFO_LIST 22, IFLA_VF_INFO 1, MAC 1, VLAN 2, SPOOFCHK 4, RATE 6, TRUST 9), and against
 * what a C program compiled here with this machine's kernel headers builds from those very structs.
 */
class VfAttributesTest {

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    private static final String ZEROS_26 = "00".repeat(26);

    @Test
    void macAloneIsOneNestOfOneAttributeOfFortyBytes() {
        byte[] encoded = VfAttributes.encode(VfConfig.of(3).withMac(MacAddress.parse("mac", "02:00:5E:10:00:03")));
        String expected = ""
                + "3000" + "1680"            // rtattr len 48, type 22 | NLA_F_NESTED (little endian)
                + "2c00" + "0180"            // len 44, IFLA_VF_INFO 1 | NLA_F_NESTED
                + "2800" + "0100"            // len 40 = 4 + sizeof(struct ifla_vf_mac) 36, IFLA_VF_MAC 1
                + "03000000"                 // vf 3
                + "02005e100003" + ZEROS_26; // mac[32]
        assertEquals(expected, hex(encoded));
    }

    @Test
    void everySettingInTheKernelsOrder() {
        VfConfig config = VfConfig.of(1).withTrust(false).withSpoofCheck(true).withRate(10, 1000).withVlan(100, 5)
                .withMac(MacAddress.parse("mac", "02:11:22:33:44:55"));
        String expected = ""
                + "6800" + "1680"                                   // list: 4 + 100
                + "6400" + "0180"                                   // info: 4 + 40 + 16 + 16 + 12 + 12
                + "2800" + "0100" + "01000000" + "021122334455" + ZEROS_26
                + "1000" + "0200" + "01000000" + "64000000" + "05000000"     // vlan 100, qos 5
                + "1000" + "0600" + "01000000" + "0a000000" + "e8030000"     // min 10, max 1000 Mbit/s
                + "0c00" + "0400" + "01000000" + "01000000"                  // spoofchk on
                + "0c00" + "0900" + "01000000" + "00000000";                 // trust off
        assertEquals(expected, hex(VfAttributes.encode(config)));
    }

    @Test
    void aLargeVfIndexIsFourLittleEndianBytes() {
        String expected = "1400" + "1680" + "1000" + "0180" + "0c00" + "0900" + "78563412" + "01000000";
        assertEquals(expected, hex(VfAttributes.encode(VfConfig.of(0x12345678).withTrust(true))));
    }

    @Test
    void matchesWhatCBuildsFromTheKernelHeadersOfThisMachine(@TempDir Path dir) throws Exception {
        assertTrue(Files.exists(Path.of("/usr/include/linux/if_link.h")), "linux-libc-dev provides the UAPI headers");
        String program = """
                #include <stdio.h>
                #include <string.h>
                #include <linux/if_link.h>
                #include <linux/rtnetlink.h>
                static unsigned char buf[512];
                static int at;
                static struct rtattr *put(int type, const void *data, int len) {
                    struct rtattr *rta = (struct rtattr *)(buf + at);
                    rta->rta_type = type; rta->rta_len = RTA_LENGTH(len);
                    if (data) memcpy(RTA_DATA(rta), data, len);
                    at += RTA_ALIGN(rta->rta_len);
                    return rta;
                }
                int main(void) {
                    struct rtattr *list = put(IFLA_VFINFO_LIST | NLA_F_NESTED, 0, 0);
                    struct rtattr *info = put(IFLA_VF_INFO | NLA_F_NESTED, 0, 0);
                    struct ifla_vf_mac mac = { .vf = 7, .mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x07} };
                    struct ifla_vf_vlan vlan = { .vf = 7, .vlan = 4095, .qos = 7 };
                    struct ifla_vf_rate rate = { .vf = 7, .min_tx_rate = 0, .max_tx_rate = 25000 };
                    struct ifla_vf_spoofchk spoof = { .vf = 7, .setting = 0 };
                    struct ifla_vf_trust trust = { .vf = 7, .setting = 1 };
                    put(IFLA_VF_MAC, &mac, sizeof mac);
                    put(IFLA_VF_VLAN, &vlan, sizeof vlan);
                    put(IFLA_VF_RATE, &rate, sizeof rate);
                    put(IFLA_VF_SPOOFCHK, &spoof, sizeof spoof);
                    put(IFLA_VF_TRUST, &trust, sizeof trust);
                    info->rta_len = (unsigned short)(buf + at - (unsigned char *)info);
                    list->rta_len = (unsigned short)(buf + at - (unsigned char *)list);
                    for (int i = 0; i < at; i++) printf("%02x", buf[i]);
                    printf("\\n");
                    return 0;
                }
                """;
        Path source = dir.resolve("vfinfo.c");
        Files.writeString(source, program);
        run(List.of("gcc", "-Wall", "-Werror", "-o", dir.resolve("vfinfo").toString(), source.toString()));
        String fromC = run(List.of(dir.resolve("vfinfo").toString())).strip();

        VfConfig config = VfConfig.of(7).withMac(MacAddress.parse("mac", "02:aa:bb:cc:dd:07")).withVlan(4095, 7)
                .withRate(0, 25_000).withSpoofCheck(false).withTrust(true);
        assertEquals(fromC, hex(VfAttributes.encode(config)));
    }

    @Test
    void refusesWhatNoKernelTakesNamingTheFieldAndValue() {
        assertEquals("invalid vlan '4096': must be 0 (no VLAN) to 4095",
                assertThrows(InvalidArgumentException.class, () -> VfConfig.of(0).withVlan(4096, 0)).getMessage());
        assertEquals("invalid qos '8': must be an 802.1p priority, 0 to 7",
                assertThrows(InvalidArgumentException.class, () -> VfConfig.of(0).withVlan(1, 8)).getMessage());
        assertEquals("invalid minTxRate '200': is above maxTxRate 100",
                assertThrows(InvalidArgumentException.class, () -> VfConfig.of(0).withRate(200, 100)).getMessage());
        assertEquals("invalid vf '-1': must be a VF index, 0 to 2147483646",
                assertThrows(InvalidArgumentException.class, () -> VfConfig.of(-1)).getMessage());
        assertEquals("invalid mac '01:00:5e:00:00:01': is a multicast address; a VF needs a unicast one",
                assertThrows(InvalidArgumentException.class, () -> VfConfig.of(0)
                        .withMac(MacAddress.parse("mac", "01:00:5e:00:00:01"))).getMessage());
        assertEquals("invalid mac '02:00:00:00:01': is not a MAC address (six hex pairs joined by ':')",
                assertThrows(InvalidArgumentException.class, () -> MacAddress.parse("mac", "02:00:00:00:01"))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> VfAttributes.encode(VfConfig.of(0)));
        // a rate with max 0 (no limit) and a guaranteed minimum is allowed
        assertEquals("min_tx_rate 500 max_tx_rate 0", VfConfig.of(0).withRate(500, 0).describe());
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), command + " finished");
        String text = new String(output, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), command + ": " + text);
        return text;
    }
}
