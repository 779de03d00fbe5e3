# Sourced by the benchmark scripts: a scratch directory, a cleanup that stops every process the script started
# (their process groups: TERM, then KILL after a grace time), and free loopback ports.
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
    tail -5 "$log" >&2
    if (( attempt < 3 )); then
      echo "build failed; the sources may be mid-edit, retrying in 60 s" >&2
      sleep 60
    fi
  done
  if ! $built; then
    bench_jars_present || fail "the build failed 3 times (see $log)"
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
