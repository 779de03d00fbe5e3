#!/usr/bin/env bash
# Allocate/release load through the admin HTTP API: C closed-loop clients, each allocating an address for an owner
# of its own (POST /api/v1/ipam/pools/POOL/allocations) and releasing it (POST .../releases, mode forget), for S
# seconds. Prints count, errors, rate and p50/p99/max per operation, then the same as one JSON line. Never fails on
# a slow figure; fails when nothing could be allocated. The driver is io.isthmus.loadtest.ipam.IpamHttpBench.
#
#   loadtest/bench-ipam-http.sh [--seconds S] [--clients C] [--target URL --pool NAME] [--no-build] [--keep]
#
# Without --target it starts one gateway of its own (H2 journal, a scratch directory, free loopback ports) with
# pool "bench" (10.77.0.0/21). With --target it loads that running gateway's existing pool NAME (default bench); the
# driver sends no credentials, so the target's admin API must have auth off (admin.auth.enabled = off).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

seconds=10
clients=8
target=""
pool=bench
keep=false
build=auto
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --pool) pool="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --no-build) build=missing; shift ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-ipam-http: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
fail() { echo "bench-ipam-http: $*" >&2; exit 1; }
for tool in curl ss setsid; do
  command -v "$tool" >/dev/null || fail "needs $tool (Debian packages curl, iproute2, util-linux)"
done
source "$here/bench-lib.sh"

bench_build ipam-http
bench_scratch ipam-http 100
bench_target_or_own_gateway "$pool"
"$JAVA_HOME/bin/java" -cp "$bench_jar" io.isthmus.loadtest.ipam.IpamHttpBench --admin "$target" --pool "$pool" \
  --clients "$clients" --seconds "$seconds"
