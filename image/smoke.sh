#!/usr/bin/env bash
# Runs the built image (target/image/isthmus.oci.tar) under podman in a network namespace of its own and checks
# that it is what image/README.md says: the entrypoint and user from its config, a gateway as uid 65532 on a
# read-only root that answers /readyz and the clusterset.local SOA over DNS; prints the image's size. Everything
# it makes (the namespace, podman's storage, the gateway's data) is its own and removed at the end.
# Usage: image/smoke.sh   (as root; after image/build.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/java-env.sh"
archive="$here/target/image/isthmus.oci.tar"
fail() { echo "image smoke: $*" >&2; exit 1; }
[[ -f "$archive" ]] || fail "$archive is missing: run image/build.sh first"
[[ $(id -u) == 0 ]] || fail "needs root (a network namespace, and podman's storage)"
for tool in podman skopeo dig curl jq unshare; do
  command -v "$tool" >/dev/null || fail "needs $tool (scripts/test installs podman, skopeo, bind9-dnsutils, curl, jq)"
done

work=$(mktemp -d /tmp/isthmus-image-smoke.XXXXXX)
netns="isimg-$$"
container="isthmus-smoke-$$"
cleanup() {
  pm rm -f -t 5 "$container" >/dev/null 2>&1 || true
  ip netns del "$netns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# podman here: this machine's hybrid cgroups (a cgroup2 mount beside the v1 controllers) make crun 1.8 refuse to
# start, so podman runs in a private mount namespace without that mount, with cgroups off (image/README.md).
pm() {
  unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec podman "$@"' podman \
    --root "$work/storage" --runroot "$work/run" --storage-driver vfs --cgroup-manager cgroupfs \
    --events-backend none "$@"
}

# ---- what the image says it is -------------------------------------------------------------------------------
config=$(skopeo inspect --config "oci-archive:$archive:isthmus")
user=$(jq -r '.config.User' <<<"$config")
entrypoint=$(jq -r '.config.Entrypoint | join(" ")' <<<"$config")
[[ "$user" == "65532:65532" ]] || fail "the image's user is '$user', not 65532:65532"
[[ "$entrypoint" == /opt/java/bin/java*"-jar /opt/isthmus/isthmus.jar" ]] \
  || fail "the image's entrypoint is '$entrypoint', not /opt/java/bin/java ... -jar /opt/isthmus/isthmus.jar"
compressed=$(skopeo inspect --raw "oci-archive:$archive:isthmus" | jq '[.layers[].size] | add')
echo "image: $(cat "$here/target/image/digest"), $(awk -v b="$compressed" 'BEGIN {printf "%.1f", b / 1e6}') MB compressed (goal 150 MB), user $user"

# ---- a gateway from it, in a namespace of its own --------------------------------------------------------------
ip netns add "$netns"
ip -n "$netns" link set lo up
cli() { "$JAVA_HOME/bin/java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$here/gateway/target/isthmus.jar" "$@"; }
mkdir -p "$work/data/tls" "$work/etc"
cli mesh init --ca "$work/ca" >/dev/null
cli mesh issue --ca "$work/ca" --cluster smoke --out "$work/data/tls" >/dev/null
cat > "$work/etc/gateway.conf" <<CONF
isthmus {
  cluster-id = smoke
  data-dir = "/var/lib/isthmus"
  admin.port = 7070
  peering.port = 7071
  dns.port = 5353
  replicas.port = 7073
}
CONF
chown -R 65532:65532 "$work/data"
pm load -q -i "$archive" >/dev/null
started=$(date +%s%3N)
pm run -d --name "$container" --cgroups disabled --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
  --network "ns:/run/netns/$netns" --read-only --tmpfs /tmp \
  -v "$work/etc:/etc/isthmus:ro" -v "$work/data:/var/lib/isthmus" \
  -e JAVA_TOOL_OPTIONS=-Xmx256m isthmus gateway --config /etc/isthmus/gateway.conf >/dev/null
ready=""
for _ in $(seq 1 120); do
  if ip netns exec "$netns" curl -fsS -o /dev/null "http://127.0.0.1:7070/readyz" 2>/dev/null; then
    ready=$(( $(date +%s%3N) - started )); break
  fi
  [[ "$(pm inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" == true ]] \
    || { pm logs "$container" 2>&1 | tail -30 >&2; fail "the gateway in the image exited before it was ready"; }
  sleep 0.5
done
[[ -n "$ready" ]] || { pm logs "$container" 2>&1 | tail -30 >&2; fail "the gateway in the image was not ready within 60 s"; }
soa=$(ip netns exec "$netns" dig +short +time=2 +tries=3 -p 5353 @127.0.0.1 clusterset.local SOA)
[[ -n "$soa" ]] || fail "the gateway in the image did not answer the clusterset.local SOA"
uid=$(awk '$1 == "Uid:" {print $2}' "/proc/$(pm inspect -f '{{.State.Pid}}' "$container")/status")
[[ "$uid" == 65532 ]] || fail "the gateway runs as uid $uid, not 65532"
echo "image: the gateway answered /readyz $(awk -v ms="$ready" 'BEGIN {printf "%.1f", ms / 1000}') s after podman run, as uid $uid on a read-only root; clusterset.local SOA: $soa"
