#!/usr/bin/env bash
# The policy benchmark of issue 15, one command, four parts:
#   1. decisions per second on one thread of the compiled decision table, at 1, 100 and 10,000 rules (in-process:
#      the gateway jar's policy classes, the same rule set as part 2);
#   2. tunnel throughput (iperf3 TCP, pod to pod through two real gateways' tunnels in network namespaces) with no
#      policy and with the rule set applied through the admin API (POST /api/v1/policies), checked to be held and
#      enforced in both gateways' tunnels before each measurement;
#   3. the anchor: the same rules as nftables (sets, and one rule each) in the receiving gateway's namespace, the
#      tunnel without Isthmus policies;
#   4. policy propagation: N policy changes at one gateway (edge), the time until the others hold and enforce them.
# Arms of parts 2-3 alternate within every round (the order rotates, and reverses every other round), so load that comes and goes on a shared host
# touches them alike. Prints figures; never fails on a slow one, only when something does not start. Needs root.
#
#   loadtest/bench-policy.sh [--rounds N] [--duration S] [--warmup S] [--streams N] [--rules N] [--port-share P]
#                            [--decisions 1,100,10000] [--changes N] [--only ARMS] [--no-build] [--keep]
#   ARMS: isthmus-0,isthmus-rules,isthmus-cidr,nft-sets,nft-rules (default: all); "none" skips parts 2-3.
#   --port-share P: percent of the rules that select the flow's pods and deny other ports (default 50); the rest
#   deny the flow's port to other addresses. isthmus-cidr applies the same count with P = 0.
#
#   pod-a ── gw-a (east) ══ underlay 192.168.77.0/24 ══ gw-b (west) ── pod-b     edge: a third gateway, no tunnel
#   10.1.0.2                                                         10.2.0.2    (iperf3 -c in pod-a, -s in pod-b)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

rounds=3
duration=10
warmup=5
streams=2
rule_count=10000
port_share=50
decision_counts="1,100,10000"
changes=100
only=isthmus-0,isthmus-rules,isthmus-cidr,nft-sets,nft-rules
keep=false
build=auto

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --rules) rule_count="$2"; shift 2 ;;
    --port-share) port_share="$2"; shift 2 ;;
    --decisions) decision_counts="$2"; shift 2 ;;
    --changes) changes="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --no-build) build=missing; shift ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-policy: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$rounds" "$duration" "$warmup" "$streams" "$rule_count" "$changes"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-policy: options take positive whole numbers, got '$n'" >&2; exit 2; }
done
(( rounds <= 10 && duration <= 120 && changes <= 1000 && rule_count <= 50000 )) \
  || { echo "bench-policy: at most 10 rounds, 120 s per run, 1,000 changes, 50,000 rules" >&2; exit 2; }
