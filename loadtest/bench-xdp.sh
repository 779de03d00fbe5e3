#!/usr/bin/env bash
# Drop rate of the XDP pre-filter (fastpath XdpFilter) in generic and native mode against an nftables input-hook
# drop, in one run on one veth pair: trafgen (netsniff-ng) blasts 64-byte UDP frames to the tunnel port from a
# source no filter knows, and each way counts what it dropped over the run. Prints packets per second dropped, the
# frames the sender put on the wire per second (when dropped equals sent, the sender is the limit, not the filter),
# and the ratios to nftables. Never fails on a slow figure, only when something
# does not start or a tool is missing. Needs root.
#
#   loadtest/bench-xdp.sh [--duration S] [--rounds N] [--only xdp-generic,xdp-native,nftables] [--no-build]
#
#   ns bx-snd (trafgen on bx-s, 10.78.0.1)  ══ veth ══  ns bx-rcv (bx-r, 10.78.0.2: XDP on bx-r, or nftables)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

duration=10
rounds=1
only=xdp-generic,xdp-native,nftables
build=true
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --no-build) build=false; shift ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-xdp: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$duration" "$rounds"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-xdp: options take positive whole numbers, got '$n'" >&2; exit 2; }
done
fail() { echo "bench-xdp: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (network namespaces, XDP)"
source "$root/scripts/install-packages.sh"
isthmus_need netsniff-ng nftables iproute2 clang libbpf-dev

port=51820
snd="bx-snd-$$"
rcv="bx-rcv-$$"
pins="/sys/fs/bpf/isthmus-bench-$$"
work="$(mktemp -d)"
cleanup() {
  [[ -n "${hold_pid:-}" ]] && kill "$hold_pid" 2>/dev/null || true
  ip netns del "$snd" 2>/dev/null || true
  ip netns del "$rcv" 2>/dev/null || true
  rm -rf "$work" "$pins"
}
trap cleanup EXIT

if $build; then
  (cd "$root" && ./mvnw -B -ntp -q -pl fastpath -am test-compile) || fail "the fastpath build failed"
fi
classpath="$root/fastpath/target/classes:$root/fastpath/target/test-classes"
[[ -f "$root/fastpath/target/test-classes/io/isthmus/fastpath/XdpHold.class" ]] || fail "fastpath is not built (drop --no-build)"

ip netns add "$snd"
ip netns add "$rcv"
ip -n "$snd" link add bx-s type veth peer name bx-r netns "$rcv"
ip -n "$snd" addr add 10.78.0.1/24 dev bx-s
ip -n "$rcv" addr add 10.78.0.2/24 dev bx-r
ip -n "$snd" link set bx-s up
ip -n "$rcv" link set bx-r up
mac="$(ip netns exec "$rcv" cat /sys/class/net/bx-r/address)"
# 14 + 20 + 8 + 22 = 64 bytes on the wire (without FCS); an unknown source, a tunnel-sized-enough payload.
cat > "$work/udp.trafgen" <<CONF
{ eth(da=$mac), ipv4(saddr=10.78.0.1, daddr=10.78.0.2, ttl=64), udp(sport=40000, dport=$port), fill(0x01, 22) }
CONF
sleep 1

tx_packets() { ip netns exec "$snd" cat /sys/class/net/bx-s/statistics/tx_packets; }

# blast: runs trafgen for the duration; sets sent (frames the sender's device counted).
blast() {
  local before after
  before="$(tx_packets)"
  timeout -s INT "$duration" ip netns exec "$snd" trafgen --dev bx-s --conf "$work/udp.trafgen" --cpus 1 --qdisc-path \
      >"$work/trafgen.log" 2>&1 || true
  after="$(tx_packets)"
  sent=$((after - before))
}

xdp_run() { # MODE -> dropped
  local mode="$1" line before after
  coproc HOLD { exec java --enable-native-access=ALL-UNNAMED -cp "$classpath" io.isthmus.fastpath.XdpHold \
      "$rcv" bx-r "$mode" "$port" "$pins" 2>"$work/hold.log"; }
  hold_pid=$HOLD_PID
  read -r line <&"${HOLD[0]}" || fail "XdpHold ended before attaching: $(cat "$work/hold.log")"
  [[ "$line" == attached* ]] || fail "XdpHold: $line"
  attached="${line#attached }"
  echo >&"${HOLD[1]}"; read -r line <&"${HOLD[0]}"
  before="$(sed -n 's/.*DROPPED_UNKNOWN_SOURCE=\([0-9]*\).*/\1/p' <<<"$line")"
  blast
  echo >&"${HOLD[1]}"; read -r line <&"${HOLD[0]}"
  after="$(sed -n 's/.*DROPPED_UNKNOWN_SOURCE=\([0-9]*\).*/\1/p' <<<"$line")"
  exec {HOLD[1]}>&-
  wait "$hold_pid" || true
  hold_pid=""
  dropped=$((after - before))
}

nft_run() {
  ip netns exec "$rcv" nft -f - <<NFT
table inet bench {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport $port counter drop
  }
}
NFT
  blast
  dropped="$(ip netns exec "$rcv" nft -j list table inet bench | sed -n 's/.*"packets": *\([0-9]*\).*/\1/p' | head -1)"
  ip netns exec "$rcv" nft delete table inet bench
  attached="input hook, counter drop"
}

declare -A total
echo "bench-xdp: $(nproc) cores, $(uname -r), ${duration}s per way, $rounds round(s), 64-byte UDP frames by trafgen"
for round in $(seq "$rounds"); do
  for way in ${only//,/ }; do
    case "$way" in
      xdp-generic) xdp_run GENERIC ;;
      xdp-native) xdp_run NATIVE ;;
      nftables) nft_run ;;
      *) fail "unknown way $way (xdp-generic, xdp-native, nftables)" ;;
    esac
    pps=$((dropped / duration))
    total[$way]=$(( ${total[$way]:-0} + pps ))
    printf '  round %d  %-12s %10d dropped/s  %10d sent/s  (%s)\n' "$round" "$way" "$pps" $((sent / duration)) \
        "$attached"
  done
done
echo "mean over rounds:"
for way in ${only//,/ }; do
  printf '  %-12s %10d dropped/s' "$way" $(( ${total[$way]} / rounds ))
  if [[ -n "${total[nftables]:-}" && "${total[nftables]}" -gt 0 && "$way" != nftables ]]; then
    awk -v a="${total[$way]}" -v b="${total[nftables]}" 'BEGIN { printf "   %.2fx nftables", a / b }'
  fi
  echo
done
