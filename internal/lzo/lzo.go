// Package lzo decodes lzop files, the LZO format the kernel build
// compresses images with ("lzop -9"): a header, then blocks of at most
// 256 KiB, each compressed with LZO1X on its own and optionally
// checksummed (Adler-32 or CRC-32). No maintained Go library decodes it;
// lzo1xDecode follows the bitstream description in the kernel's
// Documentation/staging/lzo.rst.
//
// It decodes from memory with a cap on the output; it must not sniff
// formats or know about other codecs (internal/decompress does).
package lzo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"io"
)

// Magic is the first bytes of an lzop file.
const Magic = "\x89LZO\x00\r\n\x1a\n"

// ErrCorrupt means the data is not a valid lzop file.
var ErrCorrupt = errors.New("corrupt LZO data")

// ErrTooLarge means the decoded data would exceed the reader's cap.
var ErrTooLarge = errors.New("decompressed data exceeds size limit")

// lzop header flags.
const (
	lzopAdler32D   = 0x00000001
	lzopAdler32C   = 0x00000002
	lzopExtraField = 0x00000040
	lzopCRC32D     = 0x00000100
	lzopCRC32C     = 0x00000200
	lzopFilter     = 0x00000800
	lzopHeaderCRC  = 0x00001000
	lzopMaxBlock   = 64 << 20 // lzop itself uses at most 64 MiB blocks
)

// lzopReader reads an lzop file from memory, one block per step.
type lzopReader struct {
	data  []byte
	pos   int
	flags uint32
	out   []byte // the current block's output
	rpos  int
	total int64
	max   int64
	done  bool
	err   error
}

