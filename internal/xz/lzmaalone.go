package xz

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// The legacy .lzma format ("LZMA alone", written by `lzma` and
// `xz --format=lzma`, and by the kernel build for CONFIG_KERNEL_LZMA):
// a 13-byte header (the properties byte lc/lp/pb, the dictionary size,
// the uncompressed size or all ones for unknown), then one LZMA stream
// that is not split into chunks and ends either at the declared size or
// with an end marker. There is no check and no index.

const (
	lzmaHeaderSize = 13
	// lzmaStep is how much output one call of lzmaDecoder.decode
	// produces at most for a .lzma stream. decode reads its input from
	// the ring lz.in, which holds the next inSize bytes of the stream: a
	// symbol reads at most 48 bytes (one per bit: a match with the
	// longest length, 26 direct and 4 align bits), and every symbol but
	// the last of a call (the end marker, or an invalid one) writes at
	// least one byte, so (lzmaStep+1)*48 must be at most inSize.
	lzmaStep = 2048
)

// NewLZMAReader returns a Reader of the legacy .lzma stream at the start
// of data. Bytes after the stream are not read; after io.EOF,
// Info().CompressedSize is the number of bytes the stream took. The
// header's dictionary size counts against Limits.MaxDict and a declared
// uncompressed size against Limits.MaxOutput, before anything is
// allocated; Limits.RequireCheck refuses every .lzma stream, since the
// format has no check. A stream with a declared size may still end with
// an end marker, as liblzma accepts. Errors start with "lzma: " and wrap
// the same sentinels as xz errors.
func NewLZMAReader(data []byte, lim Limits) (*Reader, error) {
	if len(data) < lzmaHeaderSize {
		return nil, lzmaError(ErrTruncated, "truncated input")
	}
	props, dict, size := data[0], binary.LittleEndian.Uint32(data[1:5]), binary.LittleEndian.Uint64(data[5:13])
	if props >= 9*5*5 {
		return nil, lzmaError(ErrFormat, "not an .lzma stream (invalid properties byte %#02x)", props)
	}
	if lc, lp := props%9, props/9%5; lc+lp > 4 {
		// As in liblzma, and in LZMA2.
		return nil, lzmaError(ErrUnsupported, "unsupported properties lc=%d lp=%d (lc + lp must be at most 4)", lc, lp)
	}
	if lim.RequireCheck {
		return nil, lzmaError(ErrLimit, "an .lzma stream has no integrity check")
	}
	if dict > lim.maxDict() {
		return nil, lzmaError(ErrLimit, "dictionary size %s exceeds the %s limit", dictString(dict), dictString(lim.maxDict()))
	}
	declared := int64(-1)
	if size != math.MaxUint64 {
		if size > vliMax {
			return nil, lzmaError(ErrFormat, "not an .lzma stream (uncompressed size %d)", size)
		}
		declared = int64(size)
		if lim.MaxOutput > 0 && declared > lim.MaxOutput {
			return nil, lzmaError(ErrLimit, "uncompressed size %d exceeds the %d byte limit", declared, lim.MaxOutput)
		}
	}
	// liblzma gives a dictionary of at least 4 KiB whatever the header says.
	dict = max(dict, 4096)
	if err := checkWindow(windowFor(dict, declared, lim), true); err != nil {
		return nil, err
	}
	r := &Reader{
		data:     data,
		lim:      lim,
		mode:     modeLZMA,
		s:        &stream{checkType: checkNone, info: Info{Check: checkNames[checkNone], MaxDict: dict, CompressedSize: lzmaHeaderSize}},
		lzmaSize: declared,
		lzmaIn:   data[lzmaHeaderSize:],
	}
	r.lz.setProps(props)
	return r, nil
}

// lzmaError is an error about a .lzma stream.
func lzmaError(kind error, format string, args ...any) error {
	return &xzError{msg: fmt.Sprintf(format, args...), kind: kind, lzma: true}
}

