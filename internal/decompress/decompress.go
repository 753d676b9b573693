// Package decompress recognises and decodes the compressed containers that
// kernel files come in (module files such as kheaders.ko.xz, config.gz,
// and compressed kernel images), always with a cap on the decoded size so
// hostile input cannot exhaust memory.
//
// Decode reads one whole gzip, xz or zstd stream strictly (checksums,
// no trailing bytes). NewReader streams any of the formats a kernel image
// may be compressed with (gzip, xz with BCJ filters, lzma, lz4 legacy
// frames, lzo (lzop), zstd, bzip2) leniently: kernel images append their
// decompressed size after the stream, so bytes after the end are ignored.
//
// xz and lzma are decoded by internal/xz: strictly (NewReader: the whole
// stream, validated before decoding) for Decode, from the start of the
// data (NewPrefixReader, NewLZMAReader) for NewReader and Head. Memory
// for their dictionaries is bounded by the caller's output cap, not by
// what a header declares.
package decompress

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"math"
	"strings"

	"github.com/khtool/kh/internal/lzo"
	"github.com/khtool/kh/internal/xz"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Format is a compression format recognised by its magic bytes.
type Format string

// The formats Sniff recognises.
const (
	None  Format = ""
	Gzip  Format = "gzip"
	XZ    Format = "xz"
	Zstd  Format = "zstd"
	Bzip2 Format = "bzip2"
	LZMA  Format = "lzma"
	LZ4   Format = "lz4"
	LZO   Format = "lzo"
)

// Formats returns every format, in the order Sniff tries them.
func Formats() []Format { return []Format{Gzip, XZ, Zstd, Bzip2, LZMA, LZ4, LZO} }

var magics = []struct {
	f     Format
	magic []byte
}{
	{Gzip, []byte{0x1f, 0x8b}},
	{XZ, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{Zstd, []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{Bzip2, []byte("BZh")},
	{LZMA, []byte{0x5d, 0x00, 0x00}},
	{LZ4, []byte{0x02, 0x21, 0x4c, 0x18}},
	{LZO, []byte(lzo.Magic)},
}

// Magic returns the bytes every stream of format f starts with (nil for
// None). For LZMA, which has no real magic, it is the properties byte the
// kernel's "lzma -9" writes followed by the low bytes of a power-of-two
// dictionary size.
func Magic(f Format) []byte {
	for _, m := range magics {
		if m.f == f {
			return m.magic
		}
	}
	return nil
}

// Sniff returns the format whose magic bytes start data, or None. It
// checks the magic only; HeaderOK checks more.
func Sniff(data []byte) Format {
	for _, m := range magics {
		if bytes.HasPrefix(data, m.magic) {
			return m.f
		}
	}
	return None
}

// ErrTooLarge means the decoded data would exceed the caller's cap.
var ErrTooLarge = errors.New("decompressed data exceeds size limit")

// Decode decodes data in format f (Gzip, XZ or Zstd), returning at most
// max bytes; more is ErrTooLarge. Data must be exactly one compressed
// stream: corrupt data, a bad checksum or trailing bytes are errors. The
// other formats are read with NewReader.
func Decode(f Format, data []byte, max int64) ([]byte, error) {
	var r io.Reader
	br := bytes.NewReader(data)
	switch f {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		zr.Multistream(false)
		r = zr
	case XZ:
		return decodeXZ(data, max)
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max)))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unknown compression format %q", f)
	}
	out, err := readCapped(r, max)
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		err = ErrTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	if f == Gzip && br.Len() > 0 {
		// One gzip member only (Multistream(false)); the flate reader
		// reads a bytes.Reader exactly, so what is left is trailing data.
		return nil, fmt.Errorf("gzip: %d bytes of trailing data after the stream", br.Len())
	}
	return out, nil
}

// xzLimits are the limits of every xz and lzma decoder here: BCJ
// filters are accepted (kernel images use them), and the dictionary size
// is not limited on its own, since the decoder's window never exceeds
// the output cap (MaxOutput, or the stream's size from its index).
func xzLimits(maxOutput int64) xz.Limits {
	return xz.Limits{MaxDict: math.MaxUint32, MaxOutput: maxOutput, AllowBCJ: true}
}

// decodeXZ decodes one whole xz stream (optionally followed by stream
// padding), whose index must record at most max bytes.
func decodeXZ(data []byte, max int64) ([]byte, error) {
	r, err := xz.NewReader(data, xzLimits(0))
	if err != nil {
		return nil, err
	}
	size := r.Info().UncompressedSize
	if size > max {
		return nil, fmt.Errorf("xz: %w (%d bytes)", ErrTooLarge, size)
	}
	// The size is that of the index, which the decoder verifies; a lying
	// index makes decoding fail, so do not trust it with much memory.
	b := bytes.NewBuffer(make([]byte, 0, min(size, 64<<20)))
	if _, err := r.WriteTo(b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plusOne is n+1, or n if that would overflow.
func plusOne(n int64) int64 {
	if n == math.MaxInt64 {
		return n
	}
	return n + 1
}

// prefixed wraps err with the format's name, unless its message already
// starts with it (as internal/xz's do).
func prefixed(f Format, err error) error {
	if strings.HasPrefix(err.Error(), string(f)+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", f, err)
}

func readCapped(r io.Reader, max int64) ([]byte, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, ErrTooLarge
	}
	return buf.Bytes(), nil
}

// Head decodes only the first n bytes of data in format f, to identify
// what a compressed file holds without decoding all of it; fewer if the
// stream is shorter.
func Head(f Format, data []byte, n int) ([]byte, error) {
	r, err := newReader(f, data, int64(n))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	head := make([]byte, n)
	m, err := io.ReadFull(r, head)
	if err != nil && m == 0 {
		return nil, prefixed(f, err)
	}
	return head[:m], nil
}
