#!/bin/sh
# Compiles the XDP program for the fastpath jar: build.sh SOURCE_DIR OUTPUT_FILE. Run by the fastpath Maven build
# (generate-resources); fails, naming the Debian package, when clang or the libbpf headers are missing.
set -eu
src="$1"
out="$2"
if ! command -v clang >/dev/null 2>&1; then
    echo "fastpath: clang is missing; it compiles the XDP program in fastpath/bpf: apt-get install clang libbpf-dev" \
         "(scripts/test installs both)" >&2
    exit 1
fi
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
    echo "fastpath: /usr/include/bpf/bpf_helpers.h is missing; the XDP program needs the libbpf headers:" \
         "apt-get install libbpf-dev (scripts/test installs it)" >&2
    exit 1
fi
# -target bpf has no multiarch include path of its own; <asm/types.h> lives under the host's triplet.
triplet="$(gcc -dumpmachine 2>/dev/null || echo "$(uname -m)-linux-gnu")"
mkdir -p "$(dirname "$out")"
clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$triplet" -c "$src/isthmus_xdp.c" -o "$out"
