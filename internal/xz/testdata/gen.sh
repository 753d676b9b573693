#!/bin/sh
# Regenerates the fixed fixtures in this directory with the xz tool
# (XZ Utils 5.4.1 made the committed ones). The plain inputs are made by
# gen.py (deterministic); each NAME.xz decodes to the input named in
# fixtures_test.go.
set -eu
cd "$(dirname "$0")"
python3 gen.py
xz -c </dev/null >empty.xz
xz -c -6 text.txt >text-crc64.xz
xz -c --check=crc32 --lzma2=dict=1MiB text.txt >text-kmod.xz   # kernel module style
xz -c -0 --check=sha256 text.txt >text-sha256.xz
xz -c -9e --check=none text.txt >text-none.xz
xz -c --lzma2=preset=6,lc=0,lp=2,pb=0 mixed.bin >mixed-lp2.xz
xz -c -T2 --block-size=20KiB mixed.bin >mixed-blocks.xz            # sizes in block headers
xz -c random.bin >random.xz                                        # uncompressed LZMA2 chunks
# For NewPrefixReader and NewLZMAReader (kernel image formats):
tail -c +19001 mixed.bin | head -c 4000 | xz -c --check=crc32 --x86 --lzma2=preset=1 >x86.xz    # BCJ, as kernel images
tail -c +19001 mixed.bin | head -c 4000 | xz -c --arm64=start=16 --lzma2=preset=0 >arm64.xz
xz -c --format=lzma --lzma1=preset=6,dict=64KiB text.txt >text.lzma            # legacy .lzma, end marker
