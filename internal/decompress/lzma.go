package decompress

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file is an LZMA and LZMA2 decoder written for kernel images. It
// decodes into one flat buffer that is both the output and the LZMA
// dictionary, so there is no circular window to manage and a hostile
// dictionary size in a header costs nothing: memory is bounded by the
// caller's output cap alone. Decoding is incremental (decodeMore), so a
// caller that only needs the first part of the output (such as the
// configuration inside a kernel) can stop early.

// Probability model layout: one []uint16 holds every probability, at
// these offsets.
const (
	lzmaStates       = 12
	lzmaPosStatesMax = 16

	probIsMatch    = 0
	probIsRep      = probIsMatch + lzmaStates*lzmaPosStatesMax
	probIsRepG0    = probIsRep + lzmaStates
	probIsRepG1    = probIsRepG0 + lzmaStates
	probIsRepG2    = probIsRepG1 + lzmaStates
	probIsRep0Long = probIsRepG2 + lzmaStates
	probPosSlot    = probIsRep0Long + lzmaStates*lzmaPosStatesMax
	probSpecPos    = probPosSlot + 4*64
	probAlign      = probSpecPos + 128 - 14
	probLen        = probAlign + 16
	probRepLen     = probLen + lenProbs
	probLiteral    = probRepLen + lenProbs

	// A length decoder: choice, choice2, low[16][8], mid[16][8], high[256].
	lenChoice  = 0
	lenChoice2 = 1
	lenLow     = 2
	lenMid     = lenLow + lzmaPosStatesMax*8
	lenHigh    = lenMid + lzmaPosStatesMax*8
	lenProbs   = lenHigh + 256

	probInit = 1 << 10 // probabilities start at 0.5 (of 1<<11)
)

var (
	errLZMACorrupt  = errors.New("corrupt LZMA data")
	errLZMADistance = fmt.Errorf("%w: match distance out of range", errLZMACorrupt)
)

// after returns the state after a symbol: a if the previous symbol was a
// literal (state < 7), else b.
func after(state, a, b uint32) uint32 {
	if state < 7 {
		return a
	}
	return b
}

// lzmaDecoder holds the state of one LZMA or LZMA2 stream.
type lzmaDecoder struct {
	in      []byte // compressed input
	pad     []byte // the tail of in from padBase, then rcPadding zero bytes
	padBase int
	inPos   int // next input byte
	inEnd   int // the range decoder may not read past this

	out       []byte // decoded output so far (len) and room to grow (cap)
	dictStart int    // matches may not reach before this (LZMA2 dict reset)
	max       int    // output cap

	rng, code uint32
	overrun   bool // the range decoder ran past inEnd

	lc, lp, pb uint32
	state      uint32
	rep        [4]uint32
	pendLen    int  // match bytes still to copy (a match split by a limit)
	eos        bool // end of stream reached
	probs      []uint16
}

func (d *lzmaDecoder) setProps(props byte) error {
	if props >= 9*5*5 {
		return fmt.Errorf("%w: bad properties byte %#x", errLZMACorrupt, props)
	}
	d.lc = uint32(props % 9)
	props /= 9
	d.lp = uint32(props % 5)
	d.pb = uint32(props / 5)
	n := probLiteral + 0x300<<(d.lc+d.lp)
	if cap(d.probs) >= n {
		d.probs = d.probs[:n]
	} else {
		d.probs = make([]uint16, n)
	}
	return nil
}

// resetState resets the probabilities and the coder state (not the
// dictionary).
func (d *lzmaDecoder) resetState() {
	for i := range d.probs {
		d.probs[i] = probInit
	}
	d.state = 0
	d.rep = [4]uint32{}
	d.pendLen = 0
}

// initRange starts the range decoder at d.inPos: a zero byte, then the
// 32-bit code.
func (d *lzmaDecoder) initRange() error {
	if d.inEnd-d.inPos < 5 {
		return fmt.Errorf("%w: truncated", errLZMACorrupt)
	}
	if d.in[d.inPos] != 0 {
		return fmt.Errorf("%w: bad range coder start", errLZMACorrupt)
	}
	d.code = binary.BigEndian.Uint32(d.in[d.inPos+1:])
	d.rng = 0xFFFFFFFF
	d.inPos += 5
	d.overrun = false
	return nil
}

