#!/usr/bin/env bash
# The DNS benchmark of issue 4: dnsperf against one Isthmus gateway and against NSD serving the equivalent zone,
# in one run with identical dnsperf parameters, then the gateway's heap per 10,000 exported services.
# Prints figures; it never fails on a slow figure, only when something does not start or a tool is missing.
# See loadtest/README.md for what each figure means.
#
#   loadtest/bench-dns.sh [--services N] [--heap-services N] [--duration S] [--rounds N] [--no-build] [--keep]
#
# It builds the gateway and loadtest jars when they are missing or older than the sources (--no-build: only
# when missing, and measures the jars as they are).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/java-env.sh"

services=1000        # services in the zone both servers answer for
heap_services=10000  # services exported for the heap figure
duration=10          # seconds per measured dnsperf run
warmup=3             # seconds of unmeasured load per server before phase 1 (JIT, caches)
rounds=2             # phase 1 runs per server, alternating which server goes first
clients=8            # dnsperf -c: sockets (source ports)
threads=2            # dnsperf -T
outstanding=200      # dnsperf -q: queries in flight at most
missing_percent=5    # share of names in the query file that do not exist (NXDOMAIN)
keep=false
build=auto

while [[ $# -gt 0 ]]; do
  case "$1" in
    --services) services="$2"; shift 2 ;;
    --heap-services) heap_services="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --no-build) build=missing; shift ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-dns: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$services" "$heap_services" "$duration" "$rounds"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-dns: options take positive whole numbers, got '$n'" >&2; exit 2; }
done
(( heap_services >= services )) || { echo "bench-dns: --heap-services must be >= --services" >&2; exit 2; }

fail() { echo "bench-dns: $*" >&2; exit 1; }
source "$here/bench-lib.sh"

