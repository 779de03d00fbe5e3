#!/usr/bin/env bash
# The IPAM allocation benchmark of issue 3: durable allocations per second and p50/p99 latency through the Ipam
# facade (cluster sharding, group commit, a real JDBC journal) with 8 and 64 concurrent clients on ONE pool and 64
# clients across 16 pools, on embedded H2 and on PostgreSQL (a private server on 127.0.0.1, Debian's package);
# then the time from 100 owners' death to the reclaim of their addresses (with the configured reclaim-grace, or
# --reclaim-grace-seconds N).
# Prints figures, never fails on a slow one. The driver is io.isthmus.ipam.bench.AllocationBench (ipam-actors tests).
#
#   loadtest/bench-ipam.sh [--no-build] [--journal h2,postgres] [--seconds 10] [--warmup 3] [--scenarios 8x1,64x1,64x16]
#
# A scenario CxP is C closed-loop clients over P pools. Takes about 1.5 minutes with the defaults.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

build=auto
driver_args=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --no-build) build=missing ;;  # use the classes and classpath of an earlier build as they are
    *) driver_args+=("$arg") ;;
  esac
done
fail() { echo "bench-ipam: $*" >&2; exit 1; }
source "$here/bench-lib.sh"
if [[ " $* " != *" --journal h2 "* ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  # The PostgreSQL runs start a private server from Debian's package (its own data directory on a free port).
  source "$root/scripts/install-packages.sh"
  [[ $(id -u) -eq 0 ]] || fail "the PostgreSQL runs need Debian's postgresql package (apt-get install postgresql, or --journal h2)"
  isthmus_need postgresql
fi

bench_module_classpath ipam-actors test
exec "$JAVA_HOME/bin/java" -Xmx768m -XX:+UseG1GC --sun-misc-unsafe-memory-access=allow -cp "$bench_classpath" \
  io.isthmus.ipam.bench.AllocationBench ${driver_args[@]+"${driver_args[@]}"}
