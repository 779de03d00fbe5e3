#!/usr/bin/env bash
# The IPAM replica-failover benchmark of issue 3: one cluster of 2 (or 3) gateway replicas (separate JVMs, one Pekko
# cluster, a private PostgreSQL on 127.0.0.1 as journal and split-brain lease), 16 pools spread by sharding, one
# client per pool allocating continuously through the admin API (switching replica when its connection fails);
# one replica is SIGKILLed. Prints per pool how long allocations stalled (last acknowledged allocation before the
# kill -> first after), p50/max over the pools, when the dead replica left the Pekko cluster and the survivor's log
# of the steps in between; then proves from the client log and the survivor's leases (recovered from the journal)
# that no address was acknowledged to or held by two owners and no acknowledged allocation was lost.
# Prints figures, never fails on a slow one. The driver is io.isthmus.gateway.cli.IpamFailoverBench (gateway tests).
#
#   loadtest/bench-ipam-failover.sh [--no-build] [--replicas 2] [--pools 16] [--victim oldest,youngest] [--before 5] [--pace-ms 20]
#
# "oldest" is the replica that formed the cluster (it hosts the shard coordinator), "youngest" one that joined.
# About 2 minutes with the defaults (two rounds, each with fresh replicas and database).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

build=auto
driver_args=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --no-build) build=missing ;;  # use the classes and classpath of an earlier build as they are
    *) driver_args+=("$arg") ;;
  esac
done
fail() { echo "bench-ipam-failover: $*" >&2; exit 1; }
source "$here/bench-lib.sh"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  source "$root/scripts/install-packages.sh"
  [[ $(id -u) -eq 0 ]] || fail "needs Debian's postgresql package (apt-get install postgresql)"
  isthmus_need postgresql
fi

bench_module_classpath gateway test
echo "commit $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (with uncommitted changes)'), $(date -u '+%F %T') UTC, $(nproc) cores"
# The replicas are started from this JVM's classpath; they exit with it.
exec "$JAVA_HOME/bin/java" -Xmx256m --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED -cp "$bench_classpath" \
  io.isthmus.gateway.cli.IpamFailoverBench ${driver_args[@]+"${driver_args[@]}"}
