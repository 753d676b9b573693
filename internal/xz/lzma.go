package xz

import "encoding/binary"

// The LZMA decoder. Everything the hot loop touches lives either in
// local variables of decode (range coder, state, reps, positions) or in
// fixed-size arrays that are indexed with masked indices, so that the
// compiler drops the bounds checks. Decoding follows the LZMA
// specification (as in XZ Embedded and liblzma); the code is our own.

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

// decode decodes LZMA symbols from d.in (one chunk's compressed data, the
// range decoder already started) into win at op. It stops as soon as
// op >= limit; a match may run past limit, but never past end, the end
// of the chunk's uncompressed data. win must have room for
// limit+maxMatch bytes. dictStart is the window index of the last
// dictionary reset (it may be negative when the window has slid), and
// dictSize the dictionary size: matches reach back at most
// min(op-dictStart, dictSize) bytes. decode returns the new op.
//
// The compressed data is d.in, loaded by initRC; its length is the
// caller's business: it detects an overrun from d.ip.
//
// The bit decoding is written out by hand at every use, and the literal
// trees are unrolled, on purpose: measured on the kernel header
// archives, the literal loops cost 4% more than the unrolled code, and a
// bit-decoding helper that the compiler inlines 10% more (it keeps the
// decoded bit in a register and branches on it a second time).
func (d *lzmaDecoder) decode(win []byte, op, limit, end, dictStart, dictSize int) (int, lzmaErr) {
	rng, code, ip := d.rng, d.code, d.ip
	state := d.state
	rep0 := d.rep0
	lc := d.lc & 7
	lpMask, pbMask := d.lpMask, d.pbMask
	fail := lzmaOK

	for op < limit {
		pos := uint32(op - dictStart)
		posState := pos & pbMask

		// isMatch
		pi := &d.isMatch[(state<<4|posState)&255]
		p := uint32(*pi)
		bound := (rng >> probBits) * p
		if code < bound {
			rng = bound
			*pi = uint16(p + (1<<probBits-p)>>moveBits)
			if rng < rcTop {
				rng <<= 8
				code <<= 8
				code |= uint32(d.in[ip&inMask])
				ip++
			}

			// Literal.
			// The previous byte; none right after a dictionary reset.
			// op > dictStart implies op >= 1: a slide keeps the history.
			var prev uint32
			if op > dictStart {
				prev = uint32(win[op-1])
			}
			base := (((pos & lpMask) << lc) + prev>>(8-lc)) * 0x300
			sym := uint32(1)
			if state < litStates7 {
				// Unrolled: eight bits, most significant first.
				pi = &d.literal[(base+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				pi = &d.literal[(base+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				pi = &d.literal[(base+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				pi = &d.literal[(base+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				pi = &d.literal[(base+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				pi = &d.literal[(base+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				pi = &d.literal[(base+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				pi = &d.literal[(base+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
			} else {
				mpos := op - int(rep0) - 1
				// rep0 was validated when the match that set it was
				// decoded, and the window keeps dictSize bytes of history.
				match := uint32(win[mpos])
				offs := uint32(0x100)
				var bit uint32
				match <<= 1
				bit = offs
				offs &= match
				pi = &d.literal[(base+offs+bit+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
					offs ^= bit
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				match <<= 1
				bit = offs
				offs &= match
				pi = &d.literal[(base+offs+bit+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
					offs ^= bit
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				match <<= 1
				bit = offs
				offs &= match
				pi = &d.literal[(base+offs+bit+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
					offs ^= bit
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				match <<= 1
				bit = offs
				offs &= match
				pi = &d.literal[(base+offs+bit+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
					offs ^= bit
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				match <<= 1
				bit = offs
				offs &= match
				pi = &d.literal[(base+offs+bit+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
					offs ^= bit
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				match <<= 1
				bit = offs
				offs &= match
				pi = &d.literal[(base+offs+bit+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
					offs ^= bit
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				match <<= 1
				bit = offs
				offs &= match
				pi = &d.literal[(base+offs+bit+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
					offs ^= bit
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				match <<= 1
				bit = offs
				offs &= match
				pi = &d.literal[(base+offs+bit+sym)&litMask]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
					offs ^= bit
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
			}
			win[op] = byte(sym)
			op++
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
		rng -= bound
		code -= bound
		*pi = uint16(p - p>>moveBits)
		if rng < rcTop {
			rng <<= 8
			code <<= 8
			code |= uint32(d.in[ip&inMask])
			ip++
		}

		// isRep
		var lp *lenProbs
		isMatch := false
		pi = &d.isRep[state&15]
		p = uint32(*pi)
		bound = (rng >> probBits) * p
		if code < bound {
			rng = bound
			*pi = uint16(p + (1<<probBits-p)>>moveBits)
			if rng < rcTop {
				rng <<= 8
				code <<= 8
				code |= uint32(d.in[ip&inMask])
				ip++
			}
			// Simple match.
			isMatch = true
			d.rep3, d.rep2, d.rep1 = d.rep2, d.rep1, rep0
			lp = &d.matchLen
			if state < litStates7 {
				state = 7
			} else {
				state = 10
			}
		} else {
			rng -= bound
			code -= bound
			*pi = uint16(p - p>>moveBits)
			if rng < rcTop {
				rng <<= 8
				code <<= 8
				code |= uint32(d.in[ip&inMask])
				ip++
			}
			// Rep match: isRepG0
			pi = &d.isRepG0[state&15]
			p = uint32(*pi)
			bound = (rng >> probBits) * p
			if code < bound {
				rng = bound
				*pi = uint16(p + (1<<probBits-p)>>moveBits)
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				// isRep0Long
				pi = &d.isRep0Long[(state<<4|posState)&255]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					if rng < rcTop {
						rng <<= 8
						code <<= 8
						code |= uint32(d.in[ip&inMask])
						ip++
					}
					// Short rep: one byte from rep0.
					avail := op - dictStart
					if avail > dictSize {
						avail = dictSize
					}
					if uint(rep0) >= uint(avail) {
						fail = lzmaBadDist
						break
					}
					if state < litStates7 {
						state = 9
					} else {
						state = 11
					}
					b := win[op-int(rep0)-1]
					win[op] = b
					op++
					continue
				}
				rng -= bound
				code -= bound
				*pi = uint16(p - p>>moveBits)
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
			} else {
				rng -= bound
				code -= bound
				*pi = uint16(p - p>>moveBits)
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				// isRepG1
				var dist uint32
				pi = &d.isRepG1[state&15]
				p = uint32(*pi)
				bound = (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					dist = d.rep1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					if rng < rcTop {
						rng <<= 8
						code <<= 8
						code |= uint32(d.in[ip&inMask])
						ip++
					}
					// isRepG2
					pi = &d.isRepG2[state&15]
					p = uint32(*pi)
					bound = (rng >> probBits) * p
					if code < bound {
						rng = bound
						*pi = uint16(p + (1<<probBits-p)>>moveBits)
						dist = d.rep2
					} else {
						rng -= bound
						code -= bound
						*pi = uint16(p - p>>moveBits)
						dist = d.rep3
						d.rep3 = d.rep2
					}
					d.rep2 = d.rep1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				d.rep1 = rep0
				rep0 = dist
			}
			lp = &d.repLen
			if state < litStates7 {
				state = 8
			} else {
				state = 11
			}
		}

		// Length.
		var length uint32
		p = uint32(lp.choice)
		bound = (rng >> probBits) * p
		if code < bound {
			rng = bound
			lp.choice = uint16(p + (1<<probBits-p)>>moveBits)
			if rng < rcTop {
				rng <<= 8
				code <<= 8
				code |= uint32(d.in[ip&inMask])
				ip++
			}
			sym := uint32(1)
			for sym < 8 {
				pi := &lp.low[(posState<<3+sym)&127]
				p := uint32(*pi)
				bound := (rng >> probBits) * p
				if code < bound {
					rng = bound
					*pi = uint16(p + (1<<probBits-p)>>moveBits)
					sym <<= 1
				} else {
					rng -= bound
					code -= bound
					*pi = uint16(p - p>>moveBits)
					sym = sym<<1 | 1
				}
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
			}
			length = sym - 8
		} else {
			rng -= bound
			code -= bound
			lp.choice = uint16(p - p>>moveBits)
			if rng < rcTop {
				rng <<= 8
				code <<= 8
				code |= uint32(d.in[ip&inMask])
				ip++
			}
			p = uint32(lp.choice2)
			bound = (rng >> probBits) * p
			if code < bound {
				rng = bound
				lp.choice2 = uint16(p + (1<<probBits-p)>>moveBits)
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				sym := uint32(1)
				for sym < 8 {
					pi := &lp.mid[(posState<<3+sym)&127]
					p := uint32(*pi)
					bound := (rng >> probBits) * p
					if code < bound {
						rng = bound
						*pi = uint16(p + (1<<probBits-p)>>moveBits)
						sym <<= 1
					} else {
						rng -= bound
						code -= bound
						*pi = uint16(p - p>>moveBits)
						sym = sym<<1 | 1
					}
					if rng < rcTop {
						rng <<= 8
						code <<= 8
						code |= uint32(d.in[ip&inMask])
						ip++
					}
				}
				length = sym - 8 + 8
			} else {
				rng -= bound
				code -= bound
				lp.choice2 = uint16(p - p>>moveBits)
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
				sym := uint32(1)
				for sym < 0x100 {
					pi := &lp.high[sym&255]
					p := uint32(*pi)
					bound := (rng >> probBits) * p
					if code < bound {
						rng = bound
						*pi = uint16(p + (1<<probBits-p)>>moveBits)
						sym <<= 1
					} else {
						rng -= bound
						code -= bound
						*pi = uint16(p - p>>moveBits)
						sym = sym<<1 | 1
					}
					if rng < rcTop {
						rng <<= 8
						code <<= 8
						code |= uint32(d.in[ip&inMask])
						ip++
					}
				}
				length = sym - 0x100 + 16
			}
		}

		if isMatch {
			// Distance slot.
			lenState := length
			if lenState > 3 {
				lenState = 3
			}
			sym := uint32(1)
			for sym < 64 {
				pi := &d.distSlot[(lenState<<6+sym)&255]
				p := uint32(*pi)
				bound := (rng >> probBits) * p
				// Branchless: these bits are close to random.
				m := uint32(int64(uint64(code)-uint64(bound)) >> 63) // all ones for a 0 bit
				p0 := p + (1<<probBits-p)>>moveBits
				p1 := p - p>>moveBits
				*pi = uint16(p1 ^ (p0^p1)&m)
				r1 := rng - bound
				rng = r1 ^ (r1^bound)&m
				code -= bound &^ m
				sym = sym<<1 + 1 + m
				if rng < rcTop {
					rng <<= 8
					code <<= 8
					code |= uint32(d.in[ip&inMask])
					ip++
				}
			}
			slot := sym - 64
			if slot < 4 {
				rep0 = slot
			} else {
				nd := slot>>1 - 1
				rep0 = (2 | slot&1) << nd
				if slot < endPosModel {
					off := rep0 - slot - 1
					sym := uint32(1)
					for i := uint32(0); i < nd; i++ {
						pi := &d.distSpec[(off+sym)&127]
						p := uint32(*pi)
						bound := (rng >> probBits) * p
						if code < bound {
							rng = bound
							*pi = uint16(p + (1<<probBits-p)>>moveBits)
							sym <<= 1
						} else {
							rng -= bound
							code -= bound
							*pi = uint16(p - p>>moveBits)
							sym = sym<<1 | 1
							rep0 |= 1 << i
						}
						if rng < rcTop {
							rng <<= 8
							code <<= 8
							code |= uint32(d.in[ip&inMask])
							ip++
						}
					}
				} else {
					var direct uint32
					for i := nd - alignBits; i > 0; i-- {
						rng >>= 1
						code -= rng
						t := 0 - code>>31 // all ones if code went "negative"
						code += rng & t
						direct = direct<<1 + (t + 1)
						if rng < rcTop {
							rng <<= 8
							code <<= 8
							code |= uint32(d.in[ip&inMask])
							ip++
						}
					}
					rep0 += direct << alignBits
					sym := uint32(1)
					for i := uint32(0); i < alignBits; i++ {
						pi := &d.align[sym&15]
						p := uint32(*pi)
						bound := (rng >> probBits) * p
						// Branchless: these bits are close to random.
						m := uint32(int64(uint64(code)-uint64(bound)) >> 63) // all ones for a 0 bit
						p0 := p + (1<<probBits-p)>>moveBits
						p1 := p - p>>moveBits
						*pi = uint16(p1 ^ (p0^p1)&m)
						r1 := rng - bound
						rng = r1 ^ (r1^bound)&m
						code -= bound &^ m
						sym = sym<<1 + 1 + m
						rep0 |= (1 + m) << i
						if rng < rcTop {
							rng <<= 8
							code <<= 8
							code |= uint32(d.in[ip&inMask])
							ip++
						}
					}
				}
			}
		}

		// Copy the match. rep0 == 0xffffffff (the end marker, not
		// allowed in LZMA2) fails the distance check too.
		avail := op - dictStart
		if avail > dictSize {
			avail = dictSize
		}
		if uint(rep0) >= uint(avail) {
			fail = lzmaBadDist
			break
		}
		n := int(length) + minMatch
		if n > end-op {
			fail = lzmaPastChunk
			break
		}
		src := op - int(rep0) - 1
		switch {
		case rep0 >= 7 && (n <= 64 || int(rep0) < n-1):
			// Eight bytes at a time. The source is at least eight bytes
			// back, so every word read is already final; the last word
			// may write up to seven bytes past the match, into space
			// that is not yet decoded (the window has slack for it).
			for i := 0; i < n; i += 8 {
				binary.LittleEndian.PutUint64(win[op+i:], binary.LittleEndian.Uint64(win[src+i:]))
			}
		case rep0 >= 7:
			copy(win[op:op+n], win[src:src+n])
		default:
			// A distance under eight: the match repeats a short
			// pattern. Copy the first eight bytes one by one, then
			// words from a multiple of the distance that is at least
			// eight bytes back.
			for i := 0; i < 8; i++ {
				win[op+i] = win[src+i]
			}
			back := op - src
			back *= (8 + back - 1) / back
			for i := 8; i < n; i += 8 {
				binary.LittleEndian.PutUint64(win[op+i:], binary.LittleEndian.Uint64(win[op+i-back:]))
			}
		}
		op += n
	}

	d.rng, d.code, d.ip = rng, code, ip
	d.state = state
	d.rep0 = rep0
	return op, fail
}
