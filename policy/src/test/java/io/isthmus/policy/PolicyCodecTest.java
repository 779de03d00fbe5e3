package io.isthmus.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceKey;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyCodecTest {
    private static final String SHOP = """
            apiVersion: isthmus.io/v1alpha1
            kind: GlobalNetworkPolicy
            metadata:
              name: shop-frontend
            spec:
              order: 100
              appliesTo:
                clusters: [east]
                namespaces: [shop]
                podSelector:
                  matchLabels: {app: cart}
              ingress:
                - action: Allow
                  peers:
                    - clusters: [west, north]
                      namespaceSelector:
                        matchExpressions:
                          - {key: team, operator: In, values: [web, mobile]}
                  ports:
                    - {protocol: TCP, port: 8080, endPort: 8090}
                    - {protocol: UDP, port: 53}
                - action: Deny
              egress:
                - action: Allow
                  peers:
                    - cidrs: [192.0.2.0/24]
                    - services: [db/postgres]
            """;

    @Test
    void aPolicyAsWrittenInYamlIsReadWithEveryField() {
        Policy policy = PolicyCodec.readOne(SHOP);
        assertEquals("shop-frontend", policy.name());
        assertEquals(100, policy.order());
        assertEquals(List.of(ClusterId.of("east")), List.copyOf(policy.appliesTo().clusters()));
        assertEquals(Map.of("app", "cart"), policy.appliesTo().podSelector().matchLabels());
        Rule allow = policy.ingress().getFirst();
        assertEquals(Rule.Action.ALLOW, allow.action());
        assertEquals(List.of(ClusterId.of("north"), ClusterId.of("west")), List.copyOf(allow.peers().getFirst().clusters()));
        assertEquals(List.of(new PortRange(Protocol.TCP, 8080, 8090), new PortRange(Protocol.UDP, 53, 53)), allow.ports());
        assertTrue(allow.peers().getFirst().namespaceSelector().matches(Map.of("team", "web")));
        assertTrue(!allow.peers().getFirst().namespaceSelector().matches(Map.of("team", "ops")));
        assertEquals(new Rule(Rule.Action.DENY, List.of(), List.of()), policy.ingress().get(1));
        assertEquals(List.of(Cidr.parse("t", "192.0.2.0/24")), policy.egress().getFirst().peers().getFirst().cidrs());
        assertEquals(List.of(new ServiceKey("db", "postgres")),
                List.copyOf(policy.egress().getFirst().peers().get(1).services()));
    }

    @Test
    void theCanonicalJsonReadsBackToTheSamePolicyAndIsTheSameForEqualPolicies() {
        Policy policy = PolicyCodec.readOne(SHOP);
        String json = PolicyCodec.canonicalJson(policy);
        assertEquals(policy, PolicyCodec.readOne(json));
        // the same policy written in another order and style gives the same bytes
        String reordered = """
                {"spec": {"egress": [{"peers": [{"cidrs": ["192.0.2.0/24"]}, {"services": ["db/postgres"]}], "action": "allow"}],
                  "ingress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"endPort": 8090, "port": 8080}],
                               "peers": [{"namespaceSelector": {"matchExpressions": [{"values": ["mobile", "web"], "operator": "In", "key": "team"}]},
                                          "clusters": ["north", "west"]}], "action": "Allow"},
                              {"action": "DENY"}],
                  "appliesTo": {"podSelector": {"matchLabels": {"app": "cart"}}, "namespaces": ["shop"], "clusters": ["east"]},
                  "order": 100},
                 "metadata": {"name": "shop-frontend"}}
                """;
        assertEquals(json, PolicyCodec.canonicalJson(PolicyCodec.readOne(reordered)));
    }

    @Test
    void encryptionRequiredIsReadAndWrittenAndOptionalIsTheDefaultLeftOut() {
        Policy sealed = PolicyCodec.readOne("metadata: {name: p}\nspec: {appliesTo: {}, encryption: Required}");
        assertEquals(Policy.Encryption.REQUIRED, sealed.encryption());
        assertTrue(PolicyCodec.canonicalJson(sealed).contains("\"encryption\":\"Required\""), PolicyCodec.canonicalJson(sealed));
        assertEquals(sealed, PolicyCodec.readOne(PolicyCodec.canonicalJson(sealed)));
        Policy optional = PolicyCodec.readOne("metadata: {name: p}\nspec: {appliesTo: {}, encryption: Optional}");
        assertEquals(Policy.Encryption.OPTIONAL, optional.encryption());
        assertEquals(PolicyCodec.canonicalJson(PolicyCodec.readOne("metadata: {name: p}\nspec: {appliesTo: {}}")),
                PolicyCodec.canonicalJson(optional));
    }

    @Test
    void severalDocumentsAreReadInOrderAndANameGivenTwiceIsRefused() {
        String two = "metadata: {name: a}\nspec: {appliesTo: {}}\n---\nmetadata: {name: b}\nspec: {appliesTo: {}, order: 5}\n---\n";
        assertEquals(List.of("a", "b"), PolicyCodec.read(two).stream().map(Policy::name).toList());
        InvalidFieldException twice = assertThrows(InvalidFieldException.class,
                () -> PolicyCodec.read("metadata: {name: a}\nspec: {appliesTo: {}}\n---\nmetadata: {name: a}\nspec: {appliesTo: {}}\n"));
        assertEquals("metadata.name", twice.field());
    }

    @Test
    void badInputIsRefusedNamingTheFieldAndTheValue() {
        assertRefused("spec.ingress[0].ports[0].endPort", "80",
                "metadata: {name: p}\nspec: {appliesTo: {}, ingress: [{action: Allow, ports: [{port: 443, endPort: 80}]}]}");
        assertRefused("spec.encryption", "required", "metadata: {name: p}\nspec: {appliesTo: {}, encryption: required}");
        assertRefused("spec.ingress[0].action", "Permit",
                "metadata: {name: p}\nspec: {appliesTo: {}, ingress: [{action: Permit}]}");
        assertRefused("spec.appliesTo.clusters", "East_1", "metadata: {name: p}\nspec: {appliesTo: {clusters: [East_1]}}");
        assertRefused("spec.egress[0].peers[0].cidrs", "10.0.0.1/8",
                "metadata: {name: p}\nspec: {appliesTo: {}, egress: [{action: Deny, peers: [{cidrs: [10.0.0.1/8]}]}]}");
        assertRefused("spec.appliesTo.cidrs", "[10.0.0.0/8]",
                "metadata: {name: p}\nspec: {appliesTo: {cidrs: [10.0.0.0/8], podSelector: {matchLabels: {a: b}}}}");
        assertRefused("spec.appliesTo.podSelector.matchExpressions[0].values", "[]",
                "metadata: {name: p}\nspec: {appliesTo: {podSelector: {matchExpressions: [{key: a, operator: In}]}}}");
        assertRefused("spec.appliesTo.podSelector.matchExpressions[0].operator", "Maybe",
                "metadata: {name: p}\nspec: {appliesTo: {podSelector: {matchExpressions: [{key: a, operator: Maybe}]}}}");
        assertRefused("spec.order", "20000", "metadata: {name: p}\nspec: {appliesTo: {}, order: 20000}");
        assertRefused("spec.appliesTo", "", "metadata: {name: p}\nspec: {}");
        assertRefused("spec.apliesTo", "{}", "metadata: {name: p}\nspec: {apliesTo: {}}");
        assertRefused("metadata.name", "Not A Name", "metadata: {name: Not A Name}\nspec: {appliesTo: {}}");
        assertRefused("spec.ingress[0].peers[0].services", "postgres",
                "metadata: {name: p}\nspec: {appliesTo: {}, ingress: [{action: Allow, peers: [{services: [postgres]}]}]}");
        assertRefused("kind", "NetworkPolicy", "kind: NetworkPolicy\nmetadata: {name: p}\nspec: {appliesTo: {}}");
        assertRefused("spec.ingress[0].ports[0].protocol", "ICMP",
                "metadata: {name: p}\nspec: {appliesTo: {}, ingress: [{action: Allow, ports: [{protocol: ICMP}]}]}");
    }

    @Test
    void anErrorInALaterDocumentSaysWhichDocument() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> PolicyCodec.read(
                "metadata: {name: a}\nspec: {appliesTo: {}}\n---\nmetadata: {name: b}\nspec: {appliesTo: {}, order: -1}\n"));
        assertEquals("document 2: spec.order", e.field());
    }

    private static void assertRefused(String field, String value, String yaml) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> PolicyCodec.read(yaml), yaml);
        assertEquals(field, e.field(), e.getMessage());
        assertEquals(value, e.value(), e.getMessage());
    }
}
