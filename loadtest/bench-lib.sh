# Sourced by the benchmark scripts: a scratch directory, a cleanup that stops every process the script started
# (their process groups: TERM, then KILL after a grace time), and free loopback ports.
# The caller sets `keep` (true: leave the scratch directory) and defines `fail`.

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
