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

// The range decoder's state (range, code, input position) lives in local
// variables of decode, which Go keeps in registers, and is passed to and
// returned from the helpers below by value. Its input needs no end check:
// decoding one symbol reads fewer than rcPadding bytes, and before each
// symbol decode checks that at least that many follow. Near the end of
// the input it switches to a copy of the last bytes followed by
// rcPadding zeros (lzmaDecoder.pad), and checks after each symbol that it
// has not gone past the real end.

// rcPadding is more than the input bytes one LZMA symbol can use (a
// match: at most 48 bits, each reading at most one byte).
const rcPadding = 128

// fill is the range decoder's normalisation: when the range has shrunk
// below 2^24, shift in the next input byte.
func fill(rng, code uint32, ip int, in []byte) (uint32, uint32, int) {
	if rng < 1<<24 {
		return rng << 8, code<<8 | uint32(in[ip]), ip + 1
	}
	return rng, code, ip
}

// bitFree decodes one bit with probability *p, without branches: most
// LZMA bits are close to random, and a mispredicted branch costs more
// than these few operations.
func bitFree(rng, code uint32, p *uint16) (uint32, uint32, uint32) {
	pv := uint32(*p)
	bound := (rng >> 11) * pv
	b := uint32((uint64(code)-uint64(bound))>>63) ^ 1 // code >= bound
	m := 0 - b
	*p = uint16(pv + (1<<11-pv)>>5&^m - pv>>5&m)
	return bound ^ (bound^(rng-bound))&m, code - bound&m, b
}

// bitTree decodes an n-bit symbol MSB first with the probabilities
// p[1:1<<n].
func bitTree(rng, code uint32, ip int, in []byte, p []uint16, n uint) (uint32, uint32, int, uint32) {
	m := uint32(1)
	var b uint32
	for range n {
		rng, code, ip = fill(rng, code, ip, in)
		rng, code, b = bitFree(rng, code, &p[m])
		m = m<<1 | b
	}
	return rng, code, ip, m - 1<<n
}

// bitReverse decodes an n-bit symbol LSB first with the probabilities
// p[1:].
func bitReverse(rng, code uint32, ip int, in []byte, p []uint16, n uint) (uint32, uint32, int, uint32) {
	m, sym := uint32(1), uint32(0)
	var b uint32
	for i := range n {
		rng, code, ip = fill(rng, code, ip, in)
		rng, code, b = bitFree(rng, code, &p[m])
		m = m<<1 | b
		sym |= b << i
	}
	return rng, code, ip, sym
}

// bitDirect decodes n bits of probability one half.
func bitDirect(rng, code uint32, ip int, in []byte, n uint32) (uint32, uint32, int, uint32) {
	var v uint32
	for range n {
		rng, code, ip = fill(rng, code, ip, in)
		rng >>= 1
		code -= rng
		t := 0 - (code >> 31)
		code += rng & t
		v = v<<1 + (t + 1)
	}
	return rng, code, ip, v
}

