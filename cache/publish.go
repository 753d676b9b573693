package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// BuildFunc fills the empty staging directory dir with a tree and returns
// its manifest's Kind, Release, Arch, Source, Files and Bytes.
type BuildFunc func(ctx context.Context, dir string) (Manifest, error)

// Publish returns the tree for the archive with the given digest, building
// it with build if it is not cached yet. Concurrent callers (in any
// process) for one digest build it once: the others wait and reuse it.
// build works in a private staging directory; the tree is published with
// one rename only when build succeeded, so no reader ever sees a partial
// tree, and a crash leaves only a staging directory that later calls
// remove.
func (c *Cache) Publish(ctx context.Context, digest string, build BuildFunc) (*Tree, error) {
	if len(digest) != 64 {
		return nil, fmt.Errorf("bad digest %q", digest)
	}
	if t, err := c.Lookup(digest); !errors.Is(err, ErrNotCached) {
		return t, err
	}
	unlock, err := c.lock(ctx, digest[:digestLen])
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Someone may have published it while we waited for the lock.
	if t, err := c.Lookup(digest); !errors.Is(err, ErrNotCached) {
		return t, err
	}
	c.sweep(digest[:digestLen])

	stage, err := os.MkdirTemp(c.Dir, stagePrefix+digest[:digestLen]+"-")
	if err != nil {
		return nil, fmt.Errorf("create staging directory: %w", err)
	}
	published := false
	defer func() {
		if !published {
			removeTree(stage)
		}
	}()
	start := time.Now()
	m, err := build(ctx, stage)
	if err != nil {
		return nil, err
	}
	name := TreeName(m.Release, digest)
	final := filepath.Join(c.Dir, name)
	m.Schema, m.Path, m.SHA256 = ManifestSchema, final, digest
	m.Created = time.Now().UTC().Truncate(time.Second)
	if err := writeManifest(stage, &m); err != nil {
		return nil, err
	}
	if err := os.Chmod(stage, 0o555); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, stage, unix.AT_FDCWD, final, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			// Published meanwhile by a process that did not lock (an
			// older kh); use it if it can be trusted.
			return c.Get(name)
		}
		return nil, fmt.Errorf("publish %s: %w", final, err)
	}
	published = true
	c.log.Debug("published", "path", final, "files", m.Files, "took", time.Since(start).Round(time.Millisecond))
	return &Tree{Manifest: m}, nil
}

func writeManifest(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(dir, ManifestName)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o444)
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Chmod(0o444)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, unix.ENOSPC) {
			err = ErrNoSpace
		}
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// lock takes the exclusive lock for a digest, waiting (until ctx ends)
// while another process holds it. Locks die with their process.
func (c *Cache) lock(ctx context.Context, d string) (func(), error) {
	fd, err := unix.Open(filepath.Join(c.Dir, lockPrefix+d), unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EROFS) || errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("cache %s is not writable by this user (uid %d): %w", c.Dir, os.Getuid(), permissionError{err})
		}
		return nil, fmt.Errorf("cache %s: create lock file: %w", c.Dir, err)
	}
	logged := false
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Close(fd) }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			unix.Close(fd)
			return nil, fmt.Errorf("lock: %w", err)
		}
		if !logged {
			c.log.Debug("waiting for another kh working on the same archive", "lock", lockPrefix+d)
			logged = true
		}
		select {
		case <-ctx.Done():
			unix.Close(fd)
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// tryLock takes the lock for a digest if nobody holds it.
func (c *Cache) tryLock(d string) (func(), bool) {
	fd, err := unix.Open(filepath.Join(c.Dir, lockPrefix+d), unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, false
	}
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		unix.Close(fd)
		return nil, false
	}
	return func() { unix.Close(fd) }, true
}

// sweep removes staging directories left by killed runs: those of
// digest held (we hold its lock, so they are dead) and those of any other
// digest whose lock is free.
func (c *Cache) sweep(held string) {
	names, err := c.names()
	if err != nil {
		return
	}
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, stagePrefix)
		if !ok || len(rest) < digestLen {
			continue
		}
		d := rest[:digestLen]
		if d != held {
			unlock, ok := c.tryLock(d)
			if !ok {
				continue
			}
			defer unlock()
		}
		c.log.Debug("removing leftovers of an interrupted run", "dir", n)
		removeTree(filepath.Join(c.Dir, n))
	}
}

// ErrNoSpace means the cache file system is full.
var ErrNoSpace = errors.New("no space left in the cache filesystem")

// permissionError is a refusal to write (EACCES, EPERM, EROFS) that
// satisfies errors.Is(err, fs.ErrPermission) whatever the errno.
type permissionError struct{ err error }

func (e permissionError) Error() string        { return e.err.Error() }
func (e permissionError) Unwrap() error        { return e.err }
func (e permissionError) Is(target error) bool { return target == fs.ErrPermission }

// makeWritable gives the owner write permission on every directory under
// root (published trees are read-only), so that the tree can be removed.
// Symlinks are never followed.
func makeWritable(root string) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// removeTree removes a (possibly read-only) tree.
func removeTree(root string) error {
	if err := os.RemoveAll(root); err == nil {
		return nil
	}
	makeWritable(root)
	return os.RemoveAll(root)
}
