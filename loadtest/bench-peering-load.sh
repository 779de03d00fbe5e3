#!/usr/bin/env bash
# Peering load in Gatling's manner (Gatling's gRPC plugin is not served here): scenarios of simulated peer clusters,
# each its own certificate from the clusterset CA and its own mTLS gRPC stream, push export deltas to ONE gateway
# following an injection profile (open: changes per second, ramps; closed: K changes in flight per peer); the
# propagation of each (delta sent -> the gateway's DNS answers the new address) goes into an HdrHistogram per
# scenario. Assertions (p99, failed %) decide the exit status; index.html + stats.json go to the report folder.
# The driver is io.isthmus.loadtest.peering.PeeringLoad. Bounded in time and in count.
#
#   loadtest/bench-peering-load.sh [--seconds S] [--peers N,N,...] [--rate R] [--ramp S] [--in-flight K]
#                                  [--services S] [--scenarios SPEC] [--assert LIST] [--timeout-ms MS]
#                                  [--target URL --ca DIR] [--report DIR] [--no-build] [--keep]
#
#   default scenarios, for each N of --peers (default 10): open-N (ramp(1,R,ramp) + constant(R,S); R default 50/s,
#   ramp 5 s) and closed-N (closed(K,S), K default 2); --scenarios NAME:PEERS:PROFILE;... replaces them
#   --assert      default "each:failed<1%,each:p99<250ms"
#   --target URL  a running gateway's admin API (auth off) instead of one of our own; --ca DIR is its clusterset CA
#                 (isthmus mesh init's directory), from which the simulated clusters' certificates are issued
#   --report DIR  default loadtest/results/peering-load/TIMESTAMP (loadtest/run passes its results folder)
# Exit status: 0 all assertions passed, 4 some failed, 1 something did not start or answer, 2 a wrong option.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"
invocation="loadtest/bench-peering-load.sh${*:+ $*}"

seconds=30
peers=10
rate=50
ramp=5
in_flight=2
services=50
scenarios=""
assertions="each:failed<1%,each:p99<250ms"
timeout_ms=10000
target=""
ca=""
report=""
keep=false
build=auto
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --peers) peers="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --ramp) ramp="$2"; shift 2 ;;
    --in-flight) in_flight="$2"; shift 2 ;;
    --services) services="$2"; shift 2 ;;
    --scenarios) scenarios="$2"; shift 2 ;;
    --assert) assertions="$2"; shift 2 ;;
    --timeout-ms) timeout_ms="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --ca) ca="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --no-build) build=missing; shift ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-peering-load: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
