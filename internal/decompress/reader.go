package decompress

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/khtool/kh/internal/lzo"
	"github.com/khtool/kh/internal/xz"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// NewReader returns a reader of the data decoded from the stream of
// format f at the start of data. Reading more than max bytes fails with
// ErrTooLarge. Bytes after the end of the stream are ignored (compressed
// kernels are followed by their size), and an error in the middle of the
// stream is returned only after the output decoded before it, so a caller
// that searches the output finds what precedes the damage.
//
// Every format is decoded in memory from data; the caller bounds the work
// by max and by how much it reads. Close the reader when done (it
// releases zstd's and xz's decoders).
func NewReader(f Format, data []byte, max int64) (io.ReadCloser, error) {
	if f == LZMA && len(data) >= 13 {
		// A .lzma header may declare the size: refuse early.
		if size := binary.LittleEndian.Uint64(data[5:13]); size != math.MaxUint64 && size > uint64(max) {
			return nil, fmt.Errorf("lzma: %w (%d bytes)", ErrTooLarge, size)
		}
	}
	return newReader(f, data, max)
}

// newReader is NewReader without the early check of a declared size.
func newReader(f Format, data []byte, max int64) (io.ReadCloser, error) {
	var r io.Reader
	switch f {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		zr.Multistream(false)
		r = zr
	case XZ:
		xr, err := xz.NewPrefixReader(data, xzLimits(plusOne(max)))
		if err != nil {
			return nil, err
		}
		r = xr
	case Zstd:
		zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(uint64(max)), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		r = &zstdReader{zr}
	case Bzip2:
		if !HeaderOK(Bzip2, data) {
			return nil, fmt.Errorf("bzip2: bad header")
		}
		r = bzip2.NewReader(bytes.NewReader(data))
	case LZMA:
		lr, err := xz.NewLZMAReader(data, xzLimits(plusOne(max)))
		if err != nil {
			return nil, err
		}
		r = lr
	case LZ4:
		if !HeaderOK(LZ4, data) {
			return nil, fmt.Errorf("lz4: bad legacy frame header")
		}
		r = lz4.NewReader(bytes.NewReader(data))
	case LZO:
		lr, err := lzo.NewReader(data, max)
		if err != nil {
			return nil, err
		}
		r = lr
	default:
		return nil, fmt.Errorf("unknown compression format %q", f)
	}
	return &capReader{r: r, f: f, left: max}, nil
}

// Close releases what the decoder holds (zstd's and xz's decoders).
func (c *capReader) Close() error {
	switch z := c.r.(type) {
	case *zstdReader:
		z.Close()
	case *xz.Reader:
		z.Close()
	}
	return nil
}

type zstdReader struct{ *zstd.Decoder }

// capReader stops at the cap and names the format in errors.
type capReader struct {
	r    io.Reader
	f    Format
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	var probe [1]byte
	q := p
	if c.left <= 0 {
		// One more byte would exceed the cap: is there one?
		q = probe[:]
	} else if int64(len(q)) > c.left {
		q = q[:c.left]
	}
	for range 100 { // a reader that keeps returning nothing is broken
		n, err := c.r.Read(q)
		if c.left <= 0 && n > 0 {
			c.err = fmt.Errorf("%s: %w", c.f, ErrTooLarge)
			return 0, c.err
		}
		c.left -= int64(n)
		if err != nil {
			c.err = c.wrap(err)
			return n, c.err
		}
		if n > 0 || len(q) == 0 {
			return n, nil
		}
	}
	c.err = fmt.Errorf("%s: %w", c.f, io.ErrNoProgress)
	return 0, c.err
}

func (c *capReader) wrap(err error) error {
	if err == io.EOF {
		return err
	}
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, lzo.ErrTooLarge) {
		err = ErrTooLarge
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: truncated stream: %w", c.f, err)
	}
	return prefixed(c.f, err)
}

// HeaderOK reports whether data starts with a plausible stream header of
// format f. It checks more than the magic bytes (header checksums and
// field ranges where the format has them), so that a search for
// compressed streams inside a large binary skips most chance matches
// without starting a decoder.
func HeaderOK(f Format, data []byte) bool {
	if f == None || !bytes.HasPrefix(data, Magic(f)) {
		return false
	}
	switch f {
	case Gzip:
		return len(data) >= 18 && data[2] == 8 && data[3]&0xE0 == 0
	case XZ:
		return len(data) >= 12 && data[6] == 0 && data[7]&0xF0 == 0 &&
			crc32.ChecksumIEEE(data[6:8]) == binary.LittleEndian.Uint32(data[8:12])
	case Zstd:
		return len(data) >= 9 && data[4]&0x08 == 0
	case Bzip2:
		return len(data) >= 10 && data[3] >= '1' && data[3] <= '9' &&
			(string(data[4:10]) == "\x31\x41\x59\x26\x53\x59" || string(data[4:10]) == "\x17\x72\x45\x38\x50\x90")
	case LZMA:
		if len(data) < 13+5 || data[0] >= 225 {
			return false
		}
		dict := binary.LittleEndian.Uint32(data[1:5])
		size := binary.LittleEndian.Uint64(data[5:13])
		return (dict&(dict-1) == 0 || (dict/3)&(dict/3-1) == 0 && dict%3 == 0) &&
			(size == ^uint64(0) || size < 1<<40) && data[13] == 0
	case LZ4:
		if len(data) < 8 {
			return false
		}
		n := binary.LittleEndian.Uint32(data[4:8])
		return n > 0 && n <= 8<<20+8<<20/255+16
	case LZO:
		_, err := lzo.NewReader(data, 0)
		return err == nil
	}
	return false
}
