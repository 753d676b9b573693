#!/bin/sh
# Regenerates the expected C headers in testdata/btf from bpftool, the
# reference kh btf must match byte for byte:
#   c/NAME.c       -> c/NAME.o (clang -target bpf -g), c/NAME.h (bpftool)
#   c/NAME.1.c ... -> linked into c/NAME.o with `bpftool gen object`
#   NAME.btf       -> NAME.h (raw BTF, e.g. written by TestGoBuilt -update)
#   khtest.btf     -> khtest.h, on top of the x86_64 test kernel's BTF
# Needs clang (14) and bpftool (v7.1.0, libbpf 1.1); run from anywhere.
set -eu
cd "$(dirname "$0")"
tk=${KH_TESTKERNEL:-../../../shared/testkernel}
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
for o in c/*.o; do
	bpftool btf dump file "$o" format c >"${o%.o}.h"
done
for b in go/*.btf; do
	[ -e "$b" ] || continue
	bpftool btf dump file "$b" format c >"${b%.btf}.h"
done
if [ -e "$tk/x86_64/vmlinux.btf" ]; then
	bpftool btf dump file khtest.btf format c -B "$tk/x86_64/vmlinux.btf" >khtest.h
fi