# ---- tools: dnsperf, nsd, dig, ss, pgrep, curl (Debian packages), installed only when missing -----------------
missing=()
command -v dnsperf >/dev/null || missing+=(dnsperf)
command -v nsd >/dev/null || missing+=(nsd)
command -v dig >/dev/null || missing+=(bind9-dnsutils)
command -v ss >/dev/null || missing+=(iproute2)
command -v pgrep >/dev/null || missing+=(procps)
command -v curl >/dev/null || missing+=(curl)
if (( ${#missing[@]} > 0 )); then
  [[ $(id -u) -eq 0 ]] || fail "needs ${missing[*]} (apt-get install ${missing[*]}); not root, so not installing"
  echo "installing ${missing[*]} ..." >&2
  # Keep the package's own nsd service from starting on port 53: we run our own on a loopback port.
  added_policy=false
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && added_policy=true
  fi
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >&2 || install_failed=true
  if $added_policy; then rm -f /usr/sbin/policy-rc.d; fi
  [[ -z "${install_failed:-}" ]] || fail "apt-get install ${missing[*]} failed"
fi
command -v dnsperf >/dev/null || fail "dnsperf is missing"
command -v nsd >/dev/null || fail "nsd is missing"

# ---- build: the gateway jar and the loadtest jar, when missing or older than their sources -------------------
bench_build dns
java_bin="$JAVA_HOME/bin/java"
jcmd_bin="$JAVA_HOME/bin/jcmd"
bench() { "$java_bin" -jar "$bench_jar" "$@"; }

# ---- scratch space, processes, cleanup ------------------------------------------------------------------------
bench_scratch dns 50
base=$(pick_ports 5)   # gateway: base .. base+3 (admin, peering, dns, replicas); nsd: base+4
nsd_port=$(( base + 4 ))

expected_ip() { # service number -> its ClusterSetIP (the same rule as BenchZone.ip)
  local a=$(( (10 << 24) + (96 << 16) + $1 ))
  echo "$(( (a >> 24) & 255 )).$(( (a >> 16) & 255 )).$(( (a >> 8) & 255 )).$(( a & 255 ))"
}
wait_answer() { # port service-number timeout-seconds: until that server answers the service's A record
  local deadline=$(( SECONDS + $3 )) name="svc-$2.bench.svc.clusterset.local" want
  want="$(expected_ip "$2")"
  while (( SECONDS < deadline )); do
    [[ "$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$1" "$name" A 2>/dev/null)" == "$want" ]] && return 0
    sleep 0.2
  done
  return 1
}
heap_used_kb() { # pid: heap in use after two full collections, in KiB
  "$jcmd_bin" "$1" GC.run >/dev/null && "$jcmd_bin" "$1" GC.run >/dev/null
  "$jcmd_bin" "$1" GC.heap_info | grep -oE 'used [0-9]+K' | head -1 | grep -oE '[0-9]+'
}

# ---- header ----------------------------------------------------------------------------------------------------
cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
commit="$(git -C "$root" log -1 --format='%h' 2>/dev/null || echo unknown)"
dirty=""; [[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]] && dirty=" + uncommitted changes"
jar_note=""; $stale_jars && jar_note=" (some sources are newer: the jar is measured as it was built)"
echo "Isthmus DNS benchmark — $(date -u '+%F %T UTC')"
echo "  work tree at commit $commit$dirty; gateway jar built $(date -u -r "$gateway_jar" '+%F %T UTC')$jar_note"
echo "  machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
echo "  $("$java_bin" -version 2>&1 | head -1); $(dnsperf -h 2>&1 | grep -m1 Version | sed 's/Version/dnsperf/'); $(nsd -v 2>&1 | head -1)"
echo "  zone: $services services svc-N.bench.svc.clusterset.local A 10.96.0.0+N (TTL 5 s), plus $missing_percent% NXDOMAIN names in the query file"
dnsperf_args=(-s 127.0.0.1 -c "$clients" -T "$threads" -q "$outstanding" -l "$duration" -t 1)
echo "  dnsperf ${dnsperf_args[*]} -d queries.txt -v (identical for both servers; UDP, no EDNS)"
echo "  isthmus: 1 gateway JVM (default G1 heap), DNS on 2 UDP receive threads; nsd: server-count 2, reuseport, RRL off"
echo "  work dir $work; all traffic to 127.0.0.1, on ports found free: $base..$(( base + 4 )), then 4 more per gateway restart"
echo

# ---- Isthmus ---------------------------------------------------------------------------------------------------
mkdir -p "$work/gateway"
# Peering is mutual TLS only, so even a lone gateway starts with its certificate from a clusterset CA.
"$java_bin" -jar "$gateway_jar" mesh init --ca "$work/ca" >/dev/null
"$java_bin" -jar "$gateway_jar" mesh issue --ca "$work/ca" --cluster bench --out "$work/gateway/data/tls" >/dev/null
start_gateway() { # first-port: writes gateway.conf with 4 ports from there (data dir kept), starts, waits for /readyz;
                  # returns non-zero (having shown the log's tail) when the gateway exits or is not ready in 120 s
  local first=$1 log
  admin_port=$first; peering_port=$(( first + 1 )); gw_dns_port=$(( first + 2 )); replicas_port=$(( first + 3 ))
  admin="http://127.0.0.1:$admin_port"
  cat > "$work/gateway/gateway.conf" <<EOF
isthmus {
  cluster-id = "bench"
  data-dir = "$work/gateway/data"
  admin.port = $admin_port
  admin.auth.enabled = off  # a benchmark on loopback; auth costs are not what it measures
  peering.port = $peering_port
  dns.port = $gw_dns_port
  replicas.port = $replicas_port
}
EOF
  log="$work/gateway/gateway-$first.log"
  setsid "$java_bin" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -jar "$gateway_jar" gateway --config "$work/gateway/gateway.conf" >"$log" 2>&1 &
  gateway_pid=$!
  pids+=("$gateway_pid")
  for _ in $(seq 1 240); do
    if ! kill -0 "$gateway_pid" 2>/dev/null; then
      tail -5 "$log" >&2; echo "bench-dns: the gateway exited while starting (log: $log)" >&2
      return 1
    fi
    curl -sf -o /dev/null --max-time 2 "$admin/readyz" 2>/dev/null && return 0
    sleep 0.5
  done
  tail -5 "$log" >&2; echo "bench-dns: the gateway was not ready within 120 s (log: $log)" >&2
  return 1
}
directory_size() { curl -sf --max-time 5 "$admin/metrics" | awk '$1 == "isthmus_directory_services" {print $2}' || true; }

echo "starting the gateway ..."
start_gateway "$base" || fail "the gateway did not start"
heap_0=$(heap_used_kb "$gateway_pid")
echo "  ready (pid $gateway_pid); heap in use after GC with 0 services: $(( heap_0 / 1024 )) MiB"

echo "exporting $services services through $admin/api/v1/exports (8 in flight, HTTP/1.1) ..."
bench export --admin "$admin" --from 1 --to "$services" --parallel 8 || fail "exporting to the gateway failed"
wait_answer "$gw_dns_port" "$services" 60 || fail "the gateway's DNS did not answer svc-$services within 60 s"
echo "  DNS answers svc-$services"

# ---- NSD -------------------------------------------------------------------------------------------------------
mkdir -p "$work/nsd"
bench zone-file --out "$work/nsd/clusterset.local.zone" --count "$services" --ttl 5
cat > "$work/nsd/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$nsd_port
    port: $nsd_port
    server-count: 2
    reuseport: yes
    username: ""
    chroot: ""
    zonesdir: "$work/nsd"
    database: ""
    zonelistfile: "$work/nsd/zone.list"
    xfrdfile: "$work/nsd/xfrd.state"
    xfrdir: "$work/nsd"
    pidfile: "$work/nsd/nsd.pid"
    logfile: "$work/nsd/nsd.log"
    hide-version: yes
    minimal-responses: yes
    refuse-any: yes
    # Response rate limiting (on by default in Debian's build, 200 qps per /24) would throttle a benchmark.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "clusterset.local"
    zonefile: "clusterset.local.zone"
EOF
nsd-checkconf "$work/nsd/nsd.conf" || fail "nsd-checkconf rejected $work/nsd/nsd.conf"
echo "starting nsd on 127.0.0.1:$nsd_port ..."
setsid nsd -d -c "$work/nsd/nsd.conf" >"$work/nsd/stdout.log" 2>&1 &
nsd_pid=$!
pids+=("$nsd_pid")
if ! wait_answer "$nsd_port" "$services" 30; then
  cat "$work/nsd/stdout.log" "$work/nsd/nsd.log" 2>/dev/null | tail -20 >&2
  fail "nsd did not answer svc-$services within 30 s"
fi
# Both servers must give the same answers, or the comparison means nothing.
for name in svc-1 "svc-$(( (services + 1) / 2 ))" "svc-$services" nx-1 nx-2; do
  fqdn="$name.bench.svc.clusterset.local"
  a="$(dig +noall +answer +comments +time=2 @127.0.0.1 -p "$gw_dns_port" "$fqdn" A | grep -E 'status:|IN[[:space:]]+A' | sed -E 's/id: [0-9]+//' || true)"
  b="$(dig +noall +answer +comments +time=2 @127.0.0.1 -p "$nsd_port" "$fqdn" A | grep -E 'status:|IN[[:space:]]+A' | sed -E 's/id: [0-9]+//' || true)"
  [[ -n "$a" ]] || fail "the gateway did not answer $fqdn"
  [[ "$a" == "$b" ]] || fail "isthmus and nsd answer $fqdn differently: [$a] vs [$b]"
done
echo "  nsd answers the same as the gateway (checked svc-1, svc-$(( (services + 1) / 2 )), svc-$services, nx-1, nx-2)"

# ---- dnsperf ---------------------------------------------------------------------------------------------------
queries="$work/queries.txt"
bench query-file --out "$queries" --count "$services" --missing-percent "$missing_percent" --seed 42
port_of() { [[ "$1" == isthmus ]] && echo "$gw_dns_port" || echo "$nsd_port"; }
clk_tck=$(getconf CLK_TCK)
group_cpu_ticks() { # pgid: user+system clock ticks used so far by the processes in that group (all threads)
  # utime + stime of the live ones, plus cutime + cstime: what their children that already exited used.
  local pid
  for pid in $(pgrep -g "$1"); do cat "/proc/$pid/stat" 2>/dev/null || true; done \
    | awk '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}
declare -A cpu_ticks=() answered=() seconds=() client_cpu=()
reset_cpu() { cpu_ticks=(); answered=(); seconds=(); client_cpu=(); }
run_dnsperf() { # server output-file extra-args...: one measured run, with the CPU the server and dnsperf used
  local server="$1" out="$2" pgid before after TIMEFORMAT='%3R %3U %3S' completed qps run_s
  shift 2
  [[ "$server" == isthmus ]] && pgid=$gateway_pid || pgid=$nsd_pid
  before=$(group_cpu_ticks "$pgid")
  { time dnsperf "${dnsperf_args[@]}" -p "$(port_of "$server")" -d "$queries" -v "$@" >"$out" 2>&1 ; } 2>"$out.time" \
    || { tail -5 "$out" >&2; fail "dnsperf against $server failed"; }
  after=$(group_cpu_ticks "$pgid")
  grep -q 'Queries per second' "$out" || { tail -5 "$out" >&2; fail "dnsperf against $server printed no statistics"; }
  completed=$(awk '/Queries completed:/ {print $3}' "$out")
  qps=$(awk '/Queries per second/ {printf "%.0f", $4}' "$out")
  run_s=$(awk '/Run time \(s\):/ {print $4}' "$out")   # the load; dnsperf then waits <= 1 s (-t) for stragglers
  cpu_ticks[$server]=$(( ${cpu_ticks[$server]:-0} + after - before ))
  answered[$server]=$(( ${answered[$server]:-0} + completed ))
  seconds[$server]=$(awk -v a="${seconds[$server]:-0}" -v b="$run_s" 'BEGIN {print a + b}')
  client_cpu[$server]=$(awk -v a="${client_cpu[$server]:-0}" '{print a + $2 + $3}' "$out.time")
  awk -v s="$server" -v q="$qps" -v t=$(( after - before )) -v hz="$clk_tck" -v n="$completed" -v r="$run_s" \
    '{ printf "  %-8s %7d qps; server CPU %.2f cores (%.1f us per answer); dnsperf CPU %.2f cores\n",
       s, q, t / hz / r, (n > 0 ? t / hz * 1e6 / n : 0), ($2 + $3) / r }' "$out.time"
}
print_cpu() { # one line per server: the CPU it used per answered query over the phase, and how busy it was
  local server
  for server in isthmus nsd; do
    awk -v s="$server" -v t="${cpu_ticks[$server]:-0}" -v hz="$clk_tck" -v n="${answered[$server]:-0}" \
      -v r="${seconds[$server]:-1}" -v c="${client_cpu[$server]:-0}" \
      'BEGIN { printf "  %-10s server CPU %.1f us per answer, %.2f of %d cores busy; dnsperf %.2f cores\n",
               s, (n > 0 ? t / hz * 1e6 / n : 0), t / hz / r, '"$(nproc)"', c / r }'
  done
}

echo
echo "warm-up: ${warmup} s per server, not counted"
for server in isthmus nsd; do
  dnsperf -s 127.0.0.1 -p "$(port_of "$server")" -d "$queries" -c "$clients" -T "$threads" -q "$outstanding" \
    -l "$warmup" >/dev/null 2>&1 || fail "dnsperf warm-up against $server failed"
done

echo "phase 1 (peak): $rounds runs of ${duration} s per server, alternating which goes first"
reset_cpu
peak_files_isthmus=(); peak_files_nsd=()
for (( round = 1; round <= rounds; round++ )); do
  if (( round % 2 == 1 )); then order=(isthmus nsd); else order=(nsd isthmus); fi
  for server in "${order[@]}"; do
    out="$work/peak-$server-$round.out"
    run_dnsperf "$server" "$out"
    if [[ "$server" == isthmus ]]; then peak_files_isthmus+=("$out"); else peak_files_nsd+=("$out"); fi
  done
done
echo
bench report --title "PHASE 1 — peak: dnsperf ${dnsperf_args[*]} ($rounds runs per server)" \
  --server isthmus "${peak_files_isthmus[@]}" --server nsd "${peak_files_nsd[@]}" --qps-file "$work/peak.qps"
print_cpu
isthmus_peak=$(awk '$1 == "isthmus" {print $2}' "$work/peak.qps")
half=$(( isthmus_peak / 2 ))
(( half >= 1 )) || fail "the gateway answered no queries in phase 1"

echo
echo "phase 2 (fixed rate): dnsperf -Q $half (half of Isthmus's peak), ${duration} s per server"
reset_cpu
run_dnsperf nsd "$work/rate-nsd.out" -Q "$half"
run_dnsperf isthmus "$work/rate-isthmus.out" -Q "$half"
echo
bench report --title "PHASE 2 — at half of Isthmus's peak: dnsperf ${dnsperf_args[*]} -Q $half" \
  --server isthmus "$work/rate-isthmus.out" --server nsd "$work/rate-nsd.out" --qps-file "$work/rate.qps"
print_cpu
isthmus_p99_rate=$(awk '$1 == "isthmus" {print $3}' "$work/rate.qps")
nsd_p99_rate=$(awk '$1 == "nsd" {print $3}' "$work/rate.qps")
echo "  target (issue 4): p99 <= 1 ms at half of peak; isthmus p99 $isthmus_p99_rate ms, nsd p99 $nsd_p99_rate ms"
$keep || rm -f "$work"/peak-*.out "$work"/rate-*.out   # up to a few hundred MB of per-query lines

# ---- heap per 10,000 services ----------------------------------------------------------------------------------
# Each heap figure is taken in a freshly started gateway (0 services; then restarted on its journal with N
# services), ready and answering DNS, after two full GCs: the same conditions at every point, so the difference is
# what the services cost and not what exporting them left behind (caches, one-time initialisation, and the backlog
# of directory rebuilds, see the README).
restart_gateway() { # stop the gateway, start it again on its journal on fresh ports, wait until it answers svc-$1
  kill -TERM -- "-$gateway_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$gateway_pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$gateway_pid" 2>/dev/null || true
  wait "$gateway_pid" 2>/dev/null || true
  local attempt started=false count
  for attempt in 1 2 3; do   # on a loaded machine, recovering the journal can outlast the gateway's start-up ask
    if start_gateway "$(pick_ports 4)"; then started=true; break; fi
    echo "  (start attempt $attempt failed; trying again)"
  done
  $started || fail "the gateway did not start again on its journal"
  wait_answer "$gw_dns_port" "$1" 120 || fail "the restarted gateway's DNS did not answer svc-$1 within 120 s"
  count=$(directory_size)
  [[ "$count" == "$1" ]] || fail "the restarted gateway serves ${count:-?} services, expected $1"
}
echo
kill -TERM -- "-$nsd_pid" 2>/dev/null || true   # nothing more to ask nsd; the rest needs the CPU
echo "heap: restarting the gateway on its journal with $services services ..."
restart_gateway "$services"
heap_1=$(heap_used_kb "$gateway_pid")
lag=""
if (( heap_services > services )); then
  echo "heap: exporting svc-$(( services + 1 ))..svc-$heap_services ..."
  bench export --admin "$admin" --from $(( services + 1 )) --to "$heap_services" --parallel 8 \
    || fail "exporting to the gateway failed"
  lag=$(directory_size)
  echo "  when the last export was acknowledged, the DNS directory held ${lag:-?} of $heap_services services"
  echo "heap: restarting the gateway on its journal with $heap_services services ..."
  restart_gateway "$heap_services"
  heap_n=$(heap_used_kb "$gateway_pid")
else
  heap_n=$heap_1
fi
echo
echo "HEAP — gateway heap in use after two full GCs (jcmd GC.run, then GC.heap_info 'used'), each in a fresh JVM"
printf '  %-50s %12s\n' "services" "heap in use"
mib() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }
printf '  %-50s %8s MiB\n' "0 (started empty, ready)" "$(mib "$heap_0")"
printf '  %-50s %8s MiB\n' "$services (restarted on the journal, DNS answering)" "$(mib "$heap_1")"
printf '  %-50s %8s MiB\n' "$heap_services (restarted on the journal, DNS answering)" "$(mib "$heap_n")"
per_10k=$(awk -v a="$heap_0" -v b="$heap_n" -v n="$heap_services" 'BEGIN {printf "%.1f", (b - a) * 10000 / n / 1024}')
printf '  heap per 10,000 services: %s MiB (0 -> %d services)' "$per_10k" "$heap_services"
if (( heap_services > services )); then
  marginal=$(awk -v a="$heap_1" -v b="$heap_n" -v n="$(( heap_services - services ))" \
    'BEGIN {printf "%.1f", (b - a) * 10000 / n / 1024}')
  printf '; %s MiB from %d -> %d services' "$marginal" "$services" "$heap_services"
fi
printf '\n'
echo
echo "done: $(date -u '+%F %T UTC')"
