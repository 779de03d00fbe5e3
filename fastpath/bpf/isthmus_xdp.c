// SPDX-License-Identifier: GPL-2.0
/*
 * The underlay pre-filter: an XDP program on the interface the tunnel's UDP datagrams arrive on. It drops what no
 * known peer can have sent, before the kernel builds an skb for it:
 *   - a datagram to the tunnel port from a source address not in ist_known_peers,
 *   - one too short to hold the tunnel header and the AEAD tag (tunnel WireFormat.OVERHEAD, 32 bytes),
 *   - one whose header is not a tunnel header (type DATA or KEEPALIVE, lane below 16, version at most
 *     TUNNEL_WIRE_VERSION, reserved byte zero),
 *   - with session checks on (config flag CHECK_SESSIONS): one whose receiver index names no session the gateway
 *     opens packets with (an ended epoch), or whose counter lies below the floor the gateway published for that
 *     session and lane (a replay the tunnel's window refuses anyway: the floor only ever trails the window).
 * With PASS_UNANNOUNCED as well, a datagram from a source no peer announced passes when its header names a live
 * session: a peer behind NAT or one that roamed keeps working, counted apart (PASS_UNANNOUNCED) so it shows.
 * Everything else passes untouched: other ports and protocols, non-first IPv4 fragments (no UDP header to read),
 * IPv6 with extension headers before UDP, VLAN-tagged frames. Nothing here decrypts or checks keys; the tunnel
 * still authenticates every datagram it receives.
 *
 * Maps (Java: io.isthmus.fastpath.XdpFilter writes them, reads the counters):
 *   ist_xdp_config  ARRAY[1]      u32 0 -> struct xdp_config (the tunnel port; 0 = filter nothing)
 *   ist_known_peers HASH          struct peer_key -> u8 (any value; presence is what counts)
 *   ist_xdp_counts  PERCPU_ARRAY  u32 reason -> u64 packets (the XDP_COUNT_* slots below)
 *   ist_sessions    HASH          u32 receiver index (as on the wire, big-endian) -> struct session_floor
 *
 * Build: clang -O2 -g -target bpf -I/usr/include/$(arch)-linux-gnu -c isthmus_xdp.c (the fastpath Maven build does it).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Counter slots; XdpFilter.Reason lists them in this order. */
enum {
	XDP_COUNT_PASS_TUNNEL = 0,   /* a tunnel datagram from a known peer, passed */
	XDP_COUNT_PASS_OTHER = 1,    /* not for the tunnel port (or no port configured), passed */
	XDP_COUNT_DROP_UNKNOWN = 2,  /* to the tunnel port from a source not in ist_known_peers */
	XDP_COUNT_DROP_SHORT = 3,    /* shorter than the tunnel header and tag */
	XDP_COUNT_DROP_HEADER = 4,   /* not a tunnel header */
	XDP_COUNT_DROP_SESSION = 5,  /* from a known peer, to a receiver index no live session holds */
	XDP_COUNT_DROP_STALE = 6,    /* counter below the published floor of its session and lane: a replay */
	XDP_COUNT_PASS_UNANNOUNCED = 7, /* from a source no peer announced, to a live session: passed */
	XDP_COUNT_SLOTS = 8,
};

#define CONFIG_CHECK_SESSIONS 1u
#define CONFIG_PASS_UNANNOUNCED 2u

#define TUNNEL_HEADER_BYTES 16
#define TUNNEL_TAG_BYTES 16
#define TUNNEL_TYPE_DATA 1
#define TUNNEL_TYPE_KEEPALIVE 2
#define TUNNEL_LANES 16
/* The newest header version (tunnel WireFormat.VERSION); 0 is the wire from before versions. */
#define TUNNEL_WIRE_VERSION 1

#define PEER_FAMILY_IPV4 4
#define PEER_FAMILY_IPV6 6

struct xdp_config {
	__u16 port;      /* host order; 0: pass everything */
	__u16 pad;
	__u32 flags;     /* CONFIG_* bits */
};

/* Per lane, the lowest counter the tunnel's replay window still accepts (host order); 0 accepts all. */
struct session_floor {
	__u64 floor[TUNNEL_LANES];
};

/* Family-prefixed like policy's ist_addr_class key: IPv4 in addr[0..3], the rest zero. 20 bytes, no holes. */
struct peer_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_config);
} ist_xdp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct peer_key);
	__type(value, __u8);
} ist_known_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_COUNT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} ist_xdp_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct session_floor);
} ist_sessions SEC(".maps");

