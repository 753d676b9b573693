package kheaders

import (
	"bytes"
	"errors"

	"github.com/khtool/kh/internal/xz"
)

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

// newXZReader returns a reader of the decompressed archive. Every block
// header, the index and the footer are checked before anything is
// decoded (a block claiming a dictionary above lim.MaxDict is refused
// before any allocation); the block checks are verified, on a goroutine
// of their own, as decoding reaches them, and io.EOF comes only after all
// of it. The caller must Close the reader.
func newXZReader(data []byte, lim Limits) (*xz.Reader, error) {
	if !bytes.HasPrefix(data, xzMagic) {
		return nil, &ArchiveError{Err: errors.New("not an xz archive (bad magic)")}
	}
	r, err := xz.NewParallelReader(data, xz.Limits{MaxDict: lim.MaxDict, MaxOutput: lim.MaxTotal + 1<<20, RequireCheck: true})
	if err != nil {
		return nil, &ArchiveError{Err: err}
	}
	return r, nil
}
