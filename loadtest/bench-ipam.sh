#!/usr/bin/env bash
# The IPAM allocation benchmark of issue 3: durable allocations per second and p50/p99 latency through the Ipam
# facade (cluster sharding, group commit, a real JDBC journal) with 8 and 64 concurrent clients on ONE pool and 64
# clients across 16 pools, on embedded H2 and on PostgreSQL (a private server on 127.0.0.1, Debian's package);
# then the time from 100 owners' death to the reclaim of their addresses (with the configured reclaim-grace, or
# --reclaim-grace-seconds N).
# Prints figures, never fails on a slow one. The driver is io.isthmus.ipam.bench.AllocationBench (ipam-actors tests).
#
#   loadtest/bench-ipam.sh [--journal h2,postgres] [--seconds 10] [--warmup 3] [--scenarios 8x1,64x1,64x16]
#
# A scenario CxP is C closed-loop clients over P pools. Takes about 1.5 minutes with the defaults.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

for arg in "$@"; do
  case "$arg" in -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
done
if [[ " $* " != *" --journal h2 "* ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "bench-ipam: installing Debian's postgresql package (the PostgreSQL runs need it)" >&2
  apt-get install -y -q postgresql >/dev/null
fi

cd "$root"
./mvnw -B -q -o -pl ipam-actors -am test-compile
./mvnw -B -q -o -pl ipam-actors dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$root/ipam-actors/target/bench-classpath.txt" >/dev/null
# Our own modules from their fresh classes, not from the local repository.
deps="$(tr ':' '\n' < ipam-actors/target/bench-classpath.txt | grep -v '/io/isthmus/' | paste -sd:)"
cp="ipam-actors/target/test-classes:ipam-actors/target/classes:api/target/classes:testing/target/classes:$deps"
exec "$JAVA_HOME/bin/java" -Xmx768m -XX:+UseG1GC --sun-misc-unsafe-memory-access=allow -cp "$cp" \
  io.isthmus.ipam.bench.AllocationBench "$@"