// startLZMA allocates the window and starts the range decoder.
func (r *Reader) startLZMA() error {
	in := r.lzmaIn
	if len(in) < 5 {
		return lzmaError(ErrTruncated, "truncated input")
	}
	if in[0] != 0 {
		return lzmaError(ErrCorrupt, "invalid range coder header")
	}
	d := &r.lz
	d.resetState()
	d.rng = 0xffffffff
	d.code = binary.BigEndian.Uint32(in[1:5])
	d.ip = 5
	if d.code == 0xffffffff {
		return lzmaError(ErrCorrupt, "invalid range coder header")
	}
	w := int(windowFor(r.s.info.MaxDict, r.lzmaSize, r.lim)) // checked by NewLZMAReader
	r.setWindow(w, r.lzmaSize < 0, len(in))
	r.dictSize = int(r.s.info.MaxDict)
	if r.lzmaSize >= 0 {
		r.dictSize = int(min(int64(r.dictSize), r.lzmaSize))
	}
	return nil
}

// loadLZMA makes lz.in hold the inSize bytes of the stream from lz.ip
// on (zeros past its end): lz.in[k&inMask] is byte k.
func (r *Reader) loadLZMA() {
	want := r.lz.ip + inSize
	for r.loaded < want {
		k := r.loaded & inMask
		seg := r.lz.in[k:min(inSize, k+want-r.loaded)]
		n := 0
		if r.loaded < len(r.lzmaIn) {
			n = copy(seg, r.lzmaIn[r.loaded:])
		}
		clear(seg[n:])
		r.loaded += len(seg)
	}
}

// fillLZMA is fill for a .lzma stream.
func (r *Reader) fillLZMA() error {
	if r.win == nil {
		if err := r.startLZMA(); err != nil {
			return err
		}
	}
	if r.lzmaMarker || r.total == r.lzmaSize {
		return r.endLZMA()
	}
	remaining := int64(math.MaxInt64)
	if r.lzmaSize >= 0 {
		remaining = r.lzmaSize - r.total
	}
	if room := r.usable - r.op; room < decodeStep && int64(room) < remaining {
		r.makeRoom()
	}
	start := r.op
	stop := int(min(int64(r.op)+min(decodeStep, remaining), int64(r.usable)))
	end := int(min(int64(r.op)+remaining, math.MaxInt/2))
	if stop <= r.op {
		return lzmaError(ErrLimit, "the decoder's window is full")
	}
	var err error
	for r.op < stop && err == nil {
		r.loadLZMA()
		op, e := r.lz.decode(r.win, r.op, min(r.op+lzmaStep, stop), end, r.dictStart, r.dictSize)
		r.op = op
		switch {
		case r.lz.ip > len(r.lzmaIn):
			err = lzmaError(ErrTruncated, "truncated input")
		case e == lzmaBadDist && r.lz.rep0 == 0xffffffff:
			r.lzmaMarker = true
			if r.lzmaSize >= 0 && r.total+int64(op-start) != r.lzmaSize {
				err = lzmaError(ErrCorrupt, "end marker after %d of the %d bytes the header declares", r.total+int64(op-start), r.lzmaSize)
			}
			stop = op // done
		case e == lzmaBadDist:
			err = lzmaError(ErrCorrupt, "LZMA data refers to data before the start of the stream or beyond the dictionary")
		case e == lzmaPastChunk:
			err = lzmaError(ErrCorrupt, "LZMA data runs past the declared uncompressed size")
		}
	}
	r.total += int64(r.op - start)
	r.out = r.win[start:r.op]
	r.s.info.UncompressedSize = r.total
	return r.capOutput(err)
}

// endLZMA verifies the end of a .lzma stream: after its end marker, or
// at its declared size, where an end marker may follow.
func (r *Reader) endLZMA() error {
	d := &r.lz
	if !r.lzmaMarker && d.code != 0 {
		// Not at the end of the range coder's data: only an end marker
		// may follow. The window has slack for what decode may write
		// past op if something else does.
		r.loadLZMA()
		op, e := d.decode(r.win, r.op, r.op+1, r.op, r.dictStart, r.dictSize)
		switch {
		case d.ip > len(r.lzmaIn):
			return lzmaError(ErrTruncated, "truncated input")
		case e != lzmaBadDist || d.rep0 != 0xffffffff || op != r.op:
			return lzmaError(ErrCorrupt, "LZMA data continues past the declared uncompressed size")
		}
		r.lzmaMarker = true
	}
	if d.code != 0 {
		return lzmaError(ErrCorrupt, "LZMA data does not end cleanly")
	}
	if d.ip > len(r.lzmaIn) {
		return lzmaError(ErrTruncated, "truncated input")
	}
	r.s.info.UncompressedSize = r.total
	r.s.info.CompressedSize = int64(lzmaHeaderSize + d.ip)
	return io.EOF
}
