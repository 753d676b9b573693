package kheaders

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// AutoconfName is the header of a kernel header tree that holds its
// configuration as #defines.
const AutoconfName = "include/generated/autoconf.h"

// ArchiveFile returns the content of the regular file name (such as
// AutoconfName) in a kheaders archive (the Data of ReadArchive), reading
// the archive only as far as that entry and never writing anything. A
// missing entry is fs.ErrNotExist; a file larger than max is refused.
func ArchiveFile(ctx context.Context, archive []byte, name string, max int64) ([]byte, error) {
	xr, err := newXZReader(archive, DefaultLimits())
	if err != nil {
		return nil, err
	}
	defer xr.Close()
	tr := tar.NewReader(xr)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w in the archive", name, fs.ErrNotExist)
		}
		if err != nil {
			return nil, &ArchiveError{Err: err}
		}
		if path.Clean(strings.TrimPrefix(h.Name, "./")) != name {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, &ArchiveError{Err: fmt.Errorf("%s is not a regular file", name)}
		}
		if h.Size > max {
			return nil, &ArchiveError{Err: fmt.Errorf("%s: %d bytes, over the limit of %d", name, h.Size, max)}
		}
		data, err := io.ReadAll(io.LimitReader(tr, max+1))
		if err != nil {
			return nil, &ArchiveError{Err: err}
		}
		return data, nil
	}
}
