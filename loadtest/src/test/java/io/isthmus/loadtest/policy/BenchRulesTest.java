package io.isthmus.loadtest.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rule set read back from the JSON it posts, checked against what the benchmark needs of it. */
class BenchRulesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<JsonNode> rules(JsonNode body) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode policy : body.path("items")) {
            policy.path("spec").path("ingress").forEach(out::add);
            policy.path("spec").path("egress").forEach(out::add);
        }
        return out;
    }

    @Test
    void tenThousandRulesGoInFiftyPoliciesOfAtMost256RulesASide() throws Exception {
        JsonNode body = JSON.readTree(new BenchRules(10_000, "east", "west", "10.1.0.0/24", "10.2.0.0/24", 5201, 50)
                .policiesJson());
        assertEquals(50, body.path("items").size());
        assertEquals(10_000, rules(body).size());
        for (JsonNode policy : body.path("items")) {
            assertTrue(policy.path("spec").path("ingress").size() <= 256);
            assertTrue(policy.path("spec").path("egress").size() <= 256);
            assertEquals("[\"east\",\"west\"]", policy.path("spec").path("appliesTo").path("clusters").toString());
        }
    }

    @Test
    void noDenyRuleCoversTheFlowOrItsAnswersAndOnlyTheLastTwoAllow() throws Exception {
        BenchRules set = new BenchRules(10_000, "east", "west", "10.1.0.0/24", "10.2.0.0/24", 5201, 50);
        List<JsonNode> all = rules(JSON.readTree(set.policiesJson()));
        int allows = 0;
        int portRules = 0;
        Set<String> cidrs = new HashSet<>();
        for (JsonNode rule : all) {
            JsonNode port = rule.path("ports").get(0);
            JsonNode peer = rule.path("peers").get(0);
            if (rule.path("action").asText().equals("Allow")) {
                allows++;
                assertEquals(5201, port.path("port").asInt());
                continue;
            }
            assertEquals("Deny", rule.path("action").asText());
            if (peer.has("cidrs")) {
                String cidr = peer.path("cidrs").get(0).asText();
                assertTrue(cidr.startsWith("172.") && cidr.endsWith("/28"), cidr);
                int second = Integer.parseInt(cidr.split("\\.")[1]);
                assertTrue(second >= 16 && second <= 31, cidr); // inside 172.16.0.0/12: never a pod
                assertTrue(cidrs.add(cidr), "given twice: " + cidr);
            } else {
                portRules++;
                int first = port.path("port").asInt();
                int last = port.path("endPort").asInt();
                assertTrue(first >= 1 && first <= last, rule.toString());
                assertFalse(first <= 5201 && 5201 <= last, "covers the flow's port: " + rule);
                assertTrue(last < 32768, "covers an ephemeral port: " + rule);
            }
        }
        assertEquals(2, allows);
        assertTrue(portRules > 4_500 && portRules < 5_500, "port rules: " + portRules);
        // The last policy ends with the Allow rules, so the evaluation walks every other rule first.
        assertEquals(List.of("policy=\"bench-049\",rule=\"spec.ingress[99]\"", "policy=\"bench-049\",rule=\"spec.egress[99]\""),
                set.allowLabels());
    }

    @Test
    void theNftablesRulesetsHoldTheSameRules() {
        BenchRules set = new BenchRules(1_000, "east", "west", "10.1.0.0/24", "10.2.0.0/24", 5201, 50);
        String perRule = set.nftRules("t");
        assertEquals(1_000, perRule.lines().filter(l -> l.endsWith(" drop") || l.endsWith(" accept")).count());
        String sets = set.nftSets("t");
        long cidrRules = perRule.lines().filter(l -> l.contains("/28 ")).count();
        String cidrSet = sets.lines().filter(l -> l.contains("set denied_cidrs")).findFirst().orElseThrow();
        assertEquals(cidrRules, cidrSet.split(",").length);
        assertTrue(sets.contains("ip saddr 10.1.0.0/24 ip daddr 10.2.0.0/24 tcp dport 5201 counter accept"), sets);
    }

    @Test
    void oneRuleIsTheAllowAlone() throws Exception {
        List<JsonNode> all = rules(JSON.readTree(new BenchRules(1, "east", "west", "10.1.0.0/24", "10.2.0.0/24", 5201, 50)
                .policiesJson()));
        assertEquals(1, all.size());
        assertEquals("Allow", all.getFirst().path("action").asText());
    }

    @Test
    void badSettingsAreRefusedNamingTheOption() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new BenchRules(0, "east", "west", "10.1.0.0/24", "10.2.0.0/24", 5201, 50)).getMessage().contains("--rules"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new BenchRules(10, "east", "west", "10.1.0.0/24", "10.2.0.0/24", 40000, 50)).getMessage().contains("--port"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new BenchRules(10, "east", "west", "10.1.0.0/24", "10.2.0.0/24", 5201, 101)).getMessage().contains("--port-share"));
    }
}