static __always_inline int count(__u32 slot, int verdict)
{
	__u64 *packets = bpf_map_lookup_elem(&ist_xdp_counts, &slot);
	if (packets)
		*packets += 1; /* per CPU: no atomics needed */
	return verdict;
}

/* The verdict for a UDP datagram to the tunnel port whose source is in key. */
static __always_inline int tunnel_datagram(struct peer_key *key, struct udphdr *udp, void *data_end, __u32 flags)
{
	int announced = bpf_map_lookup_elem(&ist_known_peers, key) != NULL;
	int lenient = (flags & CONFIG_CHECK_SESSIONS) && (flags & CONFIG_PASS_UNANNOUNCED);
	if (!announced && !lenient)
		return count(XDP_COUNT_DROP_UNKNOWN, XDP_DROP);
	__u16 udp_length = bpf_ntohs(udp->len);
	__u8 *payload = (__u8 *)(udp + 1);
	if (udp_length < sizeof(*udp) + TUNNEL_HEADER_BYTES + TUNNEL_TAG_BYTES
	    || (void *)(payload + TUNNEL_HEADER_BYTES) > data_end)
		return count(announced ? XDP_COUNT_DROP_SHORT : XDP_COUNT_DROP_UNKNOWN, XDP_DROP);
	__u8 type = payload[0];
	__u8 lane = payload[1];
	if ((type != TUNNEL_TYPE_DATA && type != TUNNEL_TYPE_KEEPALIVE) || lane >= TUNNEL_LANES
	    || payload[2] > TUNNEL_WIRE_VERSION || payload[3] != 0)
		return count(announced ? XDP_COUNT_DROP_HEADER : XDP_COUNT_DROP_UNKNOWN, XDP_DROP);
	if (flags & CONFIG_CHECK_SESSIONS) {
		__u32 index;
		__u64 counter;
		__builtin_memcpy(&index, payload + 4, 4);
		__builtin_memcpy(&counter, payload + 8, 8);
		struct session_floor *session = bpf_map_lookup_elem(&ist_sessions, &index);
		if (!session)
			return count(announced ? XDP_COUNT_DROP_SESSION : XDP_COUNT_DROP_UNKNOWN, XDP_DROP);
		if (bpf_be64_to_cpu(counter) < session->floor[lane & (TUNNEL_LANES - 1)])
			return count(XDP_COUNT_DROP_STALE, XDP_DROP);
	}
	return count(announced ? XDP_COUNT_PASS_TUNNEL : XDP_COUNT_PASS_UNANNOUNCED, XDP_PASS);
}

SEC("xdp")
int isthmus_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct xdp_config *config = bpf_map_lookup_elem(&ist_xdp_config, &zero);
	if (!config || config->port == 0)
		return count(XDP_COUNT_PASS_OTHER, XDP_PASS);
	__u16 port = bpf_htons(config->port);

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return count(XDP_COUNT_PASS_OTHER, XDP_PASS);
	struct peer_key key = {};
	struct udphdr *udp;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl < 5)
			return count(XDP_COUNT_PASS_OTHER, XDP_PASS);
		if (ip->frag_off & bpf_htons(0x1FFF)) /* a later fragment: no UDP header here */
			return count(XDP_COUNT_PASS_OTHER, XDP_PASS);
		udp = (void *)ip + ip->ihl * 4;
		if ((void *)(udp + 1) > data_end)
			return count(XDP_COUNT_PASS_OTHER, XDP_PASS);
		key.family = PEER_FAMILY_IPV4;
		__builtin_memcpy(key.addr, &ip->saddr, 4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return count(XDP_COUNT_PASS_OTHER, XDP_PASS);
		udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > data_end)
			return count(XDP_COUNT_PASS_OTHER, XDP_PASS);
		key.family = PEER_FAMILY_IPV6;
		__builtin_memcpy(key.addr, &ip6->saddr, 16);
	} else {
		return count(XDP_COUNT_PASS_OTHER, XDP_PASS);
	}
	if (udp->dest != port)
		return count(XDP_COUNT_PASS_OTHER, XDP_PASS);
	return tunnel_datagram(&key, udp, data_end, config->flags);
}

char LICENSE[] SEC("license") = "GPL";
