#!/usr/bin/env bash
# The tunnel benchmark of issue 6: iperf3 TCP from a pod namespace of one cluster to a pod namespace of another,
# through two gateway namespaces, four ways in one run: plain veth forwarding (no tunnel: the ceiling here),
# Isthmus (tunnel/, AES-256-GCM), wireguard-go (userspace WireGuard, configured with wg) and a socat TLS proxy
# (OpenSSL, TLS 1.3 AES-256-GCM over TCP). Prints Gbps and CPU for each, and the ratios. Prints figures; it never
# fails on a slow figure, only when something does not start or a tool is missing. Needs root.
#
#   loadtest/bench-tunnel.sh [--duration S] [--warmup S] [--rounds N] [--streams N] [--queues N] [--suite aes-256-gcm|chacha20-poly1305]
#                            [--only plain,isthmus,isthmus-plain,wireguard,socat] [--no-build] [--keep]
#                            (also isthmus-no-udp-offload: TUN offloads, but one UDP datagram per packet)
#                            [--jfr FILE]   (a Java Flight Recording of the Isthmus run(s), for profiling)
#   --rounds N runs every way N times, round after round (each round: every way in turn), and reports each way's
#   median and the ratios of medians, plus the ratios within each round: on a shared host, load comes and goes.
#
#   pod-a ── gw-a ══ underlay veth 192.168.77.0/24 ══ gw-b ── pod-b      (iperf3 -c in pod-a, -s in pod-b)
#
# CPU: "tunnel cores" is the CPU time of the tunnel's own processes (the Java pair, both wireguard-go daemons, both
# socat proxies with their per-connection children, sampled every 0.25 s) divided by the run time; "system cores" is every busy CPU of the machine over
# the run (includes the kernel's forwarding and the iperf3 processes, and whatever else runs on this shared host).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

duration=10
warmup=15
rounds=1
streams=2
queues=2
suite=aes-256-gcm
only=plain,isthmus,isthmus-plain,wireguard,socat
keep=false
build=auto
jfr_opts=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --queues) queues="$2"; shift 2 ;;
    --suite) suite="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --jfr) jfr_opts=("-XX:StartFlightRecording=filename=$2,settings=profile,dumponexit=true"); shift 2 ;;
    --no-build) build=missing; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-tunnel: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$duration" "$warmup" "$rounds" "$streams" "$queues"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-tunnel: options take positive whole numbers, got '$n'" >&2; exit 2; }
done

