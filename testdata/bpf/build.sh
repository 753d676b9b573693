#!/bin/bash
# build.sh: compile kh's BPF test programs.
#
#   testdata/bpf/build.sh OUTDIR [BTF [NAME...]]
#
# Writes OUTDIR/vmlinux.h (from BTF, default /sys/kernel/btf/vmlinux: use a
# test kernel's vmlinux.btf to build for it), OUTDIR/NAME.bpf.o for every
# NAME.bpf.c here and OUTDIR/kh-uprobe-target (for uprobe.bpf.o; a static
# binary for the build machine's architecture, skipped when no C library
# is installed). With NAMEs, only NAME.bpf.c are built. Needs clang (any version that targets BPF, 10 or newer)
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
if "$CLANG" -O1 -static -o "$out/kh-uprobe-target.tmp" "$src/uprobe_target.c" 2>/dev/null ||
	"$CLANG" -O1 -o "$out/kh-uprobe-target.tmp" "$src/uprobe_target.c"; then
	mv "$out/kh-uprobe-target.tmp" "$out/kh-uprobe-target"
fi
