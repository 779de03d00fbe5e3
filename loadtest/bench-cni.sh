#!/usr/bin/env bash
# The CNI benchmark of issue 3 (item 5): how long CNI calls through the isthmus-ipam plugin take.
#   1. the plugin alone: N ADD+DEL pairs of the isthmus-ipam executable against the gateway's CNI endpoint
#      (CniServer on a unix socket), each a fresh process as a container runtime starts it;
#   2. N ADDs (then N DELs) through Debian's real macvlan plugin, each into its own pod network namespace,
#      once one at a time and once C at a time.
# Prints total time, per-call p50/p99/max and CPU per call; it never fails on a slow figure. Needs root (network
# namespaces). By default the pool side is the in-memory test double of ipam-actors' tests (the figures are then the
# plugin, the socket protocol and the CNI plugins); with --gateway a real gateway is started (./isthmus gateway, its
# own H2 journal in a scratch dir, a /21 pool in a claimed underlay segment) and every call goes to its pool entities.
# See ipam-actors/CNI.md.
#
#   loadtest/bench-cni.sh [--gateway] [--jdk-spawn] [--no-build] [--calls N] [--macvlan N] [--parallel C,C,...] [--warmup N]
#                                                                         (defaults 1000 1000 1,8 100)
# The harness starts each plugin process as a container runtime does, with vfork+exec (the JVM's VFORK launch
# mechanism; Go's os/exec, which containerd and CRI-O use, clones with CLONE_VFORK too). --jdk-spawn uses the JDK's
# default instead (posix_spawn of a helper that execs the plugin: two execs per call, not what a runtime pays).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"
source "$root/scripts/install-packages.sh"

case "${1:-}" in
  -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
with_gateway=0
spawn=(-Djdk.lang.Process.launchMechanism=VFORK)
build=auto
while [[ "${1:-}" == "--gateway" || "${1:-}" == "--jdk-spawn" || "${1:-}" == "--no-build" ]]; do
  [[ "$1" == "--gateway" ]] && with_gateway=1
  [[ "$1" == "--jdk-spawn" ]] && spawn=()
  [[ "$1" == "--no-build" ]] && build=missing
  shift
done
[[ $(id -u) -eq 0 ]] || { echo "bench-cni: needs root (it creates network namespaces)" >&2; exit 1; }
# gcc + libc6-dev build the plugin; containernetworking-plugins is macvlan; iproute2 and util-linux (nsenter) run it.
isthmus_need gcc libc6-dev containernetworking-plugins iproute2 util-linux curl

fail() { echo "bench-cni: $*" >&2; exit 1; }
keep=false
source "$here/bench-lib.sh"
bench_module_classpath ipam-actors test

echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%F %T') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg), process starts: ${spawn[*]:-JDK default (posix_spawn + jspawnhelper)}"
bench_scratch cni 100
gateway_args=()
if [[ $with_gateway == 1 ]]; then
  bench_build cni
  bench_gateway_with_pool bench
  gateway_args=(--socket "$work/gateway/data/ipam.sock" --pool bench)
  echo "gateway: isthmus gateway (H2 journal) pid $gateway_pid, pool bench 10.77.0.0/21, log $work/gateway/gateway.log"
fi
"$JAVA_HOME/bin/java" -Xmx256m -XX:+UseSerialGC -Djava.util.logging.config.file=/dev/null --enable-native-access=ALL-UNNAMED ${spawn[@]+"${spawn[@]}"} \
  -cp "$bench_classpath" io.isthmus.ipam.cni.CniBench ${gateway_args[@]+"${gateway_args[@]}"} "$@"
