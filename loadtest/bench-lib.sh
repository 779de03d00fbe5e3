# Sourced by the benchmark scripts: a scratch directory, a cleanup that stops every process the script started
# (their process groups: TERM, then KILL after a grace time), free loopback ports, the builds (jars; test classpaths)
# and one gateway with an IP pool.
# The caller sets `root`, `build` (auto | missing) and `keep` (true: leave the scratch directory), and defines `fail`.

# bench_scratch NAME GRACE_TENTHS: makes $work (on tmpfs when there is one: journals and per-query output stay off
# the disk) and installs the cleanup; processes the script starts go into the pids array.
bench_scratch() {
  local scratch_parent=/tmp
  [[ -d /dev/shm && -w /dev/shm ]] && scratch_parent=/dev/shm
  work="$(mktemp -d "$scratch_parent/isthmus-bench-$1.XXXXXX")"
  bench_grace_tenths=$2
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 "$bench_grace_tenths"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if $keep; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}

port_free() { # TCP and UDP on 127.0.0.1
  [[ -z "$(ss -Htuan "( sport = :$1 )" 2>/dev/null)" ]]
}

pick_ports() { # $1 how many consecutive free ports; prints the first
  local base i ok
  for _ in $(seq 1 50); do
    base=$(( 20000 + RANDOM % 30000 ))
    ok=true
    for (( i = 0; i < $1; i++ )); do port_free $(( base + i )) || { ok=false; break; }; done
    $ok && { echo "$base"; return 0; }
  done
  fail "found no $1 free consecutive ports on 127.0.0.1"
}

# bench_build NAME: sets gateway_jar and bench_jar, building both (gateway, loadtest and what they use) when one is
# missing, or (with build=auto) older than its sources; stale_jars says whether what is measured is older than the
# sources. Others may be editing the tree: a failed build is retried twice, a minute apart, then the existing jars
# are measured with a warning (or the script fails when there are none).
bench_build() {
  local log="${TMPDIR:-/tmp}/bench-$1-build.log" built=false attempt
  gateway_jar="$root/gateway/target/isthmus.jar"
  bench_jar="$root/loadtest/target/isthmus-loadtest.jar"
  stale_jars=false
  if ! bench_jars_present || bench_newer_than "$gateway_jar" "$root/api" "$root/fastpath" "$root/dns" "$root/gateway"      || bench_newer_than "$bench_jar" "$root/api" "$root/loadtest"; then
    stale_jars=true
  fi
  if bench_jars_present && ! { [[ $build == auto ]] && $stale_jars; }; then
    return 0
  fi
  for attempt in 1 2 3; do
    echo "building the gateway and loadtest jars (attempt $attempt) ..." >&2
    if (cd "$root" && ./mvnw -B -q -DskipTests -pl gateway,loadtest -am package) >"$log" 2>&1; then
      built=true; stale_jars=false; break
    fi
    bench_show_maven_errors "$log"
    if (( attempt < 3 )); then
      echo "build failed; the sources may be mid-edit, retrying in 60 s" >&2
      sleep 60
    fi
  done
  if ! $built; then
    bench_jars_present || fail "the build failed 3 times (Maven's whole output: $log)"
    echo "WARNING: the build failed; measuring the existing jars, built $(date -r "$gateway_jar" '+%F %T')" >&2
  fi
}

bench_jars_present() { # the loadtest jar lists its libraries in target/lib
  [[ -f "$gateway_jar" && -f "$bench_jar" && -d "$root/loadtest/target/lib" ]]
}

bench_newer_than() { # jar dir...: some main source or pom under the dirs (or the root pom) is newer than the jar
  local jar=$1; shift
  [[ -n "$(find "$@" \( -path '*/src/main/*' -o -name pom.xml \) -newer "$jar" -not -path '*/target/*' -print -quit)" ]] \
    || [[ "$root/pom.xml" -nt "$jar" ]]
}

bench_show_maven_errors() { # log: Maven's error lines (or the log's tail when it has none) on stderr
  grep -E '^\[(ERROR|FATAL)\]' "$1" | head -40 >&2 || tail -40 "$1" >&2
}

