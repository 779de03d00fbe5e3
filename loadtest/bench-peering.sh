#!/usr/bin/env bash
# The peering benchmark of issue 5: three clusters as separate gateway JVMs (full mesh, mutual TLS), N services
# exported from one of them; the propagation delay of single export changes to the other clusters' DNS, the time
# to resync after a restart (a receiver, then the exporter), the heap per 10,000 imports; then one gateway
# against K simulated clusters (K = 10, 25, 50) driven from one load JVM: how CPU, heap and propagation grow.
# Prints figures next to the issue's targets; it never fails on a slow figure, only when something does not start.
# See loadtest/README.md for what each figure means.
#
#   loadtest/bench-peering.sh [--quick] [--services N] [--changes N] [--clusters K,K,...|none] [--sim-services S]
#                             [--window S] [--gateway-heap SIZE] [--no-build] [--keep]
#
#   --quick          1,000 services, 50 changes, K = 10,25, 5 s windows (about 2 minutes instead of 6)
#   --gateway-heap   the gateways' -Xmx (e.g. 717m, what k8s/deploy's 1Gi limit at MaxRAMPercentage=70 gives);
#                    default: the JVM's own choice from this machine's memory
#
# It builds the gateway and loadtest jars when they are missing or older than their sources (--no-build: only
# when missing, and measures the jars as they are).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

services=10000       # services the exporter (east) offers before the measurements
changes=200          # export changes, one at a time, for the propagation figures
clusters="10,25,50"  # simulated clusters against one gateway, growing
sim_services=50      # services each simulated cluster exports
window=10            # seconds of steady load measured per K
import_ttl=3s        # how soon receivers stop serving a cluster whose links are all down (default 30s)
keep=false
build=auto
gateway_heap=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) services=1000; changes=50; clusters="10,25"; window=5; shift ;;
    --services) services="$2"; shift 2 ;;
    --changes) changes="$2"; shift 2 ;;
    --clusters) clusters="$2"; shift 2 ;;
    --sim-services) sim_services="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --gateway-heap) gateway_heap="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --no-build) build=missing; shift ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-peering: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -z "$gateway_heap" || "$gateway_heap" =~ ^[1-9][0-9]*[mMgG]$ ]] \
  || { echo "bench-peering: --gateway-heap takes a size like 717m or 2g, got '$gateway_heap'" >&2; exit 2; }
for n in "$services" "$changes" "$sim_services" "$window"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-peering: options take positive whole numbers, got '$n'" >&2; exit 2; }
done
[[ "$clusters" == none || "$clusters" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] \
  || { echo "bench-peering: --clusters takes K,K,... (growing) or none, got '$clusters'" >&2; exit 2; }
(( sim_services <= 250 )) || { echo "bench-peering: --sim-services is at most 250" >&2; exit 2; }
max_k=0
if [[ "$clusters" != none ]]; then
  max_k="${clusters##*,}"
  (( max_k <= 250 )) || { echo "bench-peering: at most 250 simulated clusters" >&2; exit 2; }
fi

fail() { echo "bench-peering: $*" >&2; exit 1; }
source "$here/bench-lib.sh"
for tool in curl ss setsid; do
  command -v "$tool" >/dev/null || fail "needs $tool (Debian: curl, iproute2, util-linux)"
done

# ---- build: the gateway jar and the loadtest jar, when missing or older than their sources -------------------
bench_build peering
java_bin="$JAVA_HOME/bin/java"
jcmd_bin="$JAVA_HOME/bin/jcmd"
jvm_flags=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow)
driver() { "$java_bin" "${jvm_flags[@]}" -cp "$bench_jar" io.isthmus.loadtest.peering.PeeringBench "$@"; }
exporter() { "$java_bin" -jar "$bench_jar" "$@"; }   # the DNS benchmark's export loader (8 requests in flight)

# ---- scratch space, processes, cleanup ------------------------------------------------------------------------
bench_scratch peering 100
live_heap_kb() { # pid: the live heap in KiB: jcmd GC.class_histogram runs a full GC, then counts reachable objects
  "$jcmd_bin" "$1" GC.class_histogram | awk '$1 == "Total" {printf "%d", $3 / 1024}'
}
mib() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }
peak_rss_kb() { awk '$1 == "VmHWM:" {print $2}' "/proc/$1/status"; } # pid: the most resident memory it has had

