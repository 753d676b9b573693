package xz

import "encoding/binary"

// BCJ (branch/call/jump) filters undo what the xz encoder did to make
// machine code compress better: it rewrote relative branch targets as
// absolute addresses. The kernel build uses them for xz-compressed images
// (scripts/xz_wrap.sh): x86, PowerPC, ARM, ARM-Thumb and SPARC, and
// ARM64 since Linux 6.9. The algorithms are the standard ones of the xz
// format specification (ARM64 as xz 5.4 defines it). IA-64 and RISC-V
// are not implemented: no kernel image of interest uses them.

// xz filter IDs of the BCJ filters.
const (
	bcjX86      = 0x04
	bcjPowerPC  = 0x05
	bcjARM      = 0x07
	bcjARMThumb = 0x08
	bcjSPARC    = 0x09
	bcjARM64    = 0x0a
)

// bcjSupported reports whether id is a BCJ filter this package decodes.
func bcjSupported(id uint64) bool {
	switch id {
	case bcjX86, bcjPowerPC, bcjARM, bcjARMThumb, bcjSPARC, bcjARM64:
		return true
	}
	return false
}

// bcj is the state of one BCJ decoding filter. The filter works in
// place on the output of the LZMA2 decoder and keeps no copy of it; an
// instruction split by the end of the buffer is left for the next call.
type bcj struct {
	id      uint64
	pos     uint32 // stream position of the next byte (start offset + done)
	x86Mask uint32
}

// apply filters buf in place and returns how many leading bytes are final;
// the rest must be passed again, with more data after it. With final set
// (the end of the data) every byte is returned.
func (f *bcj) apply(buf []byte, final bool) int {
	var n int
	switch f.id {
	case bcjX86:
		n = f.x86(buf)
	case bcjPowerPC:
		n = f.powerpc(buf)
	case bcjARM:
		n = f.arm(buf)
	case bcjARMThumb:
		n = f.armThumb(buf)
	case bcjSPARC:
		n = f.sparc(buf)
	case bcjARM64:
		n = f.arm64(buf)
	}
	if final {
		n = len(buf)
	}
	f.pos += uint32(n)
	return n
}

func x86MSByte(b byte) bool { return b == 0x00 || b == 0xFF }

func (f *bcj) x86(buf []byte) int {
	allowed := [8]bool{true, true, true, false, true, false, false, false}
	bitNum := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
	if len(buf) <= 4 {
		return 0
	}
	size := len(buf) - 4
	prevPos := -1
	prevMask := f.x86Mask
	i := 0
	for ; i < size; i++ {
		if buf[i]&0xFE != 0xE8 {
			continue
		}
		d := i - prevPos
		if d > 3 {
			prevMask = 0
		} else {
			prevMask = (prevMask << (d - 1)) & 7
			if prevMask != 0 {
				b := buf[i+4-int(bitNum[prevMask])]
				if !allowed[prevMask] || x86MSByte(b) {
					prevPos = i
					prevMask = prevMask<<1 | 1
					continue
				}
			}
		}
		prevPos = i
		if x86MSByte(buf[i+4]) {
			src := binary.LittleEndian.Uint32(buf[i+1:])
			var dest uint32
			for {
				dest = src - (f.pos + uint32(i) + 5)
				if prevMask == 0 {
					break
				}
				j := bitNum[prevMask] * 8
				if !x86MSByte(byte(dest >> (24 - j))) {
					break
				}
				src = dest ^ (1<<(32-j) - 1)
			}
			dest &= 0x01FFFFFF
			dest |= 0 - (dest & 0x01000000)
			binary.LittleEndian.PutUint32(buf[i+1:], dest)
			i += 4
		} else {
			prevMask = prevMask<<1 | 1
		}
	}
	if d := i - prevPos; d > 3 {
		f.x86Mask = 0
	} else {
		f.x86Mask = prevMask << (d - 1)
	}
	return i
}

func (f *bcj) powerpc(buf []byte) int {
	i := 0
	for ; i+4 <= len(buf); i += 4 {
		in := binary.BigEndian.Uint32(buf[i:])
		if in&0xFC000003 == 0x48000001 {
			in &= 0x03FFFFFC
			in -= f.pos + uint32(i)
			in &= 0x03FFFFFC
			in |= 0x48000001
			binary.BigEndian.PutUint32(buf[i:], in)
		}
	}
	return i
}

func (f *bcj) arm(buf []byte) int {
	i := 0
	for ; i+4 <= len(buf); i += 4 {
		if buf[i+3] == 0xEB {
			a := uint32(buf[i]) | uint32(buf[i+1])<<8 | uint32(buf[i+2])<<16
			a <<= 2
			a -= f.pos + uint32(i) + 8
			a >>= 2
			buf[i], buf[i+1], buf[i+2] = byte(a), byte(a>>8), byte(a>>16)
		}
	}
	return i
}

func (f *bcj) armThumb(buf []byte) int {
	i := 0
	for ; i+4 <= len(buf); i += 2 {
		if buf[i+1]&0xF8 == 0xF0 && buf[i+3]&0xF8 == 0xF8 {
			a := (uint32(buf[i+1])&7)<<19 | uint32(buf[i])<<11 | (uint32(buf[i+3])&7)<<8 | uint32(buf[i+2])
			a <<= 1
			a -= f.pos + uint32(i) + 4
			a >>= 1
			buf[i+1] = byte(0xF0 | (a>>19)&7)
			buf[i] = byte(a >> 11)
			buf[i+3] = byte(0xF8 | (a>>8)&7)
			buf[i+2] = byte(a)
			i += 2
		}
	}
	return i
}

func (f *bcj) sparc(buf []byte) int {
	i := 0
	for ; i+4 <= len(buf); i += 4 {
		in := binary.BigEndian.Uint32(buf[i:])
		if in>>22 == 0x100 || in>>22 == 0x1FF {
			in <<= 2
			in -= f.pos + uint32(i)
			in >>= 2
			in = (0x40000000 - in&0x400000) | 0x40000000 | in&0x3FFFFF
			binary.BigEndian.PutUint32(buf[i:], in)
		}
	}
	return i
}

func (f *bcj) arm64(buf []byte) int {
	i := 0
	for ; i+4 <= len(buf); i += 4 {
		pc := f.pos + uint32(i)
		in := binary.LittleEndian.Uint32(buf[i:])
		switch {
		case in>>26 == 0x25: // BL
			in = 0x94000000 | (in-pc>>2)&0x03FFFFFF
			binary.LittleEndian.PutUint32(buf[i:], in)
		case in&0x9F000000 == 0x90000000: // ADRP
			src := (in>>29)&3 | (in>>3)&0x001FFFFC
			// Only targets within +-512 MiB were converted.
			if (src+0x00020000)&0x001C0000 != 0 {
				continue
			}
			dest := src - pc>>12
			in &= 0x9000001F
			in |= (dest & 3) << 29
			in |= (dest & 0x0003FFFC) << 3
			in |= (0 - dest&0x00020000) & 0x00E00000
			binary.LittleEndian.PutUint32(buf[i:], in)
		}
	}
	return i
}
