#!/usr/bin/env bash
# Gatling against the admin and IPAM HTTP API (io.isthmus.loadtest.gatling.AdminApiSimulation): export churn, an
# allocate/release storm with fixed-IP owners, and status reads at once, with an open (arrivals per second) or
# closed (concurrent users) injection profile; Gatling's assertions (failed requests, p99) decide the exit status,
# and its HTML report goes to the results folder. Bounded: the simulation stops after S + 60 seconds at the latest.
#
#   loadtest/bench-gatling.sh [--seconds S] [--profile open|closed] [--rate N] [--p99-ms MS] [--target URL --pool NAME]
#                             [--report DIR] [--no-build] [--keep]
#
#   --rate     users per second per scenario (open) or concurrent users per scenario (closed); default 20
#   --report   where Gatling writes its report folder (default: the scratch directory, printed at the end)
#
# Without --target it starts one gateway of its own (H2 journal, a scratch directory, free loopback ports, admin
# auth off) with pool "bench" (10.77.0.0/21). With --target the target's admin API must have auth off.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

seconds=10
profile=open
rate=20
p99_ms=250
target=""
pool=bench
report=""
keep=false
build=auto
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --p99-ms) p99_ms="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --pool) pool="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --no-build) build=missing; shift ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-gatling: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$seconds" "$rate" "$p99_ms"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-gatling: options take positive whole numbers, got '$n'" >&2; exit 2; }
done
(( seconds <= 600 )) || { echo "bench-gatling: --seconds is at most 600" >&2; exit 2; }
[[ "$profile" == open || "$profile" == closed ]] || { echo "bench-gatling: --profile takes open or closed, got '$profile'" >&2; exit 2; }
fail() { echo "bench-gatling: $*" >&2; exit 1; }
for tool in curl ss setsid; do
  command -v "$tool" >/dev/null || fail "needs $tool (Debian packages curl, iproute2, util-linux)"
done
source "$here/bench-lib.sh"

bench_build gatling
simulations="$root/loadtest/target/test-classes"
libraries="$root/loadtest/target/gatling-lib"
[[ -f "$simulations/io/isthmus/loadtest/gatling/AdminApiSimulation.class" && -d "$libraries" ]] \
  || fail "the simulations or Gatling's libraries are missing ($simulations, $libraries): build with ./mvnw -B -DskipTests -pl gateway,loadtest -am package"
bench_scratch gatling 100
bench_target_or_own_gateway "$pool"
report="${report:-$work/gatling}"
mkdir -p "$report"
echo "gatling: AdminApiSimulation, $profile profile, $rate per scenario, $seconds s, against $target" >&2
status=0
# Gatling phones home twice (anonymous analytics, and Maven Central for a newer release): analytics are switched
# off, and the JDK's own HTTP client, which the release check uses, is pointed at a proxy on 127.0.0.1:1 that is
# not there, so nothing leaves the machine. Gatling's load itself uses its own client, which ignores those.
"$JAVA_HOME/bin/java" -Xmx512m -cp "$simulations:$libraries/*" --add-opens=java.base/java.lang=ALL-UNNAMED \
  -Dgatling.data.enableAnalytics=false -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=1 \
  -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=1 -Djava.util.prefs.userRoot="$work/prefs" \
  -Disthmus.target="$target" -Disthmus.pool="$pool" -Disthmus.seconds="$seconds" -Disthmus.profile="$profile" \
  -Disthmus.rate="$rate" -Disthmus.p99-ms="$p99_ms" \
  io.gatling.app.Gatling --simulation io.isthmus.loadtest.gatling.AdminApiSimulation --results-folder "$report" \
  || status=$?
index=$(find "$report" -name index.html -print -quit)
[[ -n "$index" ]] || fail "Gatling wrote no report under $report (exit $status)"
echo "report: $index"
$keep || [[ "$report" != "$work/gatling" ]] || { keep=true; echo "(kept the scratch directory for the report)" >&2; }
exit "$status"
