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
// before any allocation); the block checks are verified as decoding
// reaches them, and io.EOF comes only after all of it.
func newXZReader(data []byte, lim Limits) (*xz.Reader, error) {
	if !bytes.HasPrefix(data, xzMagic) {
		return nil, &ArchiveError{Err: errors.New("not an xz archive (bad magic)")}
	}
	r, err := xz.NewReader(data, xz.Limits{MaxDict: lim.MaxDict, MaxOutput: lim.MaxTotal + 1<<20, RequireCheck: true})
	if err != nil {
		return nil, &ArchiveError{Err: err}
	}
	return r, nil
}
