package kheaders

import (
	"context"
	"errors"
	"fmt"
	"github.com/khtool/kh/cache"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// UntrustedTreeError means a header tree to be used in place could be
// changed by another user (cache.CheckTree says how), so a compiler must
// not read it.
type UntrustedTreeError struct {
	Dir string
	Err error // a *cache.UntrustedError
}

func (e *UntrustedTreeError) Error() string {
	return fmt.Sprintf("header tree %s cannot be used in place: %v", e.Dir, e.Err)
}

// Unwrap returns the reason.
func (e *UntrustedTreeError) Unwrap() error { return e.Err }

// OpenDir validates a kernel header tree that is already on disk (for
// example one extracted by hand, or /lib/modules/RELEASE/build) and returns
// it for use in place; nothing is copied. The tree must have
// include/linux/kconfig.h, include/generated/utsrelease.h and exactly one
// built architecture (arch/SRCARCH/include/generated), or be a tree
// published by kh (with its manifest). Since nothing is copied, it must
// also be safe to read as it is (cache.CheckTree: owned by root or the
// caller, writable by no one else, all of it and the path to it), or
// OpenDir returns an *UntrustedTreeError.
func OpenDir(ctx context.Context, dir string) (*Tree, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := cache.CheckTree(ctx, abs); err != nil {
		var u *cache.UntrustedError
		if errors.As(err, &u) {
			return nil, &UntrustedTreeError{Dir: dir, Err: err}
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is not a kernel header tree: %w", dir, err)
		}
		return nil, fmt.Errorf("header tree %s: %w", dir, err)
	}
	if _, err := os.Lstat(filepath.Join(abs, ManifestName)); err == nil {
		// A tree kh published: trust it only as the cache would.
		c, err := cache.Open(cache.Options{Dir: filepath.Dir(abs), Existing: true, AllowDisk: true})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.Get(filepath.Base(abs))
	}
	uts, err := os.ReadFile(filepath.Join(abs, "include/generated/utsrelease.h"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a kernel header tree: %w", dir, err)
	}
	release, ok := ReadRelease(uts)
	if !ok {
		return nil, fmt.Errorf("%s is not a kernel header tree: no UTS_RELEASE in include/generated/utsrelease.h", dir)
	}
	if _, err := os.Stat(filepath.Join(abs, "include/linux/kconfig.h")); err != nil {
		return nil, fmt.Errorf("%s is not a complete kernel header tree: %w", dir, err)
	}
	arch, err := treeArch(abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &Tree{
		Manifest: Manifest{
			Schema:  ManifestSchema,
			Path:    abs,
			Kind:    KindHeaders,
			Release: release,
			Arch:    arch,
			Source:  Source{Kind: SourceDir, Location: abs},
		},
		Cached: true,
	}, nil
}

// treeArch finds a tree's SRCARCH: the architecture with generated
// headers (a full source tree has every arch/, but only the built one has
// arch/SRCARCH/include/generated), or the only arch/*/include.
func treeArch(dir string) (string, error) {
	gen, _ := filepath.Glob(filepath.Join(dir, "arch/*/include/generated"))
	if len(gen) == 1 {
		return filepath.Base(filepath.Dir(filepath.Dir(gen[0]))), nil
	}
	inc, _ := filepath.Glob(filepath.Join(dir, "arch/*/include"))
	if len(inc) == 1 {
		return filepath.Base(filepath.Dir(inc[0])), nil
	}
	if len(gen) == 0 && len(inc) == 0 {
		return "", errors.New("no arch/*/include directory")
	}
	var names []string
	for _, g := range gen {
		names = append(names, filepath.Base(filepath.Dir(filepath.Dir(g))))
	}
	return "", fmt.Errorf("cannot tell the architecture: generated headers for %s", strings.Join(names, ", "))
}

// DirStats fills in the Files, Bytes and Created of a tree used in place
// (Source.Kind SourceDir), which has no manifest to take them from: the
// regular files below it and their total size (symlinks are not
// followed), and the modification time of its
// include/generated/utsrelease.h (when the tree was configured). OpenDir
// leaves them zero, as counting walks the whole tree; kh fetch -o json
// calls this. Trees with a manifest are left as they are.
func DirStats(ctx context.Context, t *Tree) error {
	if t.Source.Kind != SourceDir || t.Files != 0 {
		return nil
	}
	files, bytes := 0, int64(0)
	err := filepath.WalkDir(t.Path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files++
			bytes += fi.Size()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("count the files of %s: %w", t.Path, err)
	}
	t.Files, t.Bytes = files, bytes
	if fi, err := os.Stat(filepath.Join(t.Path, "include/generated/utsrelease.h")); err == nil {
		t.Created = fi.ModTime().UTC().Truncate(time.Second)
	}
	return nil
}