# ---- gateways: east exports, west and edge receive; hub is the one under test with simulated clusters ---------
names=(east west edge hub)
base=$(pick_ports 16)
declare -A admin_port peering_port dns_port replicas_port pid_of
for i in "${!names[@]}"; do
  n=${names[$i]}
  admin_port[$n]=$(( base + 4 * i )); peering_port[$n]=$(( base + 4 * i + 1 ))
  dns_port[$n]=$(( base + 4 * i + 2 )); replicas_port[$n]=$(( base + 4 * i + 3 ))
done
admin() { echo "http://127.0.0.1:${admin_port[$1]}"; }
write_config() { # name peer-names...
  local n=$1 peers="" p
  shift
  for p in "$@"; do peers+="${peers:+, }\"127.0.0.1:${peering_port[$p]}\""; done
  mkdir -p "$work/$n/data"
  cat > "$work/$n/gateway.conf" <<EOF
isthmus {
  cluster-id = "$n"
  data-dir = "$work/$n/data"
  admin.port = ${admin_port[$n]}
  admin.auth.enabled = off  # a benchmark on loopback; auth costs are not what it measures
  dns.port = ${dns_port[$n]}
  replicas.port = ${replicas_port[$n]}
  peering {
    port = ${peering_port[$n]}
    peers = [$peers]
    import-ttl = $import_ttl
  }
}
EOF
}
launch() { # name: starts the gateway (its own process group), without waiting
  local n=$1
  setsid "$java_bin" "${jvm_flags[@]}" ${gateway_heap:+-Xmx$gateway_heap} -jar "$gateway_jar" gateway --config "$work/$n/gateway.conf" \
    >>"$work/$n/gateway.log" 2>&1 &
  pid_of[$n]=$!
  pids+=("${pid_of[$n]}")
  launched_at_ms=$(date +%s%3N)
}
wait_ready() { # name: until /readyz answers 200 (120 s); non-zero, with the log's tail, if it exits or is not ready
  local n=$1
  for _ in $(seq 1 600); do
    if ! kill -0 "${pid_of[$n]}" 2>/dev/null; then
      tail -5 "$work/$n/gateway.log" >&2; echo "bench-peering: gateway $n exited while starting" >&2
      return 1
    fi
    curl -sf -o /dev/null --max-time 2 "$(admin "$n")/readyz" 2>/dev/null && return 0
    sleep 0.2
  done
  tail -5 "$work/$n/gateway.log" >&2; echo "bench-peering: gateway $n was not ready within 120 s" >&2
  return 1
}
stop() { # name: SIGTERM, up to 30 s to exit, then SIGKILL
  local n=$1
  kill -TERM -- "-${pid_of[$n]}" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "${pid_of[$n]}" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-${pid_of[$n]}" 2>/dev/null || true
  wait "${pid_of[$n]}" 2>/dev/null || true
}
alive() { kill -0 "${pid_of[$1]}" 2>/dev/null || { tail -5 "$work/$1/gateway.log" >&2; fail "gateway $1 died (log: $work/$1/gateway.log)"; }; }

# ---- the clusterset CA and certificates, made with the CLI (`isthmus mesh init|issue`) ------------------------
# The CLI is a JVM per certificate; a class-data archive in the work dir and C1 only make each about 0.8 s.
cli() { "$java_bin" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:+AutoCreateSharedArchive \
          -XX:SharedArchiveFile="$work/cli.jsa" -jar "$gateway_jar" "$@"; }
cli mesh init --ca "$work/ca" >/dev/null || fail "isthmus mesh init failed"
for n in east west edge; do
  cli mesh issue --ca "$work/ca" --cluster "$n" --out "$work/$n/data/tls" >/dev/null || fail "isthmus mesh issue $n failed"
done