usage_error() { echo "bench-peering-load: $*" >&2; exit 2; }
for n in "$seconds" "$rate" "$in_flight" "$services" "$timeout_ms"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || usage_error "options take positive whole numbers, got '$n'"
done
[[ "$ramp" =~ ^[0-9]+$ ]] || usage_error "--ramp takes whole seconds (0: none), got '$ramp'"
[[ "$peers" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || usage_error "--peers takes N or N,N,..., got '$peers'"
(( seconds <= 600 )) || usage_error "--seconds is at most 600"
[[ -z "$target" || -n "$ca" ]] || usage_error "--target needs --ca DIR: the target's clusterset CA, to issue the simulated clusters' certificates"
[[ -z "$ca" || -f "$ca/ca.crt" ]] || usage_error "--ca $ca holds no ca.crt (give isthmus mesh init's directory)"

if [[ -z "$scenarios" ]]; then
  IFS=',' read -ra sizes <<<"$peers"
  for n in "${sizes[@]}"; do
    open="constant($rate,${seconds}s)"
    (( ramp > 0 )) && open="ramp(1,$rate,${ramp}s)+$open"
    scenarios+="${scenarios:+;}open-$n:$n:$open;closed-$n:$n:closed($in_flight,${seconds}s)"
  done
fi
# The peers the scenarios use together (each scenario has its own: sim-01 upwards). The driver checks the rest.
total_peers=0
IFS=';' read -ra specs <<<"$scenarios"
for spec in "${specs[@]}"; do
  [[ -z "${spec// /}" ]] && continue
  count=$(cut -d: -f2 <<<"$spec" | tr -d ' ')
  [[ "$count" =~ ^[1-9][0-9]*$ ]] || usage_error "--scenarios: '$spec' is not NAME:PEERS:PROFILE"
  total_peers=$(( total_peers + count ))
done
(( total_peers >= 1 && total_peers <= 250 )) || usage_error "the scenarios use $total_peers simulated peers together; 1..250"

fail() { echo "bench-peering-load: $*" >&2; exit 1; }
for tool in curl ss setsid; do
  command -v "$tool" >/dev/null || fail "needs $tool (Debian packages curl, iproute2, util-linux)"
done
source "$here/bench-lib.sh"

bench_build peering-load
bench_scratch peering-load 100
if [[ -z "$report" ]]; then
  report="${ISTHMUS_BENCH_RESULTS:-$here/results}/peering-load/$(date -u +%Y%m%dT%H%M%SZ)"
fi
mkdir -p "$report"

java_bin="$JAVA_HOME/bin/java"
# The simulated clusters' certificates from $ca: the first one writes a class-data archive that the others (two CLI
# processes at a time) start from, which makes each about 0.8 s on an idle machine.
issue_certificates() {
  echo "issuing certificates for sim-01..sim-$(printf '%02d' "$total_peers") ..." >&2
  local cli=("$java_bin" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m)
  "${cli[@]}" -XX:+AutoCreateSharedArchive -XX:SharedArchiveFile="$work/cli.jsa" -jar "$gateway_jar" mesh issue \
    --ca "$ca" --cluster sim-01 --out "$work/sim-tls" >/dev/null || fail "isthmus mesh issue --ca $ca failed"
  (( total_peers > 1 )) || return 0
  seq 2 "$total_peers" | xargs -I{} printf 'sim-%02d\n' {} \
    | xargs -P 2 -I{} "${cli[@]}" -XX:SharedArchiveFile="$work/cli.jsa" -jar "$gateway_jar" mesh issue --ca "$ca" \
        --cluster {} --out "$work/sim-tls" >/dev/null \
    || fail "issuing the simulated clusters' certificates from $ca failed"
}
pid_args=()
if [[ -z "$target" ]]; then
  bench_gateway_launch
  ca="$gateway_ca"
  issue_certificates   # while the gateway's JVM starts
  bench_gateway_ready
  target="$admin_url"
  pid_args=(--pid "$gateway_pid" --clk-tck "$(getconf CLK_TCK)")
  echo "gateway: pid $gateway_pid at $target (H2 journal in $work/gateway)" >&2
else
  curl -fs --max-time 5 "${target%/}/readyz" >/dev/null || fail "the target $target does not answer /readyz"
  issue_certificates
fi

commit="$(git -C "$root" log -1 --format='%h' 2>/dev/null || echo unknown)"
dirty=""; [[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]] && dirty=" + uncommitted changes"
echo "Isthmus peering load — $(date -u '+%F %T UTC'); commit $commit$dirty; gateway jar built $(date -u -r "$gateway_jar" '+%F %T UTC')"
echo "  machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  scenarios: $scenarios"
echo "  assertions: ${assertions:-none}"
status=0
"$java_bin" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx512m \
  -cp "$bench_jar" io.isthmus.loadtest.peering.PeeringLoad --admin "$target" --tls-dir "$work/sim-tls" \
  --scenarios "$scenarios" --assert "$assertions" --services "$services" --timeout-ms "$timeout_ms" \
  --report "$report" --title "Isthmus peering load — $(date -u '+%F %T UTC')" \
  --command "$invocation" \
  ${pid_args[@]+"${pid_args[@]}"} || status=$?
[[ -f "$report/index.html" ]] || fail "the driver wrote no report in $report (exit $status)"
exit "$status"
