package xz

import (
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"hash/crc64"
	"math/bits"
)

// This file holds test-only encoders: a minimal LZMA encoder that emits
// exactly the symbols a test asks for (so tests can craft invalid
// distances, end markers, matches that cross a chunk end), an LZMA2
// chunk writer and an xz stream writer with knobs for lying headers.

// rcEncoder is a range encoder, the inverse of the decoder in lzma.go.
type rcEncoder struct {
	low       uint64
	rng       uint32
	cache     byte
	cacheSize int64
	out       []byte
}

func newRCEncoder() *rcEncoder { return &rcEncoder{rng: 0xffffffff, cacheSize: 1} }

func (e *rcEncoder) shiftLow() {
	if uint32(e.low) < 0xff000000 || e.low>>32 != 0 {
		temp := e.cache
		for {
			e.out = append(e.out, temp+byte(e.low>>32))
			temp = 0xff
			e.cacheSize--
			if e.cacheSize == 0 {
				break
			}
		}
		e.cache = byte(e.low >> 24)
	}
	e.cacheSize++
	e.low = (e.low & 0x00ffffff) << 8
}

func (e *rcEncoder) bit(p *uint16, b uint32) {
	bound := (e.rng >> probBits) * uint32(*p)
	if b == 0 {
		e.rng = bound
		*p += (1<<probBits - *p) >> moveBits
	} else {
		e.low += uint64(bound)
		e.rng -= bound
		*p -= *p >> moveBits
	}
	for e.rng < rcTop {
		e.rng <<= 8
		e.shiftLow()
	}
}

func (e *rcEncoder) direct(v uint32, n uint32) {
	for i := int(n) - 1; i >= 0; i-- {
		e.rng >>= 1
		if v>>uint(i)&1 != 0 {
			e.low += uint64(e.rng)
		}
		for e.rng < rcTop {
			e.rng <<= 8
			e.shiftLow()
		}
	}
}

func (e *rcEncoder) flush() []byte {
	for range 5 {
		e.shiftLow()
	}
	return e.out
}

// bitTree encodes the n low bits of v, most significant first, with the
// probabilities probs[off+1 ...].
func (e *rcEncoder) bitTree(probs []uint16, off uint32, v uint32, n uint) {
	sym := uint32(1)
	for i := int(n) - 1; i >= 0; i-- {
		b := v >> uint(i) & 1
		e.bit(&probs[off+sym], b)
		sym = sym<<1 | b
	}
}

// reverseTree encodes the n low bits of v, least significant first.
func (e *rcEncoder) reverseTree(probs []uint16, off uint32, v uint32, n uint) {
	sym := uint32(1)
	for i := uint(0); i < n; i++ {
		b := v >> i & 1
		e.bit(&probs[off+sym], b)
		sym = sym<<1 | b
	}
}

// lzmaEncoder encodes a given sequence of LZMA operations. It shares the
// probability layout of lzmaDecoder.
type lzmaEncoder struct {
	p     lzmaDecoder // only the probabilities and lc/lp/pb are used
	rc    *rcEncoder
	state uint32
	reps  [4]uint32
	hist  []byte // everything "decoded" so far, for positions and match bytes
	start int    // len(hist) at the last dictionary reset
}

func newLZMAEncoder(props byte) *lzmaEncoder {
	e := &lzmaEncoder{rc: newRCEncoder()}
	if !e.p.setProps(props) {
		panic("bad props")
	}
	e.p.resetState()
	return e
}

func (e *lzmaEncoder) pos() uint32 { return uint32(len(e.hist) - e.start) }

func (e *lzmaEncoder) literal(b byte) {
	pos := e.pos()
	posState := pos & e.p.pbMask
	e.rc.bit(&e.p.isMatch[e.state<<4|posState], 0)
	prev := uint32(0)
	if len(e.hist) > e.start {
		prev = uint32(e.hist[len(e.hist)-1])
	}
	base := (((pos & e.p.lpMask) << e.p.lc) + prev>>(8-e.p.lc)) * 0x300
	probs := e.p.literal[base : base+0x300]
	if e.state < 7 {
		e.rc.bitTree(probs, 0, uint32(b), 8)
	} else {
		match := uint32(e.hist[len(e.hist)-int(e.reps[0])-1])
		sym := uint32(1)
		offs := uint32(0x100)
		for i := 7; i >= 0; i-- {
			bit := uint32(b) >> uint(i) & 1
			match <<= 1
			prevOffs := offs
			offs &= match
			e.rc.bit(&probs[offs+prevOffs+sym], bit)
			sym = sym<<1 | bit
			if bit == 0 {
				offs ^= prevOffs
			}
		}
	}
	e.hist = append(e.hist, b)
	switch {
	case e.state < 4:
		e.state = 0
	case e.state < 10:
		e.state -= 3
	default:
		e.state -= 6
	}
}

