#!/bin/sh
# Regenerates the small compressed "kernel images" used by the kconfig
# tests: a blob of junk holding IKCFG_ST + config.gz + IKCFG_ED (as
# kernel/configs.c lays it out), compressed the way the kernel build
# compresses images (scripts/Makefile.lib, scripts/xz_wrap.sh), with junk
# before the stream and the 4-byte size the build appends after it.
#
# Needs: gzip xz-utils (xz, lzma) lz4 lzop zstd bzip2 python3.
# Debian: apt-get install gzip xz-utils lz4 lzop zstd bzip2
set -eu
cd "$(dirname "$0")"
python3 - <<'PY'
import gzip, random
random.seed(7)
cfg = open("config", "rb").read()
gz = gzip.compress(cfg, 9, mtime=0)
junk = lambda n: bytes(random.getrandbits(8) for _ in range(n))
# x86-looking code: call/jmp opcodes with small displacements, so the
# BCJ filter has work to do.
code = b"".join(b"\xe8" + random.getrandbits(16).to_bytes(2, "little") + b"\x00\x00" + junk(3) for _ in range(400))
blob = junk(2048) + code + b"IKCFG_ST" + gz + b"IKCFG_ED" + code + junk(1024)
open("blob.bin", "wb").write(blob)
PY
size=$(printf '%08x' "$(wc -c < blob.bin)")
append() { # the kernel's size_append: decompressed size, little-endian
	printf "\\$(printf %o 0x${size#??????})\\$(printf %o 0x$(echo $size | cut -c5-6))\\$(printf %o 0x$(echo $size | cut -c3-4))\\$(printf %o 0x${size%??????})"
}
head -c 333 blob.bin > prefix.bin
mk() { # name, compressor command
	{ cat prefix.bin; cat blob.bin | sh -c "$2"; append; } > "image.$1"
}
mk gz 'gzip -9 -n'
mk xz 'xz --check=crc32 --x86 --lzma2=,dict=32MiB'
mk lzma 'lzma -9'
mk lz4 'lz4 -l -9 - -'
mk lzo 'lzop -9'
mk zst 'zstd -q -22 --ultra'
mk bz2 'bzip2 -9'
gzip -9 -n < config > config.gz
rm -f prefix.bin

# configs.ko: the object kernel/configs.c makes (its asm block, and the
# .modinfo a module carries), assembled with clang; then compressed as
# kmod's module compression does. Needs: clang.
cat > configs.S <<'ASM'
	.pushsection .rodata, "a"
	.ascii "IKCFG_ST"
	.global kernel_config_data
kernel_config_data:
	.incbin "config.gz"
	.global kernel_config_data_end
kernel_config_data_end:
	.ascii "IKCFG_ED"
	.popsection
	.pushsection .modinfo, "a"
	.asciz "license=GPL"
	.asciz "name=configs"
	.asciz "vermagic=6.1.192 SMP mod_unload "
	.popsection
ASM
clang -c -target x86_64-linux-gnu configs.S -o configs.ko
clang -c -target aarch64-linux-gnu configs.S -o configs-arm64.ko
rm -f configs.S
xz --check=crc32 --lzma2=dict=1MiB -c configs.ko > configs.ko.xz
zstd -q -19 -c configs.ko > configs.ko.zst
gzip -9 -n -c configs.ko > configs.ko.gz