[[ "$port_share" =~ ^[0-9]+$ ]] && (( port_share <= 100 )) || { echo "bench-policy: --port-share is 0..100" >&2; exit 2; }
[[ "$decision_counts" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "bench-policy: --decisions takes N,N,..." >&2; exit 2; }

fail() { echo "bench-policy: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (network namespaces, TUN devices, nftables)"
source "$root/scripts/install-packages.sh"
command -v nft >/dev/null || isthmus_need nftables
isthmus_need iperf3 iproute2 iputils-ping jq curl util-linux
command -v nft >/dev/null || fail "nft is missing after installing nftables"
source "$here/bench-lib.sh"

# ---- build, scratch, cleanup (processes, then namespaces; also on failure or Ctrl-C) -------------------------------
bench_build policy
bench_scratch policy 100
prefix="ibp$(( RANDOM % 9000 + 1000 ))"
pa="$prefix-pa"; ga="$prefix-ga"; gb="$prefix-gb"; pb="$prefix-pb"
namespaces=()
remove_namespaces() {
  local pid ns
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for ns in "${namespaces[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done
}
# set +e first: "(exit $rc)" hands bench_cleanup the status, and under errexit a non-zero one would end the trap there.
trap 'rc=$?; set +e; remove_namespaces; (exit $rc); bench_cleanup' EXIT

java_bin="$JAVA_HOME/bin/java"
jvm_flags=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow)
driver() { "$java_bin" "${jvm_flags[@]}" -cp "$gateway_jar:$bench_jar" io.isthmus.loadtest.policy.PolicyBench "$@"; }
cli() { "$java_bin" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$gateway_jar" "$@"; }

cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
commit="$(git -C "$root" log -1 --format='%h' 2>/dev/null || echo unknown)"
dirty=""; [[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]] && dirty=" + uncommitted changes"
jar_note=""; $stale_jars && jar_note=" (some sources are newer: the jar is measured as it was built)"
echo "Isthmus policy benchmark — $(date -u '+%F %T UTC')"
echo "  work tree at commit $commit$dirty; gateway jar built $(date -u -r "$gateway_jar" '+%F %T UTC')$jar_note"
echo "  machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  $("$java_bin" -version 2>&1 | head -1); $(nft --version); $(iperf3 --version | head -1 | cut -d' ' -f1-2)"
echo

# ---- 1. decisions per second ------------------------------------------------------------------------------------
echo "1. DECISIONS — DecisionTable.decide on one thread, the iperf3 flow's packets (half data to TCP 5201, half answers)"
driver decisions --rules "$decision_counts" --seconds 3 --rounds 3 --port-share "$port_share" \
  || fail "the decision benchmark failed"
if (( port_share > 0 )); then
  echo "   the same with CIDR rules only (--port-share 0: no rule but the Allow selects the pods):"
  driver decisions --rules "$decision_counts" --seconds 3 --rounds 3 --port-share 0 | sed 's/^/   /' \
    || fail "the decision benchmark failed"
fi
echo

wants() { [[ ",$only," == *",$1,"* ]]; }
[[ "$only" == none ]] && only=""

# ---- rule sets ---------------------------------------------------------------------------------------------------
driver rules --rules "$rule_count" --port-share "$port_share" --json "$work/rules.json" \
  --nft-sets "$work/sets.nft" --nft-rules "$work/rules.nft" --allow-labels "$work/allow.labels" >"$work/rules.txt" \
  || fail "writing the rule set failed"
driver rules --rules "$rule_count" --port-share 0 --json "$work/cidr.json" --allow-labels "$work/cidr-allow.labels" \
  >"$work/cidr.txt" || fail "writing the CIDR rule set failed"

# ---- topology: four namespaces (bench-tunnel.sh's), three gateways -------------------------------------------------
in_ns() { ip netns exec "$@"; }
for ns in "$pa" "$ga" "$gb" "$pb"; do ip netns add "$ns"; namespaces+=("$ns"); ip -n "$ns" link set lo up; done
ip -n "$pa" link add p0 type veth peer name d0 netns "$ga"
ip -n "$ga" link add u0 type veth peer name u0 netns "$gb"
ip -n "$pb" link add p0 type veth peer name d0 netns "$gb"
ip -n "$pa" link set p0 mtu 1420 up; ip -n "$ga" link set d0 mtu 1420 up
ip -n "$pb" link set p0 mtu 1420 up; ip -n "$gb" link set d0 mtu 1420 up
ip -n "$ga" link set u0 up; ip -n "$gb" link set u0 up
ip -n "$pa" addr add 10.1.0.2/24 dev p0; ip -n "$ga" addr add 10.1.0.1/24 dev d0
ip -n "$pb" addr add 10.2.0.2/24 dev p0; ip -n "$gb" addr add 10.2.0.1/24 dev d0
ip -n "$ga" addr add 192.168.77.1/24 dev u0; ip -n "$gb" addr add 192.168.77.2/24 dev u0
ip -n "$pa" route add default via 10.1.0.1; ip -n "$pb" route add default via 10.2.0.1
in_ns "$ga" sysctl -q -w net.ipv4.ip_forward=1; in_ns "$gb" sysctl -q -w net.ipv4.ip_forward=1

names=(east west edge)
declare -A admin_port peering_port dns_port replicas_port pid_of tunnel_ns underlay
tunnel_ns=([east]="$ga" [west]="$gb"); underlay=([east]=192.168.77.1 [west]=192.168.77.2)
base=$(pick_ports 12)
for i in "${!names[@]}"; do
  n=${names[$i]}
  admin_port[$n]=$(( base + 4 * i )); peering_port[$n]=$(( base + 4 * i + 1 ))
  dns_port[$n]=$(( base + 4 * i + 2 )); replicas_port[$n]=$(( base + 4 * i + 3 ))
done
admin() { echo "http://127.0.0.1:${admin_port[$1]}"; }
cli mesh init --ca "$work/ca" >/dev/null || fail "isthmus mesh init failed"
for n in "${names[@]}"; do
  cli mesh issue --ca "$work/ca" --cluster "$n" --out "$work/$n/data/tls" >/dev/null || fail "isthmus mesh issue $n failed"
  peers=""
  for p in "${names[@]}"; do [[ $p == "$n" ]] || peers+="${peers:+, }\"127.0.0.1:${peering_port[$p]}\""; done
  tunnel="tunnel.enabled = off"
  if [[ -n "${tunnel_ns[$n]:-}" ]]; then
    tunnel="tunnel { enabled = on, listen = \"${underlay[$n]}:51820\", namespace = \"${tunnel_ns[$n]}\", queues = 2 }"
  fi
  cat >"$work/$n/gateway.conf" <<EOF
isthmus {
  cluster-id = "$n"
  data-dir = "$work/$n/data"
  admin.port = ${admin_port[$n]}
  admin.auth.enabled = off  # a benchmark on loopback; auth costs are not what it measures
  dns.port = ${dns_port[$n]}
  replicas.port = ${replicas_port[$n]}
  peering { port = ${peering_port[$n]}, peers = [$peers], reconnect-max-backoff = 1s }
  plan {
    members = [east, west, edge]
    supernets.pod = [{cidr = "10.0.0.0/14", segment-prefix = 24}]
    retransmit-interval = 300ms
    gossip-interval = 1s
  }
  policy { cross-cluster-default = allow, max-policies = 1000 }
  $tunnel
}
EOF
done
for n in "${names[@]}"; do
  setsid "$java_bin" "${jvm_flags[@]}" -jar "$gateway_jar" gateway --config "$work/$n/gateway.conf" \
    >"$work/$n/gateway.log" 2>&1 &
  pid_of[$n]=$!; pids+=("${pid_of[$n]}")
done
alive() { kill -0 "${pid_of[$1]}" 2>/dev/null || { tail -20 "$work/$1/gateway.log" >&2; fail "gateway $1 exited (log above)"; }; }
for n in "${names[@]}"; do
  for _ in $(seq 1 600); do
    alive "$n"
    curl -sf -o /dev/null --max-time 2 "$(admin "$n")/readyz" && break
    sleep 0.2
  done
  curl -sf -o /dev/null --max-time 2 "$(admin "$n")/readyz" || { tail -20 "$work/$n/gateway.log" >&2; fail "gateway $n not ready in 120 s"; }
done
links_up() { # name: up links to both others
  curl -sf --max-time 5 "$(admin "$1")/api/v1/status" | jq -e '[.peers[]? | select((.state | ascii_downcase) == "up")] | length >= 2' >/dev/null 2>&1
}
for _ in $(seq 1 120); do links_up east && links_up west && links_up edge && break; sleep 0.5; done
for n in "${names[@]}"; do links_up "$n" || fail "gateway $n has no up link to both others: $(curl -s "$(admin "$n")/api/v1/status" | jq -c '.peers')"; done
claim() { # name cidr: the pod segment of the cluster (returns once a majority agreed)
  curl -sf --max-time 60 -H 'Content-Type: application/json' -d "{\"kind\": \"pod\", \"cidr\": \"$2\"}" \
    "$(admin "$1")/api/v1/ipam/segments" >/dev/null || fail "claiming $2 for $1 failed: $(curl -s -H 'Content-Type: application/json' -d "{\"kind\": \"pod\", \"cidr\": \"$2\"}" "$(admin "$1")/api/v1/ipam/segments")"
}
claim east 10.1.0.0/24
claim west 10.2.0.0/24
in_ns "$pb" iperf3 -s -B 10.2.0.2 >"$work/iperf3-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do in_ns "$pa" ping -c 1 -W 1 10.2.0.2 >/dev/null 2>&1 && break; sleep 0.5; done
in_ns "$pa" ping -c 1 -W 1 10.2.0.2 >/dev/null 2>&1 \
  || fail "pod-a cannot reach pod-b through the tunnel: routes in $ga: $(ip -n "$ga" route | paste -sd';'); in $gb: $(ip -n "$gb" route | paste -sd';'); east $(curl -s "$(admin east)/api/v1/status" | jq -c '.tunnel'); west $(curl -s "$(admin west)/api/v1/status" | jq -c '.tunnel')"
echo "  three gateways (east, west: tunnels in $ga and $gb, TUN offloads, 2 queues; edge: no tunnel), full mesh,"
echo "  cross-cluster default allow; pod segments 10.1.0.0/24 (east) and 10.2.0.0/24 (west) claimed; work dir $work"
echo

# ---- measuring --------------------------------------------------------------------------------------------------
clk_tck=$(getconf CLK_TCK)
cores=$(nproc)
pid_ticks() { awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }' "$@" 2>/dev/null; }
system_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
declare -A round_gbps round_gw
all_admins="east=$(admin east),west=$(admin west),edge=$(admin edge)"

book_of() { # arm: puts the arm's book in force at every gateway and waits until both tunnels enforce it
  local version
  case "$1" in
    isthmus-rules) version=$(driver apply --admin "$(admin east)/" --file "$work/rules.json") ;;
    isthmus-cidr) version=$(driver apply --admin "$(admin east)/" --file "$work/cidr.json") ;;
    *) version=$(driver clear --admin "$(admin east)/" --prefix bench-) ;;
  esac
  [[ -n "$version" ]] || fail "applying the book of $1 failed"
  driver enforced --admins "$all_admins" --version "$version" --tunnels east,west --timeout-ms 120000 \
    || fail "the gateways do not enforce the book of $1"
}
allow_hits() { # labels-file: packets the gateways counted on the Allow rules (east, west)
  local n out=""
  for n in east west; do
    out+="$n $(curl -s --max-time 30 "$(admin "$n")/metrics" | grep '^isthmus_policy_rule_packets_total' \
      | grep -F -f "$1" | awk '{ s += $NF } END { printf "%d", s }') "
  done
  echo "$out"
}
run_arm() {
  local arm=$1 s0 s1 g0 g1 start end
  echo "  $arm:"
  in_ns "$gb" nft delete table inet isthmus_bench 2>/dev/null || true
  book_of "$arm"
  case "$arm" in
    nft-sets) in_ns "$gb" nft -f "$work/sets.nft" || fail "nft refused the set ruleset" ;;
    nft-rules) in_ns "$gb" nft -f "$work/rules.nft" || fail "nft refused the per-rule ruleset" ;;
  esac
  if [[ $arm == nft-sets ]]; then
    echo "    nft in $gb: $(in_ns "$gb" nft list table inet isthmus_bench | grep -c -E 'drop|accept') rules in the chain; set elements (after auto-merge): $(in_ns "$gb" nft list set inet isthmus_bench denied_cidrs 2>/dev/null | grep -o -E '[0-9]+(\.[0-9]+){3}/28' | wc -l) CIDRs, $(in_ns "$gb" nft list set inet isthmus_bench denied_ports 2>/dev/null | grep -o -E '[0-9]+-[0-9]+' | wc -l) port ranges"
  elif [[ $arm == nft-rules ]]; then
    echo "    nft in $gb: $(in_ns "$gb" nft list table inet isthmus_bench | grep -c -E 'drop|accept') rules in the chain"
  fi
  timeout $(( warmup + 15 )) ip netns exec "$pa" iperf3 -c 10.2.0.2 -t "$warmup" -P "$streams" >/dev/null 2>&1 \
    || echo "    (warm-up failed)" >&2
  local hits_before=""
  [[ $arm == isthmus-rules ]] && hits_before=$(allow_hits "$work/allow.labels")
  [[ $arm == isthmus-cidr ]] && hits_before=$(allow_hits "$work/cidr-allow.labels")
  s0=$(system_busy_ticks); g0=$(pid_ticks "/proc/${pid_of[east]}/stat" "/proc/${pid_of[west]}/stat"); start=$(date +%s.%N)
  local gbps=0
  if timeout $(( duration + 20 )) ip netns exec "$pa" iperf3 -c 10.2.0.2 -t "$duration" -P "$streams" -J \
      >"$work/$arm.json" 2>"$work/$arm.err"; then
    gbps=$(jq -r '.end.sum_received.bits_per_second / 1e9' "$work/$arm.json")
  else
    echo "    iperf3 failed: $(jq -r '.error // empty' "$work/$arm.json" 2>/dev/null) $(cat "$work/$arm.err")" >&2
  fi
  s1=$(system_busy_ticks); g1=$(pid_ticks "/proc/${pid_of[east]}/stat" "/proc/${pid_of[west]}/stat"); end=$(date +%s.%N)
  local gw sys
  gw=$(awk -v t=$(( g1 - g0 )) -v hz="$clk_tck" -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", t / hz / (b - a) }')
  sys=$(awk -v t=$(( s1 - s0 )) -v hz="$clk_tck" -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", t / hz / (b - a) }')
  round_gbps[$arm]+="$gbps "
  round_gw[$arm]+="$gw "
  printf '    %6.2f Gbps   gateway JVMs %s cores   system %s of %s cores   (load %s)\n' "$gbps" "$gw" "$sys" "$cores" \
    "$(cut -d' ' -f1 /proc/loadavg)"
  if [[ -n "$hits_before" ]]; then
    echo "    packets on the Allow rules (east, west): before $hits_before; after $(allow_hits "$work/$([[ $arm == isthmus-cidr ]] && echo cidr-)allow.labels")"
  fi
  if [[ $arm == nft-* ]]; then
    echo "    nft accept counter: $(in_ns "$gb" nft list table inet isthmus_bench | grep -o 'counter packets [0-9]* bytes [0-9]*' | head -1)"
    in_ns "$gb" nft delete table inet isthmus_bench
  fi
  local drops
  drops=$(curl -s --max-time 10 "$(admin west)/api/v1/status" | jq -c '[.tunnel.peers[]? | .drops | to_entries[] | select(.value > 0)] | from_entries' 2>/dev/null || echo '?')
  [[ "$drops" == "{}" ]] || echo "    west's tunnel drops so far: $drops"
}

arms=()
for arm in isthmus-0 isthmus-rules isthmus-cidr nft-sets nft-rules; do wants "$arm" && arms+=("$arm"); done
if (( ${#arms[@]} > 0 )); then
  echo "2-3. TUNNEL — iperf3 pod-a -> pod-b, $streams TCP streams, $warmup s warm-up + $duration s per arm, $rounds rounds, the arms' order rotating (and reversed every other round)"
  sed 's/^/  rule set: /' "$work/rules.txt"
  echo "  arms: ${arms[*]}"
  echo "    isthmus-0: no policy in force (the book emptied, both tunnels enforcing it)"
  echo "    isthmus-rules: the rule set above, POST /api/v1/policies at east, held and enforced at both tunnels"
  echo "    isthmus-cidr: the same number of rules, CIDR rules only (none but the Allow selects the pods)"
  echo "    nft-sets / nft-rules: no policy; the rule set as nftables sets / one rule each, forward hook of $gb (west)"
  for round in $(seq 1 "$rounds"); do
    echo " round $round of $rounds"
    k=${#arms[@]}
    # Rotated by one each round, and reversed every other round, so that no arm always follows the same one.
    for (( j = 0; j < k; j++ )); do
      if (( round % 2 )); then run_arm "${arms[$(( (j + round - 1) % k ))]}"
      else run_arm "${arms[$(( (k - 1 - j + round - 1) % k ))]}"; fi
    done
  done
  median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  spread() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'; }
  per_round() { # A B: A/B in each round
    paste -d' ' <(tr ' ' '\n' <<<"${round_gbps[$1]}" | grep -v '^$') <(tr ' ' '\n' <<<"${round_gbps[$2]}" | grep -v '^$') \
      | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), ($2 > 0 ? $1 / $2 : 0) }'
  }
  echo
  printf '  %-15s %10s %14s %14s %16s   %s\n' arm "Gbps (med)" "range" "gateway cores" "gw CPU-s/Gbit" "each round"
  declare -A med
  for arm in "${arms[@]}"; do
    med[$arm]=$(median <<<"${round_gbps[$arm]}")
    gw_cores=$(median <<<"${round_gw[$arm]}")
    printf '  %-15s %10.2f %14s %14.2f %16s   %s\n' "$arm" "${med[$arm]}" "$(spread <<<"${round_gbps[$arm]}")" \
      "$gw_cores" "$(awk -v c="$gw_cores" -v g="${med[$arm]}" 'BEGIN { if (g > 0.05) printf "%.2f", c / g; else print "-" }')" "$(awk '{ for (i = 1; i <= NF; i++) printf "%s%.2f", (i > 1 ? " " : ""), $i }' <<<"${round_gbps[$arm]}")"
  done
  if [[ -n "${med[isthmus-0]:-}" ]]; then
    echo
    for arm in "${arms[@]}"; do
      [[ $arm == isthmus-0 ]] && continue
      ratio=$(awk -v a="${med[$arm]}" -v b="${med[isthmus-0]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
      printf '  %-15s / isthmus-0: %s of the throughput (medians; each round: %s)\n' "$arm" "$ratio" "$(per_round "$arm" isthmus-0)"
    done
    [[ -n "${med[isthmus-rules]:-}" ]] && echo "  goal: isthmus-rules at least 0.90 of isthmus-0 (at most 10% loss at $rule_count rules)"
  fi
  echo
fi

# ---- 4. propagation -----------------------------------------------------------------------------------------------
echo "4. PROPAGATION — $changes policy changes at edge; east and west polled (GET /api/v1/status) for the version held and enforced"
book_of isthmus-0 >/dev/null
driver propagation --origin "edge=$(admin edge)/" --receivers "east=$(admin east)/,west=$(admin west)/" \
  --tunnels east,west --changes "$changes" --poll-ms 2 || fail "the propagation run failed"
echo
echo "load average (1, 5, 15 min) at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%T UTC')"
