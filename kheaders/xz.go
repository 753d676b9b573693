package kheaders

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ulikunitz/xz"
)

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

// newXZReader returns a reader of the decompressed archive.
func newXZReader(data []byte, lim Limits) (io.Reader, error) {
	if !bytes.HasPrefix(data, xzMagic) {
		return nil, &ArchiveError{Err: errors.New("not an xz archive (bad magic)")}
	}
	r, err := xz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, &ArchiveError{Err: fmt.Errorf("xz: %w", err)}
	}
	return r, nil
}