// NewReader returns a reader of the data decoded from the lzop file at
// the start of data, failing with ErrTooLarge before it would yield more
// than max bytes, and with ErrCorrupt for a bad header, block or
// checksum. Bytes after the end marker are ignored.
func NewReader(data []byte, max int64) (io.Reader, error) {
	r := &lzopReader{data: data, max: max}
	if err := r.header(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *lzopReader) need(n int) error {
	if len(r.data)-r.pos < n {
		return fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	return nil
}

func (r *lzopReader) u8() byte {
	b := r.data[r.pos]
	r.pos++
	return b
}

func (r *lzopReader) u16() uint16 {
	v := binary.BigEndian.Uint16(r.data[r.pos:])
	r.pos += 2
	return v
}

func (r *lzopReader) u32() uint32 {
	v := binary.BigEndian.Uint32(r.data[r.pos:])
	r.pos += 4
	return v
}

// header parses the lzop file header (lzop's own layout; versions before
// and after 0.9.4 differ).
func (r *lzopReader) header() error {
	magic := Magic
	if err := r.need(len(magic) + 7); err != nil {
		return err
	}
	if string(r.data[:len(magic)]) != magic {
		return fmt.Errorf("%w: no lzop magic", ErrCorrupt)
	}
	r.pos = len(magic)
	start := r.pos
	version := r.u16()
	r.u16() // library version
	if version >= 0x0940 {
		r.u16() // version needed to extract
	}
	if err := r.need(2); err != nil {
		return err
	}
	method := r.u8()
	if method < 1 || method > 3 {
		return fmt.Errorf("lzo: unsupported method %d (want LZO1X)", method)
	}
	if version >= 0x0940 {
		r.u8() // level
	}
	if err := r.need(4); err != nil {
		return err
	}
	r.flags = r.u32()
	n := 4 + 4 // mode, mtime low
	if r.flags&lzopFilter != 0 {
		n += 4
	}
	if version >= 0x0940 {
		n += 4 // mtime high
	}
	if err := r.need(n + 1); err != nil {
		return err
	}
	r.pos += n
	nameLen := int(r.u8())
	if err := r.need(nameLen + 4); err != nil {
		return err
	}
	r.pos += nameLen
	var sum uint32
	if r.flags&lzopHeaderCRC != 0 {
		sum = crc32.ChecksumIEEE(r.data[start:r.pos])
	} else {
		sum = adler32.Checksum(r.data[start:r.pos])
	}
	if r.u32() != sum {
		return fmt.Errorf("%w: header checksum mismatch", ErrCorrupt)
	}
	if r.flags&lzopExtraField != 0 {
		if err := r.need(4); err != nil {
			return err
		}
		n := int(r.u32())
		if err := r.need(n + 4); err != nil || n < 0 {
			return fmt.Errorf("%w: truncated extra field", ErrCorrupt)
		}
		r.pos += n + 4
	}
	return nil
}

// block decodes the next block into r.out.
func (r *lzopReader) block() error {
	if err := r.need(4); err != nil {
		return err
	}
	dlen := int(r.u32())
	if dlen == 0 {
		r.done = true
		return nil
	}
	if err := r.need(4); err != nil {
		return err
	}
	clen := int(r.u32())
	if dlen > lzopMaxBlock || clen > dlen {
		return fmt.Errorf("%w: bad block sizes %d/%d", ErrCorrupt, clen, dlen)
	}
	if r.total+int64(dlen) > r.max {
		return ErrTooLarge
	}
	var dsum, csum uint32
	var hasD, hasC bool
	for _, f := range []uint32{lzopAdler32D, lzopCRC32D} {
		if r.flags&f != 0 {
			if err := r.need(4); err != nil {
				return err
			}
			dsum, hasD = r.u32(), true
		}
	}
	if clen < dlen {
		for _, f := range []uint32{lzopAdler32C, lzopCRC32C} {
			if r.flags&f != 0 {
				if err := r.need(4); err != nil {
					return err
				}
				csum, hasC = r.u32(), true
			}
		}
	}
	if err := r.need(clen); err != nil {
		return err
	}
	src := r.data[r.pos : r.pos+clen]
	r.pos += clen
	if hasC && lzopSum(r.flags, lzopCRC32C, src) != csum {
		return fmt.Errorf("%w: compressed block checksum mismatch", ErrCorrupt)
	}
	if cap(r.out) < dlen {
		r.out = make([]byte, dlen)
	}
	r.out = r.out[:dlen]
	if clen == dlen {
		copy(r.out, src)
	} else {
		n, err := lzo1xDecode(src, r.out)
		if err != nil {
			return err
		}
		if n != dlen {
			return fmt.Errorf("%w: block decoded to %d bytes, want %d", ErrCorrupt, n, dlen)
		}
	}
	if hasD && lzopSum(r.flags, lzopCRC32D, r.out) != dsum {
		return fmt.Errorf("%w: block checksum mismatch", ErrCorrupt)
	}
	r.total += int64(dlen)
	return nil
}

func lzopSum(flags, crcFlag uint32, b []byte) uint32 {
	if flags&crcFlag != 0 {
		return crc32.ChecksumIEEE(b)
	}
	return adler32.Checksum(b)
}

// Read implements io.Reader.
func (r *lzopReader) Read(p []byte) (int, error) {
	for r.rpos == len(r.out) {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.out, r.rpos = r.out[:0], 0
		r.err = r.block()
	}
	n := copy(p, r.out[r.rpos:])
	r.rpos += n
	return n, nil
}

// lzo1xDecode decodes one LZO1X block from in into out, which must be
// large enough, and returns the decoded length. The whole input must be
// consumed, ending with the end-of-stream instruction.
func lzo1xDecode(in, out []byte) (int, error) {
	ip, op := 0, 0
	bad := func(what string) (int, error) {
		return op, fmt.Errorf("%w: %s at input %d", ErrCorrupt, what, ip)
	}
	if len(in) < 3 {
		return bad("input too short")
	}
	version := 0
	if len(in) >= 5 && in[0] == 17 {
		version = int(in[1])
		ip = 2
	}
	// long reads a length continued in zero bytes (255 each) and a final
	// nonzero byte.
	long := func(base int) (int, bool) {
		zeros := 0
		for ip < len(in) && in[ip] == 0 {
			ip++
			zeros++
			if zeros > 1<<24 {
				return 0, false
			}
		}
		if ip >= len(in) {
			return 0, false
		}
		n := base + zeros*255 + int(in[ip])
		ip++
		return n, true
	}
	literals := func(n int) bool {
		if n > len(in)-ip || n > len(out)-op {
			return false
		}
		copy(out[op:], in[ip:ip+n])
		ip += n
		op += n
		return true
	}
	state := 0
	var t int
	first := true
	for {
		if ip >= len(in) {
			return bad("truncated")
		}
		t = int(in[ip])
		ip++
		var dist, length, next int
		if first && t > 17 {
			// First byte 18..255: a literal run.
			first = false
			n := t - 17
			if !literals(n) {
				return bad("literal run overruns")
			}
			if n < 4 {
				state = n
			} else {
				state = 4
			}
			continue
		}
		first = false
		switch {
		case t < 16:
			switch state {
			case 0: // long literal run
				n := t
				if n == 0 {
					var ok bool
					if n, ok = long(15); !ok {
						return bad("bad literal length")
					}
				}
				if !literals(n + 3) {
					return bad("literal run overruns")
				}
				state = 4
				continue
			case 4: // 3 bytes from 2..3 KiB back
				if ip >= len(in) {
					return bad("truncated")
				}
				next = t & 3
				dist = int(in[ip])<<2 + t>>2 + 2049
				ip++
				length = 3
			default: // 2 bytes from within 1 KiB
				if ip >= len(in) {
					return bad("truncated")
				}
				next = t & 3
				dist = int(in[ip])<<2 + t>>2 + 1
				ip++
				length = 2
			}
		case t >= 64:
			if ip >= len(in) {
				return bad("truncated")
			}
			next = t & 3
			dist = int(in[ip])<<3 + (t>>2)&7 + 1
			ip++
			length = t>>5 + 1
		case t >= 32:
			length = t & 31
			if length == 0 {
				var ok bool
				if length, ok = long(31); !ok {
					return bad("bad match length")
				}
			}
			length += 2
			if len(in)-ip < 2 {
				return bad("truncated")
			}
			v := int(binary.LittleEndian.Uint16(in[ip:]))
			ip += 2
			dist = v>>2 + 1
			next = v & 3
		default: // 16..31
			if len(in)-ip < 2 {
				return bad("truncated")
			}
			v := int(binary.LittleEndian.Uint16(in[ip:]))
			if version != 0 && v&0xfffc == 0xfffc && t&0xf8 == 0x18 {
				// Version 1 run of zeros.
				if len(in)-ip < 3 {
					return bad("truncated")
				}
				n := (int(in[ip+2])<<3 | t&7) + 4
				if n > len(out)-op {
					return bad("zero run overruns output")
				}
				clear(out[op : op+n])
				op += n
				next = v & 3
				ip += 3
				if !literals(next) {
					return bad("literal run overruns")
				}
				state = next
				continue
			}
			length = t & 7
			if length == 0 {
				var ok bool
				if length, ok = long(7); !ok {
					return bad("bad match length")
				}
				if len(in)-ip < 2 {
					return bad("truncated")
				}
				v = int(binary.LittleEndian.Uint16(in[ip:]))
			}
			length += 2
			ip += 2
			dist = (t&8)<<11 + v>>2
			next = v & 3
			if dist == 0 {
				// End of stream: the whole input must have been used.
				if length != 3 {
					return bad("bad end of stream")
				}
				if ip != len(in) {
					return bad("trailing data")
				}
				return op, nil
			}
			dist += 0x4000
		}
		if dist > op {
			return bad("match before the start")
		}
		if length > len(out)-op {
			return bad("match overruns output")
		}
		src := op - dist
		if dist >= length {
			copy(out[op:op+length], out[src:src+length])
		} else {
			for i := range length {
				out[op+i] = out[src+i]
			}
		}
		op += length
		if !literals(next) {
			return bad("literal run overruns")
		}
		state = next
	}
}
