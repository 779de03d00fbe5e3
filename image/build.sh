#!/usr/bin/env bash
# Builds the Isthmus container image as an OCI archive, with no container engine and no base image pulled:
#   1. a minimal Debian rootfs (mmdebstrap --variant=extract of image/packages.txt from the machine's Debian mirror:
#      libc, libbpf for XDP; no shell, no dpkg, no apt), cached under ~/.cache/isthmus/rootfs keyed by that list;
#   2. a Java 25 runtime made by jlink with the modules jdeps finds in the gateway jar plus image/extra-modules.txt,
#      cached under ~/.cache/isthmus/jre keyed by the module list and the JDK's version;
#   3. the gateway jar and the isthmus-ipam CNI plugin.
# Each part is one reproducible layer (sorted, fixed mtime, uid 0, gzip -n). The OCI layout goes to
# target/image/oci, its archive to target/image/isthmus.oci.tar, the manifest digest to target/image/digest, and the
# digest into the images: entries of k8s/deploy and k8s/deploy/join.
# Usage: image/build.sh [--no-manifests]   (needs root for mmdebstrap, or a cached rootfs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/java-env.sh"
write_manifests=1
[[ "${1:-}" == "--no-manifests" ]] && write_manifests=0
cache="${ISTHMUS_CACHE:-$HOME/.cache/isthmus}"
out="$here/target/image"
jar="$here/gateway/target/isthmus.jar"
plugin="$here/ipam-actors/target/classes/io/isthmus/ipam/cni/isthmus-ipam"
suite=bookworm
mirror="${ISTHMUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
uid=65532
for tool in zip unzip; do
  command -v "$tool" >/dev/null || { echo "image: $tool is missing: apt-get install $tool" >&2; exit 1; }
done
for f in "$jar" "$plugin"; do
  [[ -f "$f" ]] || { echo "image: $f is missing: build first (./mvnw -q -B -DskipTests -pl gateway -am package)" >&2; exit 1; }
done
# Layer mtimes: the commit's time, so the same sources give the same layers.
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$here" log -1 --format=%ct 2>/dev/null || echo 0)}"
started=$(date +%s)

# A reproducible gzipped tar of directory $1 into $2; prints "diff_id blob_digest size".
layer() {
  local dir="$1" target="$2"
  tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --format=posix \
      --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$dir" -cf "$target.tar" .
  local diff; diff=$(sha256sum "$target.tar" | cut -d' ' -f1)
  gzip -n -6 -c "$target.tar" > "$target"
  rm -f "$target.tar"
  echo "$diff $(sha256sum "$target" | cut -d' ' -f1) $(stat -c %s "$target")"
}

