#!/bin/sh
# Regenerates the expected C headers in testdata/btf from upstream bpftool
# v7.7.0's `format c unsorted` (BTF ID order), the reference kh btf
# --unsorted must match byte for byte:
#   c/NAME.c       -> c/NAME.o (clang -target bpf -g), c/NAME.h (bpftool)
#   c/NAME.1.c ... -> linked into c/NAME.o with `bpftool gen object`
#   NAME.btf       -> NAME.h (raw BTF, e.g. written by TestGoBuilt -update)
#   khtest.btf     -> khtest.h, on top of the x86_64 test kernel's BTF
# Needs clang (14), bpftool (any, for gen object) and bpftool v7.7.0
# ($BPFTOOL77, by default ../shared/tools/bpftool-v7.7.0/bpftool); run from
# anywhere. HEADERS_ONLY=1 keeps the objects and rewrites the headers.
set -eu
cd "$(dirname "$0")"
tk=${KH_TESTKERNEL:-../../../shared/testkernel}
bpftool77=${BPFTOOL77:-$tk/../tools/bpftool-v7.7.0/bpftool}
if [ "${HEADERS_ONLY:-}" != 1 ]; then
for c in c/*.c; do
	case $c in
	*.[0-9].c) continue ;;
	esac
	clang -target bpf -O2 -g -c "$c" -o "${c%.c}.o"
done
for c in c/*.1.c; do
	[ -e "$c" ] || continue
	name=${c%.1.c}
	objs=
	for part in "$name".[0-9].c; do
		clang -target bpf -O2 -g -c "$part" -o "${part%.c}.o"
		objs="$objs ${part%.c}.o"
	done
	# shellcheck disable=SC2086
	bpftool gen object "$name.o" $objs
	# shellcheck disable=SC2086
	rm -f $objs
done
fi
for o in c/*.o; do
	"$bpftool77" btf dump file "$o" format c unsorted >"${o%.o}.h"
done
for b in go/*.btf; do
	[ -e "$b" ] || continue
	"$bpftool77" btf dump file "$b" format c unsorted >"${b%.btf}.h"
done
if [ -e "$tk/x86_64/vmlinux.btf" ]; then
	"$bpftool77" btf dump file khtest.btf format c unsorted -B "$tk/x86_64/vmlinux.btf" >khtest.h
fi
