#!/bin/sh
# Times `kh btf` against `bpftool btf dump file FILE format c` on the same
# BTF in one hyperfine run (whole-process wall time, output to a pipe),
# for the running kernel's BTF, the test kernels' and a module's split
# BTF, and prints kh's time as a ratio of bpftool's (mean, median, min;
# below 1 means kh is faster).
#
#   sh btf/bench.sh [FILE...]   # RUNS=30 by default; FILEs: more BTF
#
# Needs hyperfine and bpftool; the test kernels are found through
# KH_TESTKERNEL or ../shared/testkernel. On a shared machine compare
# within one run, and prefer the median and min.
set -eu
cd "$(dirname "$0")/.."
tk=${KH_TESTKERNEL:-../shared/testkernel}
runs=${RUNS:-30}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/kh" ./cmd/kh

bench() { # name kh-args bpftool-args
	hyperfine -N --warmup 3 --runs "$runs" --output=pipe --style basic \
		--export-csv "$tmp/$1.csv" -n kh "$tmp/kh btf $2" -n bpftool "bpftool $3" >"$tmp/$1.log" 2>&1 ||
		{ cat "$tmp/$1.log"; exit 1; }
	# CSV: command,mean,stddev,median,user,system,min,max
	awk -F, -v name="$1" '
		$1 == "kh" { km = $2; kd = $4; kn = $7; ku = $5 + $6 }
		$1 == "bpftool" { bm = $2; bd = $4; bn = $7; bu = $5 + $6 }
		END {
			printf "%-22s kh mean %6.1f ms median %6.1f min %6.1f cpu %6.1f | bpftool mean %6.1f median %6.1f min %6.1f cpu %6.1f | ratio mean %.2f median %.2f min %.2f cpu %.2f\n",
				name, km*1000, kd*1000, kn*1000, ku*1000, bm*1000, bd*1000, bn*1000, bu*1000, km/bm, kd/bd, kn/bn, ku/bu
		}' "$tmp/$1.csv"
}

if [ -r /sys/kernel/btf/vmlinux ]; then
	bench host-vmlinux "" "btf dump file /sys/kernel/btf/vmlinux format c"
fi
for arch in x86_64 arm64; do
	f=$tk/$arch/vmlinux.btf
	[ -r "$f" ] || continue
	bench "$arch-vmlinux" "--from $f" "btf dump file $f format c"
done
for f in "$@"; do
	bench "$(basename "$f")" "--from $f" "btf dump file $f format c"
done
f=$tk/x86_64/vmlinux.btf
if [ -r "$f" ]; then
	bench khtest-split "--from testdata/btf/khtest.ko --base $f" "btf dump file testdata/btf/khtest.ko format c -B $f"
fi
