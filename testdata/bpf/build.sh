#!/bin/bash
# build.sh: compile kh's BPF test programs.
#
#   testdata/bpf/build.sh OUTDIR [BTF [NAME...]]
#
# Writes OUTDIR/vmlinux.h (from BTF, default /sys/kernel/btf/vmlinux: use a
# test kernel's vmlinux.btf to build for it), OUTDIR/NAME.bpf.o for every
# NAME.bpf.c here and OUTDIR/kh-uprobe-target (for uprobe.bpf.o: a static
# binary without C library for UPROBE_TARGET, a clang triple, default
# $(uname -m)-linux-gnu; built with ld.lld, skipped without it). With
# NAMEs, only NAME.bpf.c are built. Needs clang (any version that targets BPF, 10 or newer)
# and bpftool; no libbpf headers (kh_bpf.h has what the programs use).
# The objects are CO-RE: build once per architecture (x86_64, arm64), as
# vmlinux.h differs between them, and run them on any kernel of that arch.
set -euo pipefail
out=${1:?usage: build.sh OUTDIR [BTF [NAME...]]}
btf=${2:-/sys/kernel/btf/vmlinux}
shift $(($# < 2 ? $# : 2))
src=$(cd "$(dirname "$0")" && pwd)
CLANG=${CLANG:-clang}
BPFTOOL=${BPFTOOL:-bpftool}
mkdir -p "$out"
"$BPFTOOL" btf dump file "$btf" format c > "$out/vmlinux.h.tmp"
mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
sources=("$src"/*.bpf.c)
if [ $# -gt 0 ]; then
	sources=()
	for n in "$@"; do
		sources+=("$src/$n.bpf.c")
	done
fi
pids=()
for c in "${sources[@]}"; do
	name=$(basename "$c" .c)
	"$CLANG" -target bpf -O2 -g -c -Wall -Werror -Wno-unused-function \
		-I "$out" -I "$src" "$c" -o "$out/$name.o.tmp" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p"
done
for c in "${sources[@]}"; do
	name=$(basename "$c" .c)
	mv "$out/$name.o.tmp" "$out/$name.o"
done
if [ $# -gt 0 ]; then
	exit 0
fi
if command -v ld.lld >/dev/null; then
	"$CLANG" --target="${UPROBE_TARGET:-$(uname -m)-linux-gnu}" -O1 -static -nostdlib -ffreestanding \
		-fno-stack-protector -fuse-ld=lld -o "$out/kh-uprobe-target.tmp" "$src/uprobe_target.c"
	mv "$out/kh-uprobe-target.tmp" "$out/kh-uprobe-target"
else
	echo "build.sh: no ld.lld (Debian: lld): kh-uprobe-target not built" >&2
fi