# bench_module_classpath MODULE compile|test: compiles MODULE and the modules it uses (with test classes for
# "test") in ONE reactor, so isthmus-api, isthmus-testing and the rest resolve to their fresh target/classes: nothing
# is installed, and a fresh clone has none of our modules in the local Maven repository. Writes the classpath of
# that scope (libraries and our modules' classes) to MODULE/target/bench-classpath-SCOPE.txt and sets
# bench_classpath. With build=missing, an existing classpath file and classes are used without Maven. A failed
# build shows Maven's errors and fails.
bench_module_classpath() {
  local module=$1 scope=$2 phase=compile log="${TMPDIR:-/tmp}/bench-$1-$2-build.log"
  local file="$root/$module/target/bench-classpath-$scope.txt"
  [[ $scope == test ]] && phase=test-compile
  if ! [[ ${build:-auto} == missing && -s "$file" && -d "$root/$module/target/classes" ]]; then
    echo "building $module and the modules it uses ($phase) ..." >&2
    if ! (cd "$root" && ./mvnw -B -ntp -q -pl "$module" -am "$phase" \
            org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -Dmdep.includeScope="$scope" \
            -Dmdep.outputFile="target/bench-classpath-$scope.txt") >"$log" 2>&1; then
      bench_show_maven_errors "$log"
      fail "the build of $module failed (Maven's whole output: $log)"
    fi
  fi
  bench_classpath="$root/$module/target/classes:$(cat "$file")"
  [[ $scope == test ]] && bench_classpath="$root/$module/target/test-classes:$bench_classpath"
  return 0
}

# bench_cli ARGS...: the isthmus command line from the built gateway jar (a short JVM: C1 only, a small heap).
bench_cli() {
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx256m -jar "$gateway_jar" "$@"
}

# bench_gateway [CONFIG-LINES]: starts one gateway (cluster "bench") from $gateway_jar (call bench_build and
# bench_scratch first) in $work/gateway: its own clusterset CA ($work/gateway/ca) and certificate, an H2 journal, four
# free loopback ports (admin, peering, DNS, replicas), admin auth off, and CONFIG-LINES inside `isthmus { }`. Waits
# until /readyz answers (120 s). Sets admin_url, gateway_pid and gateway_ca; the gateway stops with the script.
# bench_gateway_launch and bench_gateway_ready are its two halves, for work to do while the JVM starts.
bench_gateway() {
  bench_gateway_launch "${1:-}"
  bench_gateway_ready
}

bench_gateway_launch() {
  local extra=${1:-} dir="$work/gateway" port
  port=$(pick_ports 4)
  mkdir -p "$dir"
  bench_cli mesh init --ca "$dir/ca" >/dev/null || fail "isthmus mesh init failed"
  bench_cli mesh issue --ca "$dir/ca" --cluster bench --out "$dir/data/tls" >/dev/null || fail "isthmus mesh issue failed"
  gateway_ca="$dir/ca"
  cat > "$dir/gateway.conf" <<CONF
isthmus {
  cluster-id = bench
  data-dir = "$dir/data"
  admin.port = $port
  admin.auth.enabled = off  # a benchmark on loopback; auth costs are not what it measures
  peering.port = $((port + 1))
  dns.port = $((port + 2))
  replicas.port = $((port + 3))
$extra
}
CONF
  setsid "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx1g \
    -jar "$gateway_jar" gateway --config "$dir/gateway.conf" >"$dir/gateway.log" 2>&1 &
  gateway_pid=$!
  pids+=("$gateway_pid")
  admin_url="http://127.0.0.1:$port"
}

bench_gateway_ready() {
  local ready=false dir="$work/gateway"
  for _ in $(seq 1 240); do
    kill -0 "$gateway_pid" 2>/dev/null || break
    curl -fs --max-time 2 "$admin_url/readyz" >/dev/null 2>&1 && { ready=true; break; }
    sleep 0.5
  done
  $ready || { tail -20 "$dir/gateway.log" >&2; fail "the gateway did not become ready within 120 s (log: $dir/gateway.log)"; }
}

# bench_gateway_with_pool POOL: bench_gateway with an address plan; claims an underlay segment of 10.77.0.0/16 and
# creates pool POOL (10.77.0.0/21, gateway 10.77.0.1); the CNI socket is $work/gateway/data/ipam.sock.
bench_gateway_with_pool() {
  local pool=$1
  bench_gateway '  plan { members = [bench], supernets.underlay = [{cidr = "10.77.0.0/16", segment-prefix = 20}] }
  ipam.cni-socket = "ipam.sock"'
  bench_cli ipam claim --admin "$admin_url" --kind underlay >/dev/null || fail "isthmus ipam claim failed"
  bench_cli ipam create-pool --admin "$admin_url" --name "$pool" --cidr 10.77.0.0/21 --gateway 10.77.0.1 >/dev/null \
    || fail "isthmus ipam create-pool $pool failed"
}

# bench_target_or_own_gateway POOL: with $target empty, starts a gateway of our own with POOL
# (bench_gateway_with_pool) and sets target to its admin URL; else checks that $target answers /readyz.
bench_target_or_own_gateway() {
  local pool=$1
  if [[ -z "$target" ]]; then
    bench_gateway_with_pool "$pool"
    target="$admin_url"
    echo "gateway: pid $gateway_pid at $target, pool $pool 10.77.0.0/21 (H2 journal in $work/gateway)" >&2
  else
    curl -fs --max-time 5 "${target%/}/readyz" >/dev/null || fail "the target $target does not answer /readyz"
  fi
}