# ---- header ----------------------------------------------------------------------------------------------------
cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
commit="$(git -C "$root" log -1 --format='%h' 2>/dev/null || echo unknown)"
dirty=""; [[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]] && dirty=" + uncommitted changes"
jar_note=""; $stale_jars && jar_note=" (some sources are newer: the jar is measured as it was built)"
started=$SECONDS
echo "Isthmus peering benchmark — $(date -u '+%F %T UTC')"
echo "  work tree at commit $commit$dirty; gateway jar built $(date -u -r "$gateway_jar" '+%F %T UTC')$jar_note"
echo "  machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  $("$java_bin" -version 2>&1 | head -1); every gateway a JVM of its own with default settings (G1), journal (H2) in $(dirname "$work")"
echo "  three clusters east, west, edge (full mesh, mutual TLS 1.3, heartbeat 1 s, import TTL $import_ttl); east exports $(printf "%'d" "$services") services"
echo "  then one gateway (hub) with K = $clusters simulated clusters of $sim_services services each"
echo "  work dir $work; all traffic to 127.0.0.1, ports $base..$(( base + 15 ))"
echo

# ---- three clusters --------------------------------------------------------------------------------------------
write_config east west edge
write_config west east edge
write_config edge east west
echo "starting east, west and edge ..."
for n in east west edge; do launch "$n"; done
if [[ "$clusters" != none ]]; then
  # The simulated clusters' certificates, made meanwhile (not measured): two CLI processes at a time.
  ( cli mesh issue --ca "$work/ca" --cluster hub --out "$work/hub/data/tls" >/dev/null \
      && seq 1 "$max_k" | xargs -I{} printf 'sim-%02d\n' {} \
      | xargs -P 2 -I{} "$java_bin" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:SharedArchiveFile="$work/cli.jsa" \
          -jar "$gateway_jar" mesh issue --ca "$work/ca" --cluster {} --out "$work/sim-tls" >/dev/null
  ) >"$work/sim-certs.log" 2>&1 &
  certs_pid=$!
  pids+=("$certs_pid")
fi
for n in east west edge; do wait_ready "$n" || fail "gateway $n did not start"; done
driver await-links --admins "east=$(admin east),west=$(admin west),edge=$(admin edge)" \
  || fail "the three gateways did not peer"
if [[ "$clusters" != none ]]; then
  wait "$certs_pid" || { cat "$work/sim-certs.log" >&2; fail "issuing the simulated clusters' certificates failed"; }
  echo "  (issued certificates for hub and sim-01..sim-$(printf '%02d' "$max_k") meanwhile)"
fi

heap_west_0=$(live_heap_kb "${pid_of[west]}")

echo
echo "INITIAL SYNC — exporting $(printf "%'d" "$services") services at east (POST /api/v1/exports, 8 in flight) while west and edge follow"
exporter export --admin "$(admin east)" --from 1 --to "$services" --parallel 8 || fail "exporting to east failed"
driver await-sync --origin east --origin-admin "$(admin east)" --receivers "west=$(admin west),edge=$(admin edge)" \
  || fail "west and edge did not receive east's exports"

heap_west_n=$(live_heap_kb "${pid_of[west]}")
heap_east_n=$(live_heap_kb "${pid_of[east]}")
echo
echo "HEAP — live heap: reachable objects after a full GC (jcmd GC.class_histogram, its Total)"
printf '  %-66s %8s MiB\n' "west, peered, importing nothing" "$(mib "$heap_west_0")"
printf '  %-66s %8s MiB\n' "west, importing east's $(printf "%'d" "$services") services" "$(mib "$heap_west_n")"
printf '  %-66s %8s MiB\n' "east, exporting them (its own, journaled)" "$(mib "$heap_east_n")"
printf '  heap per 10,000 imports: %s MiB (west, before and after)\n' \
  "$(awk -v a="$heap_west_0" -v b="$heap_west_n" -v n="$services" 'BEGIN {printf "%.1f", (b - a) * 10000 / n / 1024}')"
printf '  peak resident memory (VmHWM), -Xmx %s: west %s MiB, east %s MiB\n' "${gateway_heap:-the JVM default}" \
  "$(mib "$(peak_rss_kb "${pid_of[west]}")")" "$(mib "$(peak_rss_kb "${pid_of[east]}")")"

