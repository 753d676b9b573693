"""Writes the deterministic plain inputs of the fixtures (see gen.sh)."""
import random

rng = random.Random(20261123)
words = ("struct int unsigned long const static inline return void define "
         "include ifdef endif kernel header bpf trace map prog sizeof u32 u64 "
         "__u8 __le16 spinlock_t list_head offsetof container_of").split()
lines = []
while sum(len(l) + 1 for l in lines) < 48 << 10:
    n = rng.randint(1, 12)
    lines.append(("\t" * rng.randint(0, 2)) + " ".join(rng.choice(words) for _ in range(n)) + ";")
text = ("\n".join(lines) + "\n").encode()
open("text.txt", "wb").write(text)
rand = bytes(rng.getrandbits(8) for _ in range(24 << 10))
open("random.bin", "wb").write(rand)
# Text, incompressible data and runs, so that LZMA2 switches between
# compressed and uncompressed chunks and resets state in between.
mixed = text[:20000] + rand[:12000] + b"\0" * 5000 + b"ab" * 3000 + text[20000:30000] + rand[12000:]
open("mixed.bin", "wb").write(mixed)