# ---- 1. the Debian rootfs ----
packages=$(grep -v '^\s*#' "$here/image/packages.txt" | xargs | tr ' ' ',')
rootfs_key=$(printf 'v1 %s %s %s\n' "$suite" "$mirror" "$packages" | sha256sum | cut -c1-16)
rootfs_dir="$cache/rootfs/$rootfs_key"
if [[ ! -f "$rootfs_dir/done" ]]; then
  command -v mmdebstrap >/dev/null || { echo "image: mmdebstrap is missing: apt-get install mmdebstrap" >&2; exit 1; }
  echo "image: making the Debian rootfs ($packages from $mirror $suite)..." >&2
  rm -rf "$rootfs_dir"; mkdir -p "$rootfs_dir"
  mmdebstrap --quiet --variant=extract --mode=root --format=directory --include="$packages" \
    --skip=cleanup/apt/cache "$suite" "$rootfs_dir/root" "$mirror" >&2
  r="$rootfs_dir/root"
  # What went in, for the record (name_version_arch of each .deb).
  (cd "$r/var/cache/apt/archives" && ls -1 *.deb | sed 's/\.deb$//') > "$rootfs_dir/packages.lock"
  # Nothing but the libraries: no docs, locales, iconv modules, apt or dpkg state, device nodes.
  rm -rf "$r"/dev/* "$r/var" "$r/etc/apt" "$r/etc/dpkg" "$r/usr/share/doc" "$r/usr/share/locale" \
    "$r/usr/share/lintian" "$r/usr/share/man" "$r/usr/lib/x86_64-linux-gnu/gconv"
  mkdir -p "$r/tmp" "$r/var/lib/isthmus" "$r/etc/isthmus" "$r/home/nonroot"
  chmod 1777 "$r/tmp"
  ldconfig -r "$r" 2>/dev/null || true
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:%s:%s:isthmus:/home/nonroot:/usr/sbin/nologin\n' $uid $uid > "$r/etc/passwd"
  printf 'root:x:0:\nnonroot:x:%s:\n' $uid > "$r/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$r/etc/nsswitch.conf"
  touch "$rootfs_dir/done"
fi

# ---- 2. the Java runtime ----
# jdeps reads every class (half a minute): its answer is kept per jar.
jar_sum=$(sha256sum "$jar" | cut -c1-16)
jdeps_cache="$cache/jdeps/$jar_sum"
if [[ ! -f "$jdeps_cache" ]]; then
  mkdir -p "$cache/jdeps"
  jdeps --ignore-missing-deps --print-module-deps --multi-release 25 "$jar" > "$jdeps_cache.tmp"
  mv "$jdeps_cache.tmp" "$jdeps_cache"
fi
modules=$( { tr ',' '\n' < "$jdeps_cache";
            grep -v '^\s*#' "$here/image/extra-modules.txt" | awk '{print $1}'; } | grep . | sort -u | xargs | tr ' ' ',')
java_version=$("$JAVA_HOME/bin/java" -version 2>&1 | head -2 | tr '\n' ' ')
jre_key=$(printf 'v1 %s %s\n' "$java_version" "$modules" | sha256sum | cut -c1-16)
jre_dir="$cache/jre/$jre_key"
if [[ ! -f "$jre_dir/done" ]]; then
  echo "image: jlink $modules..." >&2
  rm -rf "$jre_dir"; mkdir -p "$jre_dir/root/opt"
  "$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress zip-6 --output "$jre_dir/root/opt/java" >&2
  echo "$modules" > "$jre_dir/modules"
  touch "$jre_dir/done"
fi

# ---- 3. the application ----
work="$out/work"
rm -rf "$out"; mkdir -p "$work/app/opt/isthmus" "$out/oci/blobs/sha256"
cp "$jar" "$work/app/opt/isthmus/isthmus.jar"
# The image is linux/amd64: the native libraries the dependencies carry for other systems and processors (netty's
# tcnative for Windows, macOS and aarch64, jffi's, lz4's and lmdbjava's) only take room, about 6 MB compressed.
unzip -Z1 "$work/app/opt/isthmus/isthmus.jar" | grep -E \
    -e '^META-INF/native/.*(windows|osx|aarch_64)' \
    -e '^jni/[^/]+/.' \
    -e '^net/jpountz/util/(darwin|win32|linux/(aarch64|i386|ppc64le|s390x))/.' \
    -e '^org/lmdbjava/.*(macos|windows|aarch64)' \
  | grep -v '^jni/x86_64-Linux/' > "$work/foreign-natives" || true
if [[ -s "$work/foreign-natives" ]]; then
  zip -q -d "$work/app/opt/isthmus/isthmus.jar" -@ < "$work/foreign-natives"
fi
app_bytes=$(du -sb "$work/app" | cut -f1)
install -m 0755 "$plugin" "$work/app/opt/isthmus/isthmus-ipam"
chmod 0644 "$work/app/opt/isthmus/isthmus.jar"

diff_ids=(); layers=()
for part in "$rootfs_dir/root" "$jre_dir/root" "$work/app"; do
  read -r diff blob size < <(layer "$part" "$work/layer.gz")
  mv "$work/layer.gz" "$out/oci/blobs/sha256/$blob"
  diff_ids+=("\"sha256:$diff\"")
  layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$blob\",\"size\":$size}")
done
join() { local IFS=,; echo "$*"; }

created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
entrypoint='["/opt/java/bin/java","-XX:+UseG1GC","-XX:-UsePerfData","--enable-native-access=ALL-UNNAMED","--sun-misc-unsafe-memory-access=allow","-jar","/opt/isthmus/isthmus.jar"]'
config=$(printf '{"created":"%s","architecture":"amd64","os":"linux","config":{"User":"%s:%s","Entrypoint":%s,"Cmd":["--help"],"Env":["PATH=/opt/java/bin","JAVA_HOME=/opt/java","HOME=/home/nonroot"],"WorkingDir":"/var/lib/isthmus","Labels":{"org.opencontainers.image.title":"isthmus","org.opencontainers.image.source":"isthmus"}},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
  "$created" $uid $uid "$entrypoint" "$(join "${diff_ids[@]}")")
printf '%s' "$config" > "$work/config.json"
config_digest=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$out/oci/blobs/sha256/$config_digest"
manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$config_digest" ${#config} "$(join "${layers[@]}")")
printf '%s' "$manifest" > "$work/manifest.json"
digest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
msize=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$out/oci/blobs/sha256/$digest"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"isthmus"}}]}' \
  "$digest" "$msize" > "$out/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci/oci-layout"
rm -rf "$work"
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -C "$out/oci" -cf "$out/isthmus.oci.tar" .
echo "sha256:$digest" > "$out/digest"

if ((write_manifests)); then
  for k in "$here/k8s/deploy/kustomization.yaml" "$here/k8s/deploy/join/kustomization.yaml"; do
    # the line after newName: in the images: entry is the digest (written here, not by hand)
    sed -i -E "s/^(    )(newTag|digest): .*/\1digest: sha256:$digest   # written by image\/build.sh/" "$k"
  done
fi

compressed=$(du -cb "$out"/oci/blobs/sha256/* | tail -1 | cut -f1)
unpacked=$(( $(du -sb "$rootfs_dir/root" | cut -f1) + $(du -sb "$jre_dir/root" | cut -f1) + app_bytes ))
echo "image: $out/isthmus.oci.tar (oci-archive:$out/isthmus.oci.tar:isthmus)" >&2
echo "image: size $((compressed / 1000000)) MB compressed, $((unpacked / 1000000)) MB unpacked; modules $modules" >&2
echo "image: built in $(( $(date +%s) - started )) s" >&2
echo "sha256:$digest"