// grow makes room for at least n more output bytes, within the cap.
func (d *lzmaDecoder) grow(n int) error {
	need := len(d.out) + n
	if need > d.max {
		return ErrTooLarge
	}
	if need <= cap(d.out) {
		return nil
	}
	c := 2 * cap(d.out)
	if c < need {
		c = need
	}
	if cap(d.out) == 0 {
		// Kernels compress 4 to 6 times: one allocation usually does.
		c = max(c, min(8*len(d.in)+1<<20, 64<<20))
	}
	if c > d.max {
		c = d.max
	}
	nb := make([]byte, len(d.out), c)
	copy(nb, d.out)
	d.out = nb
	return nil
}

// rc is the range decoder's working state, copied into locals of the hot
// loop and written back when it returns.
//
// normalize needs no end check: decoding one symbol reads fewer than
// rcPadding bytes, and before each symbol the decoder checks that at least
// that many follow in in. Near the end of the input it switches to a
// copy of the last bytes followed by rcPadding zeros (lzmaDecoder.pad),
// and checks after each symbol that it has not gone past the real end.
type rc struct {
	rng, code uint32
	in        []byte
	pos       int
}

// rcPadding is more than the input bytes one LZMA symbol can use (a
// match: about 60 bits, each reading at most one byte).
const rcPadding = 128

func (r *rc) normalize() {
	if r.rng < 1<<24 {
		r.rng <<= 8
		r.code = r.code<<8 | uint32(r.in[r.pos])
		r.pos++
	}
}

func (r *rc) bit(p *uint16) uint32 {
	r.normalize()
	bound := (r.rng >> 11) * uint32(*p)
	if r.code < bound {
		r.rng = bound
		*p += (1<<11 - *p) >> 5
		return 0
	}
	r.rng -= bound
	r.code -= bound
	*p -= *p >> 5
	return 1
}

// fill is the range decoder's normalisation on register state: when the
// range has shrunk below 2^24, shift in the next input byte.
func fill(rng, code uint32, ip int, in []byte) (uint32, uint32, int) {
	if rng < 1<<24 {
		return rng << 8, code<<8 | uint32(in[ip]), ip + 1
	}
	return rng, code, ip
}

// bitFree decodes one bit with probability *p on register state, without
// branches: literal and tree bits are close to random, and a mispredicted
// branch costs more than these few operations.
func bitFree(rng, code uint32, p *uint16) (uint32, uint32, uint32) {
	pv := uint32(*p)
	bound := (rng >> 11) * pv
	b := uint32((uint64(code)-uint64(bound))>>63) ^ 1 // code >= bound
	m := 0 - b
	*p = uint16(pv + (1<<11-pv)>>5&^m - pv>>5&m)
	return bound ^ (bound^(rng-bound))&m, code - bound&m, b
}

// tree decodes an n-bit symbol MSB first with the probabilities p[1:1<<n].
// The range decoder state is kept in locals (registers) for the loop, and
// the bits are decoded without branches, as in the literal loops.
func (r *rc) tree(p []uint16, n uint) uint32 {
	rng, code, ip, in := r.rng, r.code, r.pos, r.in
	m := uint32(1)
	for range n {
		rng, code, ip = fill(rng, code, ip, in)
		var b uint32
		rng, code, b = bitFree(rng, code, &p[m])
		m = m<<1 | b
	}
	r.rng, r.code, r.pos = rng, code, ip
	return m - 1<<n
}

// reverse decodes an n-bit symbol LSB first with the probabilities p[1:].
func (r *rc) reverse(p []uint16, n uint) uint32 {
	rng, code, ip, in := r.rng, r.code, r.pos, r.in
	m, sym := uint32(1), uint32(0)
	for i := range n {
		rng, code, ip = fill(rng, code, ip, in)
		var b uint32
		rng, code, b = bitFree(rng, code, &p[m])
		m = m<<1 | b
		sym |= b << i
	}
	r.rng, r.code, r.pos = rng, code, ip
	return sym
}

