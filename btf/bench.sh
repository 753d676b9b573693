#!/bin/sh
# Times `kh btf` against upstream bpftool v7.7.0's `btf dump file FILE
# format c` (sorted) and `format c unsorted` on the same BTF, in one
# hyperfine run each (whole processes, output to a pipe), and prints kh's
# time as a ratio of bpftool's: mean, median, min wall time and CPU time
# (user + system; below 1 means kh is faster). Inputs: the 6.18 host BTF
# of the test kernels, the running kernel's, the Linux 6.1 test kernels',
# a module's split BTF, and any FILE given.
#
#   sh btf/bench.sh [FILE...]   # RUNS=30 by default
#
# Needs hyperfine and bpftool v7.7.0 ($BPFTOOL77, by default
# ../shared/tools/bpftool-v7.7.0/bpftool beside the test kernels, found
# through KH_TESTKERNEL or ../shared/testkernel). On a shared machine
# compare within one run, and prefer the CPU ratio, the median and min.
set -eu
cd "$(dirname "$0")/.."
tk=${KH_TESTKERNEL:-../shared/testkernel}
bpftool=${BPFTOOL77:-$tk/../tools/bpftool-v7.7.0/bpftool}
"$bpftool" version | grep -q '^bpftool v7.7.0$' || { echo "bench.sh: $bpftool is not bpftool v7.7.0 (set BPFTOOL77)" >&2; exit 1; }
runs=${RUNS:-30}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/kh" ./cmd/kh

bench() { # name kh-args bpftool-args
	hyperfine -N --warmup 3 --runs "$runs" --output=pipe --style basic \
		--export-csv "$tmp/$1.csv" -n kh "$tmp/kh btf $2" -n bpftool "$bpftool $3" >"$tmp/$1.log" 2>&1 ||
		{ cat "$tmp/$1.log"; exit 1; }
	# CSV: command,mean,stddev,median,user,system,min,max
	awk -F, -v name="$1" '
		$1 == "kh" { km = $2; kd = $4; kn = $7; ku = $5 + $6 }
		$1 == "bpftool" { bm = $2; bd = $4; bn = $7; bu = $5 + $6 }
		END {
			printf "%-26s kh mean %6.1f ms median %6.1f min %6.1f cpu %6.1f | bpftool mean %6.1f median %6.1f min %6.1f cpu %6.1f | ratio mean %.2f median %.2f min %.2f cpu %.2f\n",
				name, km*1000, kd*1000, kn*1000, ku*1000, bm*1000, bd*1000, bn*1000, bu*1000, km/bm, kd/bd, kn/bn, ku/bu
		}' "$tmp/$1.csv"
}

both() { # name file [base]
	b=
	[ $# -lt 3 ] || b="--base $3"
	bb=
	[ $# -lt 3 ] || bb="-B $3"
	bench "$1" "--from $2 $b" "btf dump file $2 format c $bb"
	bench "$1-unsorted" "--from $2 $b --unsorted" "btf dump file $2 format c unsorted $bb"
}

f=$tk/host-6.18/vmlinux.btf
[ ! -r "$f" ] || both host-6.18 "$f"
[ ! -r /sys/kernel/btf/vmlinux ] || both running-kernel /sys/kernel/btf/vmlinux
for arch in x86_64 arm64; do
	f=$tk/$arch/vmlinux.btf
	[ ! -r "$f" ] || both "6.1-$arch" "$f"
done
f=$tk/x86_64/vmlinux.btf
[ ! -r "$f" ] || both khtest-split testdata/btf/khtest.ko "$f"
for f in "$@"; do
	both "$(basename "$f")" "$f"
done