echo
echo "propagation: $changes changes at east, one at a time ..."
driver propagation --origin east --origin-admin "$(admin east)" \
  --receivers "west=${dns_port[west]},edge=${dns_port[edge]}" --services "$services" --changes "$changes" \
  | tee "$work/propagation.out" || fail "the propagation run failed"
for n in east west edge; do alive "$n"; done
probe_svc="svc-$(( services + 1 ))"   # the first service the propagation run added; its address never changes

echo
echo "RESYNC 1 — a receiver restarts: west stopped (SIGTERM), started again on its journal; it must fetch east's exports"
stop west
launch west
driver resync-receiver --name west --admin "$(admin west)" --dns "${dns_port[west]}" --origin east \
  --origin-admin "$(admin east)" --probe "$probe_svc" --launched-at-ms "$launched_at_ms" \
  | tee "$work/resync-receiver.out" || { tail -20 "$work/west/gateway.log" >&2; fail "west did not come back (log: $work/west/gateway.log)"; }
alive west

echo
echo "RESYNC 2 — the exporter restarts: east stopped (SIGTERM), down past the import TTL ($import_ttl), started again"
stop east
driver await-withdrawn --origin east --receivers "west=$(admin west),edge=$(admin edge)" --timeout-s 30 || true
launch east
driver resync-exporter --name east --admin "$(admin east)" --dns "${dns_port[east]}" --probe "$probe_svc" \
  --launched-at-ms "$launched_at_ms" --receivers "west=$(admin west),edge=$(admin edge)" \
  --receiver-dns "west=${dns_port[west]},edge=${dns_port[edge]}" \
  | tee "$work/resync-exporter.out" || { tail -20 "$work/east/gateway.log" >&2; fail "east did not come back (log: $work/east/gateway.log)"; }
for n in east west edge; do alive "$n"; done

echo
echo "FAILOVER — not in this benchmark: the clusters here run one replica each. Replica failover (two clusters of two"
echo "  replicas on PostgreSQL, kill -9 under export churn) is measured by gateway's ReplicaFailoverTest, which prints its figures."

for n in east west edge; do stop "$n"; done

# ---- one gateway, K simulated clusters ---------------------------------------------------------------------------
if [[ "$clusters" != none ]]; then
  echo
  echo "scale: starting hub (no configured peers: the simulated clusters dial it) ..."
  write_config hub
  launch hub
  wait_ready hub || fail "gateway hub did not start"
  # hub offers services of its own, so every simulated cluster is sent a snapshot too, as between real gateways.
  exporter export --admin "$(admin hub)" --from 1 --to "$sim_services" --parallel 8 >/dev/null \
    || fail "exporting to hub failed"
  driver scale --peering "${peering_port[hub]}" --admin "$(admin hub)" --dns "${dns_port[hub]}" \
    --tls-dir "$work/sim-tls" --pid "${pid_of[hub]}" --clk-tck "$(getconf CLK_TCK)" --clusters "$clusters" \
    --services "$sim_services" --window-s "$window" | tee "$work/scale.out" || fail "the scale run failed"
  alive hub
  stop hub
fi

echo
echo "TARGETS (issue 5) on this machine"
summary() { # label file: the file's target line, labelled
  [[ -f "$2" ]] && grep -h 'target (issue 5)' "$2" | sed -E "s/^ *target \(issue 5\): [^.]*\. /  $1: /" || true
}
summary "propagation, p99 <= 100 ms" "$work/propagation.out"
summary "resync (receiver restarts), <= 2 s" "$work/resync-receiver.out"
summary "resync (exporter restarts), <= 2 s" "$work/resync-exporter.out"
summary "propagation with $max_k simulated clusters, p99 <= 100 ms" "$work/scale.out"
echo "  failover <= 1 s: see ReplicaFailoverTest (kill -> next acknowledged write; kill -> change answered by the other cluster)"
echo
echo "done in $(( SECONDS - started )) s: $(date -u '+%F %T UTC')"