func (e *lzmaEncoder) length(lp *lenProbs, n int, posState uint32) {
	l := uint32(n - minMatch)
	switch {
	case l < 8:
		e.rc.bit(&lp.choice, 0)
		e.rc.bitTree(lp.low[:], posState<<3, l, 3)
	case l < 16:
		e.rc.bit(&lp.choice, 1)
		e.rc.bit(&lp.choice2, 0)
		e.rc.bitTree(lp.mid[:], posState<<3, l-8, 3)
	default:
		e.rc.bit(&lp.choice, 1)
		e.rc.bit(&lp.choice2, 1)
		e.rc.bitTree(lp.high[:], 0, l-16, 8)
	}
}

// copyMatch appends a match to hist; out-of-range distances append
// zeros (the encoder does not care; the decoder must reject them).
func (e *lzmaEncoder) copyMatch(dist uint32, n int) {
	for range n {
		src := len(e.hist) - int(dist) - 1
		b := byte(0)
		if src >= e.start && src >= 0 {
			b = e.hist[src]
		}
		e.hist = append(e.hist, b)
	}
}

// match encodes a simple match: dist is the LZMA distance value (bytes
// back minus one), n the length (2..273).
func (e *lzmaEncoder) match(dist uint32, n int) {
	posState := e.pos() & e.p.pbMask
	e.rc.bit(&e.p.isMatch[e.state<<4|posState], 1)
	e.rc.bit(&e.p.isRep[e.state], 0)
	e.length(&e.p.matchLen, n, posState)
	lenState := min(uint32(n-minMatch), 3)
	var slot uint32
	if dist < 4 {
		slot = dist
	} else {
		nb := uint32(bits.Len32(dist))
		slot = 2*(nb-1) + (dist>>(nb-2))&1
	}
	e.rc.bitTree(e.p.distSlot[:], lenState<<6, slot, 6)
	if slot >= 4 {
		nd := slot>>1 - 1
		base := (2 | slot&1) << nd
		rem := dist - base
		if slot < endPosModel {
			e.rc.reverseTree(e.p.distSpec[:], base-slot-1, rem, uint(nd))
		} else {
			e.rc.direct(rem>>alignBits, nd-alignBits)
			e.rc.reverseTree(e.p.align[:], 0, rem&15, alignBits)
		}
	}
	e.reps = [4]uint32{dist, e.reps[0], e.reps[1], e.reps[2]}
	if e.state < 7 {
		e.state = 7
	} else {
		e.state = 10
	}
	e.copyMatch(dist, n)
}

// rep encodes a repeated match with reps[i] and length n, or a short rep
// (one byte at reps[0]) when n == 1.
func (e *lzmaEncoder) rep(i int, n int) {
	posState := e.pos() & e.p.pbMask
	e.rc.bit(&e.p.isMatch[e.state<<4|posState], 1)
	e.rc.bit(&e.p.isRep[e.state], 1)
	if i == 0 {
		e.rc.bit(&e.p.isRepG0[e.state], 0)
		if n == 1 {
			e.rc.bit(&e.p.isRep0Long[e.state<<4|posState], 0)
			if e.state < 7 {
				e.state = 9
			} else {
				e.state = 11
			}
			e.copyMatch(e.reps[0], 1)
			return
		}
		e.rc.bit(&e.p.isRep0Long[e.state<<4|posState], 1)
	} else {
		e.rc.bit(&e.p.isRepG0[e.state], 1)
		if i == 1 {
			e.rc.bit(&e.p.isRepG1[e.state], 0)
		} else {
			e.rc.bit(&e.p.isRepG1[e.state], 1)
			e.rc.bit(&e.p.isRepG2[e.state], uint32(i-2))
		}
		d := e.reps[i]
		copy(e.reps[1:i+1], e.reps[0:i])
		e.reps[0] = d
	}
	e.length(&e.p.repLen, n, posState)
	if e.state < 7 {
		e.state = 8
	} else {
		e.state = 11
	}
	e.copyMatch(e.reps[0], n)
}

// lzma2Chunk returns an LZMA chunk with the given control byte's reset
// bits (0x80, 0xa0, 0xc0 or 0xe0), props (used for 0xc0 and up),
// uncompressed size and compressed data.
func lzma2Chunk(control byte, props byte, usize int, packed []byte) []byte {
	u, p := usize-1, len(packed)-1
	c := []byte{control | byte(u>>16), byte(u >> 8), byte(u), byte(p >> 8), byte(p)}
	if control >= 0xc0 {
		c = append(c, props)
	}
	return append(c, packed...)
}