fail() { echo "bench-tunnel: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (network namespaces, TUN devices)"
source "$root/scripts/install-packages.sh"
isthmus_need iperf3 wireguard-go wireguard-tools socat openssl iproute2 jq

# ---- scratch and cleanup: processes, then namespaces (also on failure or Ctrl-C) ---------------------------------
scratch_parent=/tmp
[[ -d /dev/shm && -w /dev/shm ]] && scratch_parent=/dev/shm
work="$(mktemp -d "$scratch_parent/isthmus-bench-tunnel.XXXXXX")"
prefix="ibt$(( RANDOM % 9000 + 1000 ))"
pa="$prefix-pa"; ga="$prefix-ga"; gb="$prefix-gb"; pb="$prefix-pb"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for ns in "$pa" "$ga" "$gb" "$pb"; do ip netns delete "$ns" 2>/dev/null || true; done
  if $keep; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build: the tunnel module's classes and libraries (api, fastpath, tunnel; bouncycastle, protobuf) ------------
source "$here/bench-lib.sh"
bench_module_classpath tunnel compile
classpath="$bench_classpath"

# ---- topology ---------------------------------------------------------------------------------------------------
in_ns() { ip netns exec "$@"; }
for ns in "$pa" "$ga" "$gb" "$pb"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip -n "$pa" link add p0 type veth peer name d0 netns "$ga"
ip -n "$ga" link add u0 type veth peer name u0 netns "$gb"
ip -n "$pb" link add p0 type veth peer name d0 netns "$gb"
# Pod links at the tunnel MTU in every mode, so each way moves the same packets.
ip -n "$pa" link set p0 mtu 1420 up; ip -n "$ga" link set d0 mtu 1420 up
ip -n "$pb" link set p0 mtu 1420 up; ip -n "$gb" link set d0 mtu 1420 up
ip -n "$ga" link set u0 up; ip -n "$gb" link set u0 up
ip -n "$pa" addr add 10.1.0.2/24 dev p0; ip -n "$ga" addr add 10.1.0.1/24 dev d0
ip -n "$pb" addr add 10.2.0.2/24 dev p0; ip -n "$gb" addr add 10.2.0.1/24 dev d0
ip -n "$ga" addr add 192.168.77.1/24 dev u0; ip -n "$gb" addr add 192.168.77.2/24 dev u0
ip -n "$pa" route add default via 10.1.0.1; ip -n "$pb" route add default via 10.2.0.1
in_ns "$ga" sysctl -q -w net.ipv4.ip_forward=1; in_ns "$gb" sysctl -q -w net.ipv4.ip_forward=1

in_ns "$pb" iperf3 -s -B 10.2.0.2 >"$work/iperf3-server.log" 2>&1 &
pids+=($!)
sleep 0.5

# ---- measuring ----------------------------------------------------------------------------------------------------
clk_tck=$(getconf CLK_TCK)
cores=$(nproc)
# tree_ticks PIDS...: "pid ticks" (utime+stime) for each pid and each of its children (socat forks one per
# connection); sampled during a run, each pid's last figure counts, so children that exit are not lost.
tree_ticks() {
  local pid child
  for pid in "$@"; do
    for child in "$pid" $(pgrep -P "$pid" 2>/dev/null); do
      [[ -r /proc/$child/stat ]] || continue
      awk -v p="$child" '{ sub(/^.*\) /, ""); print p, $12 + $13 }' "/proc/$child/stat" 2>/dev/null || true
    done
  done
}
system_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

declare -A gbps tunnel_cores system_cores round_gbps round_tunnel round_system
# run_iperf MODE TARGET PORT PIDS...: a warm-up, then the measured run.
run_iperf() {
  local mode=$1 target=$2 port=$3; shift 3
  timeout $(( warmup + 15 )) ip netns exec "$pa" iperf3 -c "$target" -p "$port" -t "$warmup" -P "$streams" \
    >/dev/null 2>&1 || echo "  (warm-up for $mode failed)" >&2
  local s0 s1 start end sampler
  tree_ticks "$@" >"$work/$mode.ticks0"
  ( while true; do tree_ticks "$@"; sleep 0.25; done ) >"$work/$mode.ticks" 2>/dev/null &
  sampler=$!
  pids+=("$sampler")
  s0=$(system_busy_ticks); start=$(date +%s.%N)
  if ! timeout $(( duration + 20 )) ip netns exec "$pa" iperf3 -c "$target" -p "$port" -t "$duration" \
      -P "$streams" -J >"$work/$mode.json" 2>"$work/$mode.err"; then
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    echo "  $mode: iperf3 failed: $(jq -r '.error // empty' "$work/$mode.json" 2>/dev/null) $(cat "$work/$mode.err")" >&2
    gbps[$mode]=0; tunnel_cores[$mode]=0; system_cores[$mode]=0
    return 0
  fi
  s1=$(system_busy_ticks); end=$(date +%s.%N)
  tree_ticks "$@" >>"$work/$mode.ticks"
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  local used
  used=$(awk 'NR == FNR { base[$1] = $2; next } { last[$1] = $2 } END { for (p in last) t += last[p] - base[p]; print t + 0 }' \
    "$work/$mode.ticks0" "$work/$mode.ticks")
  gbps[$mode]=$(jq -r '.end.sum_received.bits_per_second / 1e9' "$work/$mode.json")
  tunnel_cores[$mode]=$(awk -v t="$used" -v hz="$clk_tck" -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", t / hz / (b - a) }')
  system_cores[$mode]=$(awk -v t=$(( s1 - s0 )) -v hz="$clk_tck" -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", t / hz / (b - a) }')
  printf '  %-22s %6.2f Gbps   tunnel %s cores   system %s of %s cores   (load %s)\n' "$mode" "${gbps[$mode]}" \
    "${tunnel_cores[$mode]}" "${system_cores[$mode]}" "$cores" "$(cut -d' ' -f1 /proc/loadavg)" >&2
}

wants() { [[ ",$only," == *",$1,"* ]]; }
stop_pids() { local pid; for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "tunnel benchmark: $duration s per way after $warmup s warm-up, $rounds round(s), $streams TCP stream(s)," \
  "MTU 1420, $cores cores, load average $load_at_start" >&2

# The TLS proxies' certificate, made once.
if wants socat; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=gw-b \
    -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1
  cat "$work/tls.key" "$work/tls.crt" >"$work/tls.pem"
fi

# Records the figures of the run just made for round `round`.
keep_round() {
  local mode=$1
  round_gbps[$mode]+="${gbps[$mode]} "
  round_tunnel[$mode]+="${tunnel_cores[$mode]} "
  round_system[$mode]+="${system_cores[$mode]} "
}

run_ways() {

# 1. plain veth: the gateways route to each other's pod network over the underlay, unencrypted.
if wants plain; then
  ip -n "$ga" route add 10.2.0.0/16 via 192.168.77.2; ip -n "$gb" route add 10.1.0.0/16 via 192.168.77.1
  run_iperf plain 10.2.0.2 5201
  keep_round plain
  ip -n "$ga" route del 10.2.0.0/16; ip -n "$gb" route del 10.1.0.0/16
fi

# 2. Isthmus: one JVM runs both endpoints, each in its gateway namespace (TUN isth0, UDP 51820), keyed by the real
#    X25519/HKDF exchange performed in-process. "isthmus" uses TUN offloads (TSO read, joined TSO writes);
#    "isthmus-plain" plain TUN queues (one system call per packet each way).
run_isthmus() {
  local mode=$1 offload=$2 udp_offload=${3:-udp-offload}
  rm -f "$work/$mode.in"
  mkfifo "$work/$mode.in"
  java -Xmx256m -XX:+UseParallelGC --enable-native-access=ALL-UNNAMED "${jfr_opts[@]}" -cp "$classpath" \
    io.isthmus.tunnel.NamespacePair "$ga" 192.168.77.1 10.1.0.0/16 "$gb" 192.168.77.2 10.2.0.0/16 \
    "$queues" "$suite" "$offload" "$udp_offload" <"$work/$mode.in" >"$work/$mode.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  exec 7>"$work/$mode.in"  # holding the write end open keeps the pair running
  for _ in $(seq 1 100); do grep -q '^ready' "$work/$mode.log" && break; kill -0 "$pid" || break; sleep 0.2; done
  grep -q '^ready' "$work/$mode.log" || { cat "$work/$mode.log" >&2; fail "the Isthmus pair did not start"; }
  run_iperf "$mode" 10.2.0.2 5201 "$pid"
  keep_round "$mode"
  exec 7>&-
  wait "$pid" 2>/dev/null || true
  grep '^stats' "$work/$mode.log" | sed 's/^/    /' | cut -c1-300 >&2 || true
}
wants isthmus && run_isthmus isthmus offload
wants isthmus-no-udp-offload && run_isthmus isthmus-no-udp-offload offload no-udp-offload
wants isthmus-plain && run_isthmus isthmus-plain no-offload

# 3. wireguard-go: Debian's userspace WireGuard (the kernel here has no WireGuard module), keys from wg genkey.
if wants wireguard; then
  key_a=$(wg genkey); key_b=$(wg genkey)
  pub_a=$(wg pubkey <<<"$key_a"); pub_b=$(wg pubkey <<<"$key_b")
  wg_pids=()
  for side in a b; do
    ns=$ga; dev=wga; [[ $side == b ]] && { ns=$gb; dev=wgb; }
    ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$dev" >"$work/wireguard-$side.log" 2>&1 &
    wg_pids+=($!); pids+=($!)
  done
  for _ in $(seq 1 50); do ip -n "$ga" link show wga >/dev/null 2>&1 && ip -n "$gb" link show wgb >/dev/null 2>&1 && break; sleep 0.1; done
  printf '%s' "$key_a" >"$work/wg-a.key"; printf '%s' "$key_b" >"$work/wg-b.key"
  in_ns "$ga" wg set wga private-key "$work/wg-a.key" listen-port 51821 \
    peer "$pub_b" allowed-ips 10.2.0.0/16 endpoint 192.168.77.2:51821
  in_ns "$gb" wg set wgb private-key "$work/wg-b.key" listen-port 51821 \
    peer "$pub_a" allowed-ips 10.1.0.0/16 endpoint 192.168.77.1:51821
  ip -n "$ga" link set wga mtu 1420 up; ip -n "$gb" link set wgb mtu 1420 up
  ip -n "$ga" route add 10.2.0.0/16 dev wga; ip -n "$gb" route add 10.1.0.0/16 dev wgb
  run_iperf wireguard 10.2.0.2 5201 "${wg_pids[@]}"
  keep_round wireguard
  stop_pids "${wg_pids[@]}"
  for _ in $(seq 1 50); do ip -n "$ga" link show wga >/dev/null 2>&1 || ip -n "$gb" link show wgb >/dev/null 2>&1 || break; sleep 0.1; done
fi

# 4. socat TLS proxy: pod-a connects to gw-a:15201 in the clear; gw-a's socat carries it over TLS (OpenSSL,
#    AES-256-GCM) to gw-b's socat, which connects to the iperf3 server. TCP proxied end to end, not packets.
if wants socat; then
  ip netns exec "$gb" socat OPENSSL-LISTEN:15443,bind=192.168.77.2,reuseaddr,fork,cert="$work/tls.pem",verify=0,cipher=AES256-GCM-SHA384 \
    TCP:10.2.0.2:5201 >"$work/socat-b.log" 2>&1 &
  socat_b=$!; pids+=("$socat_b")
  ip netns exec "$ga" socat TCP-LISTEN:15201,bind=10.1.0.1,reuseaddr,fork \
    OPENSSL:192.168.77.2:15443,verify=0,cipher=AES256-GCM-SHA384 >"$work/socat-a.log" 2>&1 &
  socat_a=$!; pids+=("$socat_a")
  sleep 0.5
  run_iperf socat 10.1.0.1 15201 "$socat_a" "$socat_b"
  keep_round socat
  # Asked while gw-b's proxy still listens (it used to be asked after it stopped, and said nothing).
  cipher_used=$(in_ns "$ga" timeout 5 openssl s_client -connect 192.168.77.2:15443 </dev/null 2>/dev/null | awk '/Cipher is/ { print $NF; exit }' || true)
  stop_pids "$socat_a" "$socat_b"
  [[ -n "$cipher_used" ]] && echo "  socat TLS cipher: $cipher_used" >&2 || true
fi
}

for round in $(seq 1 "$rounds"); do
  (( rounds > 1 )) && echo "round $round of $rounds" >&2
  run_ways
done

# ---- summary ------------------------------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for mode in "${!round_gbps[@]}"; do
  gbps[$mode]=$(median <<<"${round_gbps[$mode]}")
  tunnel_cores[$mode]=$(median <<<"${round_tunnel[$mode]}")
  system_cores[$mode]=$(median <<<"${round_system[$mode]}")
done
echo
(( rounds > 1 )) && echo "medians of $rounds rounds (Gbps of each round in the last column)"
printf '%-22s %8s %13s %13s %17s %17s\n' way Gbps "tunnel cores" "system cores" "tunnel CPU-s/Gbit" "system CPU-s/Gbit"
for mode in plain isthmus isthmus-no-udp-offload isthmus-plain wireguard socat; do
  [[ -n "${gbps[$mode]:-}" ]] || continue
  per=$(awk -v c="${system_cores[$mode]}" -v g="${gbps[$mode]}" 'BEGIN { if (g > 0) printf "%.2f", c / g; else print "-" }')
  own=$(awk -v c="${tunnel_cores[$mode]}" -v g="${gbps[$mode]}" 'BEGIN { if (g > 0) printf "%.2f", c / g; else print "-" }')
  rounds_column=""
  (( rounds > 1 )) && rounds_column=$(awk '{ for (i = 1; i <= NF; i++) printf "%s%.2f", (i > 1 ? " " : "  "), $i }' <<<"${round_gbps[$mode]}")
  printf '%-22s %8.2f %13s %13s %17s %17s%s\n' "$mode" "${gbps[$mode]}" "${tunnel_cores[$mode]}" "${system_cores[$mode]}" "$own" "$per" "$rounds_column"
done
ratio() { awk -v a="${gbps[$1]:-0}" -v b="${gbps[$2]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
# per_round A B: the ratio A/B within each round (measured minutes apart at most, under the same load).
per_round() {
  paste -d' ' <(tr ' ' '\n' <<<"${round_gbps[$1]:-}" | grep -v '^$') <(tr ' ' '\n' <<<"${round_gbps[$2]:-}" | grep -v '^$') \
    | awk '{ printf "%s%.2fx", (NR > 1 ? " " : ""), ($2 > 0 ? $1 / $2 : 0) }'
}
if [[ -n "${gbps[isthmus]:-}" ]]; then
  echo
  if [[ -n "${gbps[wireguard]:-}" ]]; then
    echo "isthmus / wireguard-go: $(ratio isthmus wireguard)$( (( rounds > 1 )) && echo "   (each round: $(per_round isthmus wireguard))")"
  fi
  if [[ -n "${gbps[socat]:-}" ]]; then
    echo "isthmus / socat-TLS:    $(ratio isthmus socat)$( (( rounds > 1 )) && echo "   (each round: $(per_round isthmus socat))")"
  fi
  [[ -n "${gbps[plain]:-}" ]] && echo "isthmus / plain veth:   $(ratio isthmus plain)"
fi
echo "load average (1, 5, 15 min): $load_at_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "(system cores include the kernel's forwarding, iperf3 itself and other load on this shared host;"
echo " tunnel CPU-s/Gbit = the tunnel processes' cores / Gbps, the steadier figure when the host is busy)"
