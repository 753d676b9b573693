#!/bin/sh
# Times `kh config --from IMAGE` against the kernel's own
# scripts/extract-ikconfig on the same image, in one hyperfine run, and
# prints the ratio of their mean times.
#
# Usage: kconfig/bench.sh [IMAGE] [EXTRACT_IKCONFIG]
#   IMAGE defaults to the x86_64 test kernel's bzImage
#   ($KH_TESTKERNEL, else ../shared/testkernel); EXTRACT_IKCONFIG
#   defaults to the script taken from /usr/src/linux-source-6.1.tar.xz.
# Needs: hyperfine, and what extract-ikconfig runs (Debian: xz-utils
# bzip2 lzop lz4 zstd gzip).
set -eu
cd "$(dirname "$0")/.."
tk=${KH_TESTKERNEL:-../shared/testkernel}
img=${1:-$tk/x86_64/bzImage}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
script=${2:-}
if [ -z "$script" ]; then
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$tmp" --strip-components=2 linux-source-6.1/scripts/extract-ikconfig
	script=$tmp/extract-ikconfig
fi
CGO_ENABLED=0 go build -o "$tmp/kh" ./cmd/kh
# Both must print the same configuration.
"$tmp/kh" config --from "$img" > "$tmp/kh.out"
sh "$script" "$img" > "$tmp/script.out"
cmp "$tmp/kh.out" "$tmp/script.out"
hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json "$tmp/h.json" \
	"$tmp/kh config --from $img" "sh $script $img"
python3 - "$tmp/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
kh, ref = r[0], r[1]
cpu = lambda x: x["user"] + x["system"]
print("kh: mean %.1f ms, median %.1f, min %.1f, user+sys %.1f" % (kh["mean"]*1e3, kh["median"]*1e3, kh["min"]*1e3, cpu(kh)*1e3))
print("extract-ikconfig: mean %.1f ms, median %.1f, min %.1f, user+sys %.1f" % (ref["mean"]*1e3, ref["median"]*1e3, ref["min"]*1e3, cpu(ref)*1e3))
print("ratio kh/extract-ikconfig: mean %.2f, median %.2f, min %.2f, CPU %.2f" % (
    kh["mean"]/ref["mean"], kh["median"]/ref["median"], kh["min"]/ref["min"], cpu(kh)/cpu(ref)))
PY