func (r *rc) direct(n uint32) uint32 {
	var v uint32
	for range n {
		r.normalize()
		r.rng >>= 1
		r.code -= r.rng
		t := 0 - (r.code >> 31)
		r.code += r.rng & t
		v = v<<1 + (t + 1)
	}
	return v
}

func (r *rc) length(p []uint16, posState uint32) uint32 {
	if r.bit(&p[lenChoice]) == 0 {
		return r.tree(p[lenLow+posState*8:], 3)
	}
	if r.bit(&p[lenChoice2]) == 0 {
		return 8 + r.tree(p[lenMid+posState*8:], 3)
	}
	return 16 + r.tree(p[lenHigh:], 8)
}

// decode decodes until the output reaches limit bytes or the stream ends
// (end marker). The output buffer must already have room for limit bytes.
// With allowEOS false (LZMA2), an end marker is an error.
func (d *lzmaDecoder) decode(limit int, allowEOS bool) error {
	if limit > cap(d.out) {
		return fmt.Errorf("internal error: LZMA limit %d beyond buffer %d", limit, cap(d.out))
	}
	out := d.out[:cap(d.out)]
	pos := len(d.out)
	// Positions in the range decoder are relative to base: 0 while it
	// reads d.in itself, padBase once it reads the padded tail.
	base, buf := 0, d.in
	if d.pad != nil {
		base, buf = d.padBase, d.pad
	}
	inEnd := d.inEnd - base
	safe := min(inEnd+1, len(buf)-rcPadding)
	if d.pad != nil {
		safe = inEnd + 1
	}
	r := rc{rng: d.rng, code: d.code, in: buf, pos: d.inPos - base}
	probs := d.probs
	state := d.state
	rep0, rep1, rep2, rep3 := d.rep[0], d.rep[1], d.rep[2], d.rep[3]
	lc, lpMask, pbMask := d.lc, uint32(1)<<d.lp-1, uint32(1)<<d.pb-1
	dictStart := d.dictStart
	var err error

	// A match cut short by the previous limit.
	if d.pendLen > 0 {
		n := min(d.pendLen, limit-pos)
		src := pos - int(rep0) - 1
		for i := range n {
			out[pos+i] = out[src+i]
		}
		pos += n
		d.pendLen -= n
	}

	for pos < limit {
		if r.pos >= safe {
			if r.pos > inEnd {
				err = fmt.Errorf("%w: truncated input", errLZMACorrupt)
				break
			}
			// Near the end of the input: continue on a padded copy of
			// what is left of it.
			t := base + r.pos
			d.pad = make([]byte, len(d.in)-t+rcPadding)
			copy(d.pad, d.in[t:])
			d.padBase = t
			inEnd -= r.pos
			base, r.in, r.pos = t, d.pad, 0
			safe = inEnd + 1
		}
		posState := uint32(pos-dictStart) & pbMask
		if r.bit(&probs[probIsMatch+state<<4+posState]) == 0 {
			// Literal.
			var prev uint32
			if pos > dictStart {
				prev = uint32(out[pos-1])
			}
			lit := probs[probLiteral+0x300*((uint32(pos-dictStart)&lpMask)<<lc+prev>>(8-lc)):]
			lit = lit[:0x300]
			// The literal loops are the hottest code: the range decoder
			// state is kept in registers (fill and bitFree are inlined).
			sym := uint32(1)
			rng, code, ip, in := r.rng, r.code, r.pos, r.in
			var b uint32
			if state >= 7 {
				mp := pos - int(rep0) - 1
				if mp < dictStart {
					err = errLZMADistance
					break
				}
				match := uint32(out[mp])
				for sym < 0x100 {
					mb := (match >> 7) & 1
					match <<= 1
					rng, code, ip = fill(rng, code, ip, in)
					rng, code, b = bitFree(rng, code, &lit[0x100+mb<<8+sym])
					sym = sym<<1 | b
					if mb != b {
						break
					}
				}
			}
			for sym < 0x100 {
				rng, code, ip = fill(rng, code, ip, in)
				rng, code, b = bitFree(rng, code, &lit[sym&0xFF])
				sym = sym<<1 | b
			}
			r.rng, r.code, r.pos = rng, code, ip
			out[pos] = byte(sym)
			pos++
			switch {
			case state < 4:
				state = 0
			case state < 10:
				state -= 3
			default:
				state -= 6
			}
			continue
		}

		var n uint32
		if r.bit(&probs[probIsRep+state]) == 0 {
			// Simple match: a new distance.
			rep3, rep2, rep1 = rep2, rep1, rep0
			n = r.length(probs[probLen:probLen+lenProbs], posState)
			state = after(state, 7, 10)
			ls := min(n, 3)
			slot := r.tree(probs[probPosSlot+ls*64:probPosSlot+ls*64+64], 6)
			if slot < 4 {
				rep0 = slot
			} else {
				nb := slot>>1 - 1
				dist := (2 | slot&1) << nb
				if slot < 14 {
					base := probSpecPos + int(dist) - int(slot) - 1
					dist += r.reverse(probs[base:base+1<<nb], uint(nb))
				} else {
					dist += r.direct(nb-4) << 4
					dist += r.reverse(probs[probAlign:probAlign+16], 4)
				}
				rep0 = dist
			}
			if rep0 == 0xFFFFFFFF {
				if r.pos > inEnd {
					err = fmt.Errorf("%w: truncated input", errLZMACorrupt)
					break
				}
				if !allowEOS {
					err = fmt.Errorf("%w: end marker in LZMA2 chunk", errLZMACorrupt)
					break
				}
				d.eos = true
				break
			}
		} else {
			if r.bit(&probs[probIsRepG0+state]) == 0 {
				if r.bit(&probs[probIsRep0Long+state<<4+posState]) == 0 {
					// Short rep: one byte at distance rep0.
					state = after(state, 9, 11)
					src := pos - int(rep0) - 1
					if src < dictStart {
						err = errLZMADistance
						break
					}
					out[pos] = out[src]
					pos++
					continue
				}
			} else {
				var dist uint32
				if r.bit(&probs[probIsRepG1+state]) == 0 {
					dist = rep1
				} else {
					if r.bit(&probs[probIsRepG2+state]) == 0 {
						dist = rep2
					} else {
						dist = rep3
						rep3 = rep2
					}
					rep2 = rep1
				}
				rep1 = rep0
				rep0 = dist
			}
			n = r.length(probs[probRepLen:probRepLen+lenProbs], posState)
			state = after(state, 8, 11)
		}

		// Copy the match: n+2 bytes from distance rep0+1.
		src := pos - int(rep0) - 1
		if src < dictStart {
			err = errLZMADistance
			break
		}
		total := int(n) + 2
		cnt := min(total, limit-pos)
		o := out[pos : pos+cnt]
		switch {
		case cnt <= 32:
			// Short matches are most of them: a loop beats a call to
			// memmove, and copies an overlapping match (period rep0+1)
			// correctly byte by byte.
			in := out[src : src+cnt]
			for i := range o {
				o[i] = in[i]
			}
		case int(rep0)+1 >= cnt:
			copy(o, out[src:src+cnt])
		default:
			// Long and overlapping: copy the period, then double.
			k := copy(o, out[src:pos])
			for k < len(o) {
				k += copy(o[k:], o[:k])
			}
		}
		pos += cnt
		d.pendLen = total - cnt
	}

	// Leave the range decoder normalized, so that the end of an LZMA2
	// chunk shows as all of its input consumed.
	r.normalize()
	d.out = out[:pos]
	d.rng, d.code, d.inPos = r.rng, r.code, base+r.pos
	d.overrun = r.pos > inEnd
	d.state = state
	d.rep = [4]uint32{rep0, rep1, rep2, rep3}
	if err == nil && d.overrun {
		err = fmt.Errorf("%w: truncated input", errLZMACorrupt)
	}
	return err
}

// rangeFinished reports whether the range decoder ended cleanly, as every
// LZMA2 chunk and a well-formed .lzma stream must.
func (d *lzmaDecoder) rangeFinished() bool { return d.code == 0 }
