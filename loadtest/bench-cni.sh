#!/usr/bin/env bash
# The CNI benchmark of issue 3 (item 5): how long CNI calls through the isthmus-ipam plugin take.
#   1. the plugin alone: N ADD+DEL pairs of the isthmus-ipam executable against the gateway's CNI endpoint
#      (CniServer on a unix socket), each a fresh process as a container runtime starts it;
#   2. N ADDs (then N DELs) through Debian's real macvlan plugin, each into its own pod network namespace,
#      once one at a time and once C at a time.
# Prints total time, per-call p50/p99/max and CPU per call; it never fails on a slow figure. Needs root (network
# namespaces). The pool side is the in-memory test double of ipam-actors' tests, so the figures are the plugin, the
# socket protocol and the CNI plugins, not the durable pool entities. See ipam-actors/CNI.md.
#
#   loadtest/bench-cni.sh [--calls N] [--macvlan N] [--parallel C,C,...] [--warmup N]   (defaults 1000 1000 1,8 100)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"
source "$root/scripts/install-packages.sh"

case "${1:-}" in
  -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "bench-cni: needs root (it creates network namespaces)" >&2; exit 1; }
# gcc + libc6-dev build the plugin; containernetworking-plugins is macvlan; iproute2 and util-linux (nsenter) run it.
isthmus_need gcc libc6-dev containernetworking-plugins iproute2 util-linux

log="${TMPDIR:-/tmp}/bench-cni-build.log"
echo "building ipam-actors (classes, the plugin, test classes) ..." >&2
if ! (cd "$root" && ./mvnw -B -q -ntp -pl ipam-actors -am test-compile \
        && ./mvnw -B -q -ntp -pl ipam-actors org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
             -Dmdep.includeScope=test -Dmdep.outputFile="$log.classpath") >"$log" 2>&1; then
  tail -20 "$log" >&2
  echo "bench-cni: the build failed (see $log)" >&2
  exit 1
fi

echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%F %T') UTC"
classes="$root/ipam-actors/target"
exec "$JAVA_HOME/bin/java" -Xmx256m -XX:+UseSerialGC -Djava.util.logging.config.file=/dev/null \
  -cp "$classes/test-classes:$classes/classes:$(cat "$log.classpath")" io.isthmus.ipam.cni.CniBench "$@"
