package xz

//go:generate go run gen_lzmadec.go

// The LZMA decoder. Everything the hot loop touches lives either in
// local variables of decode (range coder, state, reps, positions) or in
// fixed-size arrays that are indexed with masked indices, so that the
// compiler drops the bounds checks. Decoding follows the LZMA
// specification (as in XZ Embedded and liblzma); the code is our own.
// The hot loop, decode, is in lzmadec.go, generated from lzmadec.go.tmpl.

const (
	probBits    = 11
	probInit    = 1 << (probBits - 1)
	moveBits    = 5
	rcTop       = 1 << 24
	minMatch    = 2
	maxMatch    = 273
	numStates   = 12
	litStates7  = 7 // states below this one were preceded by a literal
	endPosModel = 14
	litMask     = 0x4000 - 1 // index mask of lzmaDecoder.literal
	inSize      = 1 << 17    // lzmaDecoder.in: twice the largest LZMA2 chunk
	inMask      = inSize - 1
	alignBits   = 4
)

// lenProbs are the probabilities of one length decoder.
type lenProbs struct {
	choice  uint16
	choice2 uint16
	low     [16 << 3]uint16 // posState<<3 | symbol
	mid     [16 << 3]uint16
	high    [256]uint16
}

// lzmaDecoder holds the LZMA state that survives between chunks and
// between calls to decode.
type lzmaDecoder struct {
	isMatch    [256]uint16 // state<<4 | posState
	isRep0Long [256]uint16 // state<<4 | posState
	isRep      [16]uint16
	isRepG0    [16]uint16
	isRepG1    [16]uint16
	isRepG2    [16]uint16
	distSlot   [256]uint16 // lenState<<6 | symbol
	distSpec   [128]uint16
	align      [16]uint16
	matchLen   lenProbs
	repLen     lenProbs
	literal    [0x4000]uint16 // 0x300 per literal state (lc+lp <= 4), padded to a power of two for masking

	// in holds the current chunk's compressed data (at most 64 KiB),
	// followed by whatever an earlier chunk left: reading past the end of
	// the chunk is harmless, and the caller detects it from ip. Its
	// power-of-two size lets the hot loop read it with a masked index.
	in [inSize]byte

	lc     uint   // literal context bits
	lpMask uint32 // literal position mask
	pbMask uint32 // position state mask

	state                  uint32
	rep0, rep1, rep2, rep3 uint32
	rng, code              uint32
	ip                     int // position in the chunk's compressed data
}

// setProps sets lc, lp and pb from an LZMA2 properties byte.
func (d *lzmaDecoder) setProps(b byte) bool {
	if b >= 9*5*5 {
		return false
	}
	lc := uint(b % 9)
	b /= 9
	lp := uint(b % 5)
	pb := uint(b / 5)
	if lc+lp > 4 {
		return false
	}
	d.lc = lc
	d.lpMask = 1<<lp - 1
	d.pbMask = 1<<pb - 1
	return true
}

// resetState resets the probabilities, the state and the reps.
func (d *lzmaDecoder) resetState() {
	for _, a := range [][]uint16{d.isMatch[:], d.isRep0Long[:], d.isRep[:], d.isRepG0[:],
		d.isRepG1[:], d.isRepG2[:], d.distSlot[:], d.distSpec[:], d.align[:]} {
		fill(a)
	}
	for _, l := range []*lenProbs{&d.matchLen, &d.repLen} {
		l.choice, l.choice2 = probInit, probInit
		fill(l.low[:])
		fill(l.mid[:])
		fill(l.high[:])
	}
	n := 0x300 << (d.lc + uint(bitsOf(d.lpMask)))
	fill(d.literal[:n])
	d.state = 0
	d.rep0, d.rep1, d.rep2, d.rep3 = 0, 0, 0, 0
}

func fill(a []uint16) {
	for i := range a {
		a[i] = probInit
	}
}

func bitsOf(mask uint32) int {
	n := 0
	for mask != 0 {
		n++
		mask >>= 1
	}
	return n
}

// initRC starts the range decoder at the start of an LZMA chunk's
// compressed data.
func (d *lzmaDecoder) initRC(in []byte) bool {
	if len(in) < 5 || in[0] != 0 || len(in) > inSize/2 {
		return false
	}
	copy(d.in[:], in)
	d.rng = 0xffffffff
	d.code = uint32(in[1])<<24 | uint32(in[2])<<16 | uint32(in[3])<<8 | uint32(in[4])
	d.ip = 5
	// A valid encoder never produces code == range.
	return d.code != 0xffffffff
}

// errDist and errMatchEnd are the ways LZMA data can be invalid inside
// decode; decode's caller turns them into messages with context.
type lzmaErr int

const (
	lzmaOK lzmaErr = iota
	lzmaBadDist
	lzmaPastChunk
)