// lzma2Stored returns an uncompressed LZMA2 chunk (control 1 or 2).
func lzma2Stored(control byte, data []byte) []byte {
	u := len(data) - 1
	return append([]byte{control, byte(u >> 8), byte(u)}, data...)
}

// testBlock is one block for writeXZ: its LZMA2 data and what it decodes
// to. The knobs make the headers lie.
type testBlock struct {
	lzma2        []byte
	plain        []byte
	dictProp     byte     // LZMA2 dictionary property (default 0 = 4 KiB... set explicitly)
	filters      [][]byte // raw filter flags replacing the LZMA2 filter, if set
	sizes        bool     // store sizes in the block header
	headerComp   int64    // if nonzero, this compressed size in the header
	headerUncomp int64    // if nonzero, this uncompressed size in the header
	indexUncomp  int64    // if nonzero, this uncompressed size in the index
	indexUnpad   int64    // if nonzero, this unpadded size in the index
	badCheck     bool     // corrupt the check
}

func putVLI(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func checkOf(t byte, data []byte) []byte {
	switch t {
	case checkCRC32:
		return binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(data))
	case checkCRC64:
		return binary.LittleEndian.AppendUint64(nil, crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)))
	case checkSHA256:
		s := sha256.Sum256(data)
		return s[:]
	}
	return nil
}

// writeXZ builds an xz stream from blocks with the given check type.
// indexCount, if >= 0, replaces the record count in the index.
func writeXZ(check byte, blocks []testBlock, indexCount int64) []byte {
	flags := []byte{0, check}
	out := append([]byte{}, headerMagic...)
	out = append(out, flags...)
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(flags))
	type rec struct{ unpadded, uncomp uint64 }
	var recs []rec
	for _, b := range blocks {
		var h []byte
		h = append(h, 0, 0) // size and flags, filled in below
		fl := byte(0)
		comp := int64(len(b.lzma2))
		if b.sizes || b.headerComp != 0 {
			fl |= 0x40
			c := comp
			if b.headerComp != 0 {
				c = b.headerComp
			}
			h = putVLI(h, uint64(c))
		}
		if b.sizes || b.headerUncomp != 0 {
			fl |= 0x80
			u := int64(len(b.plain))
			if b.headerUncomp != 0 {
				u = b.headerUncomp
			}
			h = putVLI(h, uint64(u))
		}
		filters := b.filters
		if filters == nil {
			filters = [][]byte{{filterLZMA2, 1, b.dictProp}}
		}
		fl |= byte(len(filters) - 1)
		for _, f := range filters {
			h = append(h, f...)
		}
		for (len(h)+4)%4 != 0 {
			h = append(h, 0)
		}
		h[0] = byte((len(h)+4)/4 - 1)
		h[1] = fl
		h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(h))
		start := len(out)
		out = append(out, h...)
		out = append(out, b.lzma2...)
		for (len(out)-start)%4 != 0 {
			out = append(out, 0)
		}
		sum := checkOf(check, b.plain)
		if b.badCheck {
			sum[0] ^= 1
		}
		out = append(out, sum...)
		r := rec{uint64(len(h)) + uint64(comp) + uint64(len(sum)), uint64(len(b.plain))}
		if b.indexUncomp != 0 {
			r.uncomp = uint64(b.indexUncomp)
		}
		if b.indexUnpad != 0 {
			r.unpadded = uint64(b.indexUnpad)
		}
		recs = append(recs, r)
	}
	idx := []byte{0}
	n := uint64(len(recs))
	if indexCount >= 0 {
		n = uint64(indexCount)
	}
	idx = putVLI(idx, n)
	for _, r := range recs {
		idx = putVLI(idx, r.unpadded)
		idx = putVLI(idx, r.uncomp)
	}
	for len(idx)%4 != 0 {
		idx = append(idx, 0)
	}
	idx = binary.LittleEndian.AppendUint32(idx, crc32.ChecksumIEEE(idx))
	out = append(out, idx...)
	foot := binary.LittleEndian.AppendUint32(nil, uint32(len(idx)/4-1))
	foot = append(foot, flags...)
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(foot))
	out = append(out, foot...)
	return append(out, 'Y', 'Z')
}

// encodeLZMA2 encodes ops with a fresh LZMA encoder as one LZMA2 chunk
// (dictionary reset, properties 0x5d: lc=3 lp=0 pb=2) plus the end
// marker, and returns the LZMA2 data and what it decodes to.
func encodeLZMA2(ops func(e *lzmaEncoder)) (lzma2, plain []byte) {
	e := newLZMAEncoder(0x5d)
	ops(e)
	packed := e.rc.flush()
	return append(lzma2Chunk(0xe0, 0x5d, len(e.hist), packed), 0), e.hist
}