// bitLength decodes a match length (0 means 2 bytes) with length decoder p.
func bitLength(rng, code uint32, ip int, in []byte, p []uint16, posState uint32) (uint32, uint32, int, uint32) {
	var b, v uint32
	rng, code, ip = fill(rng, code, ip, in)
	if rng, code, b = bitFree(rng, code, &p[lenChoice]); b == 0 {
		return bitTree(rng, code, ip, in, p[lenLow+posState*8:], 3)
	}
	rng, code, ip = fill(rng, code, ip, in)
	if rng, code, b = bitFree(rng, code, &p[lenChoice2]); b == 0 {
		rng, code, ip, v = bitTree(rng, code, ip, in, p[lenMid+posState*8:], 3)
		return rng, code, ip, 8 + v
	}
	rng, code, ip, v = bitTree(rng, code, ip, in, p[lenHigh:], 8)
	return rng, code, ip, 16 + v
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
	probs := d.probs
	state := d.state
	rep0, rep1, rep2, rep3 := d.rep[0], d.rep[1], d.rep[2], d.rep[3]
	lc, lpMask, pbMask := d.lc, uint32(1)<<d.lp-1, uint32(1)<<d.pb-1
	dictStart := d.dictStart
	var err error

	// Input positions are relative to base: 0 while the decoder reads
	// d.in itself, padBase once it reads the padded tail.
	base, in := 0, d.in
	if d.pad != nil {
		base, in = d.padBase, d.pad
	}
	inEnd := d.inEnd - base
	safe := min(inEnd+1, len(in)-rcPadding)
	if d.pad != nil {
		safe = inEnd + 1
	}
	rng, code, ip := d.rng, d.code, d.inPos-base
	var b, v uint32

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
		if ip >= safe {
			if ip > inEnd {
				err = fmt.Errorf("%w: truncated input", errLZMACorrupt)
				break
			}
			// Near the end of the input: continue on a padded copy of
			// what is left of it.
			t := base + ip
			d.pad = make([]byte, len(d.in)-t+rcPadding)
			copy(d.pad, d.in[t:])
			d.padBase = t
			inEnd -= ip
			base, in, ip = t, d.pad, 0
			safe = inEnd + 1
		}
		posState := uint32(pos-dictStart) & pbMask
		rng, code, ip = fill(rng, code, ip, in)
		if rng, code, b = bitFree(rng, code, &probs[probIsMatch+state<<4+posState]); b == 0 {
			// Literal: the hottest code.
			var prev uint32
			if pos > dictStart {
				prev = uint32(out[pos-1])
			}
			lit := probs[probLiteral+0x300*((uint32(pos-dictStart)&lpMask)<<lc+prev>>(8-lc)):]
			lit = lit[:0x300]
			sym := uint32(1)
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
		rng, code, ip = fill(rng, code, ip, in)
		if rng, code, b = bitFree(rng, code, &probs[probIsRep+state]); b == 0 {
			// Simple match: a new distance.
			rep3, rep2, rep1 = rep2, rep1, rep0
			rng, code, ip, n = bitLength(rng, code, ip, in, probs[probLen:probLen+lenProbs], posState)
			state = after(state, 7, 10)
			ls := min(n, 3)
			var slot uint32
			rng, code, ip, slot = bitTree(rng, code, ip, in, probs[probPosSlot+ls*64:probPosSlot+ls*64+64], 6)
			if slot < 4 {
				rep0 = slot
			} else {
				nb := slot>>1 - 1
				dist := (2 | slot&1) << nb
				if slot < 14 {
					sp := probSpecPos + int(dist) - int(slot) - 1
					rng, code, ip, v = bitReverse(rng, code, ip, in, probs[sp:sp+1<<nb], uint(nb))
					dist += v
				} else {
					rng, code, ip, v = bitDirect(rng, code, ip, in, nb-4)
					dist += v << 4
					rng, code, ip, v = bitReverse(rng, code, ip, in, probs[probAlign:probAlign+16], 4)
					dist += v
				}
				rep0 = dist
			}
			if rep0 == 0xFFFFFFFF {
				if ip > inEnd {
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
			rng, code, ip = fill(rng, code, ip, in)
			if rng, code, b = bitFree(rng, code, &probs[probIsRepG0+state]); b == 0 {
				rng, code, ip = fill(rng, code, ip, in)
				if rng, code, b = bitFree(rng, code, &probs[probIsRep0Long+state<<4+posState]); b == 0 {
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
				rng, code, ip = fill(rng, code, ip, in)
				if rng, code, b = bitFree(rng, code, &probs[probIsRepG1+state]); b == 0 {
					dist = rep1
				} else {
					rng, code, ip = fill(rng, code, ip, in)
					if rng, code, b = bitFree(rng, code, &probs[probIsRepG2+state]); b == 0 {
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
			rng, code, ip, n = bitLength(rng, code, ip, in, probs[probRepLen:probRepLen+lenProbs], posState)
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
	rng, code, ip = fill(rng, code, ip, in)
	d.out = out[:pos]
	d.rng, d.code, d.inPos = rng, code, base+ip
	d.overrun = ip > inEnd
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
