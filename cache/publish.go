package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
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
// remove. The tree returned is verified again after the rename.
func (c *Cache) Publish(ctx context.Context, digest string, build BuildFunc) (*Tree, error) {
	if len(digest) != 64 {
		return nil, fmt.Errorf("bad digest %q", digest)
	}
	if t, err := c.Lookup(digest); !errors.Is(err, ErrNotCached) {
		return t, err
	}
	d := digest[:digestLen]
	lk, err := c.lock(ctx, lockPrefix+d)
	if err != nil {
		return nil, err
	}
	defer lk.unlock()
	// Someone may have published it while we waited for the lock.
	if t, err := c.Lookup(digest); !errors.Is(err, ErrNotCached) {
		return t, err
	}
	c.sweep(d, false)

	stageName, stage, err := c.mkstage(stagePrefix + d + "-")
	if err != nil {
		return nil, err
	}
	defer stage.Close()
	published := false
	defer func() {
		if !published {
			removeAt(c.fd(), stageName)
		}
	}()
	stagePath := filepath.Join(c.Dir, stageName)
	start := time.Now()
	m, err := build(ctx, stagePath)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := TreeName(m.Release, digest)
	final := filepath.Join(c.Dir, name)
	m.Schema, m.Path, m.SHA256 = ManifestSchema, final, digest
	m.Created = time.Now().UTC().Truncate(time.Second)
	if err := writeManifest(int(stage.Fd()), stagePath, &m); err != nil {
		return nil, err
	}
	if err := unix.Fchmod(int(stage.Fd()), 0o555); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var want unix.Stat_t
	if err := unix.Fstat(int(stage.Fd()), &want); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := unix.Renameat2(c.fd(), stageName, c.fd(), name, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			// Published meanwhile by a process that did not lock (an
			// older kh); use it if it can be trusted.
			return c.Get(name)
		}
		return nil, fmt.Errorf("publish %s: %w", final, err)
	}
	published = true
	t, st, err := c.get(name)
	if err != nil {
		return nil, fmt.Errorf("publish %s: the tree fails its check after the rename: %w", final, err)
	}
	if st.Dev != want.Dev || st.Ino != want.Ino {
		return nil, &UntrustedError{Path: final, Reason: "it is not the directory kh just built"}
	}
	t.Cached = false
	c.log.Debug("published", "path", final, "files", m.Files, "took", time.Since(start).Round(time.Millisecond))
	return t, nil
}

// mkstage makes a new private directory named prefix+random in the cache
// and opens it.
func (c *Cache) mkstage(prefix string) (string, *os.File, error) {
	for range 100 {
		name := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10)
		err := unix.Mkdirat(c.fd(), name, 0o700)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
				err = ErrNoSpace
			}
			return "", nil, fmt.Errorf("create staging directory: %w", err)
		}
		fd, err := unix.Openat(c.fd(), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Unlinkat(c.fd(), name, unix.AT_REMOVEDIR)
			return "", nil, fmt.Errorf("open staging directory: %w", err)
		}
		return name, os.NewFile(uintptr(fd), filepath.Join(c.Dir, name)), nil
	}
	return "", nil, errors.New("create staging directory: no free name")
}

func writeManifest(dirfd int, dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	fd, err := unix.Openat(dirfd, ManifestName, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return fmt.Errorf("write manifest: %w", &os.PathError{Op: "open", Path: filepath.Join(dir, ManifestName), Err: err})
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, ManifestName))
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

// fileLock is a held flock on a file in the cache.
type fileLock struct{ fd int }

func (l *fileLock) unlock() { unix.Close(l.fd) }

// lock takes the exclusive lock in file name (created if needed),
// waiting (until ctx ends) while another process holds it. Locks die
// with their process.
func (c *Cache) lock(ctx context.Context, name string) (*fileLock, error) {
	logged := false
	for {
		l, err := c.tryLockFile(name, true)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, errBusy) {
			return nil, err
		}
		if !logged {
			c.log.Debug("waiting for another kh working on the same archive", "lock", name)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// errBusy means a lock is held by someone else.
var errBusy = errors.New("lock is held")

// tryLockFile takes the exclusive lock in file name if nobody holds it
// (errBusy otherwise), creating the file if create is set (an error
// satisfying os.ErrNotExist otherwise). A lock file may be removed, but
// only by a process holding its lock: so after taking the lock it checks
// that the name still leads to the file it locked, and starts again if
// not. Two processes can therefore never both hold the lock of one name.
func (c *Cache) tryLockFile(name string, create bool) (*fileLock, error) {
	flags := unix.O_RDWR | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if create {
		flags |= unix.O_CREAT
	}
	for range 1000 {
		fd, err := unix.Openat(c.fd(), name, flags, 0o600)
		if err != nil {
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EROFS) || errors.Is(err, unix.EPERM) {
				return nil, fmt.Errorf("cache %s is not writable by this user (uid %d): %w", c.Dir, os.Getuid(), permissionError{err})
			}
			if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
				return nil, fmt.Errorf("cache %s: create lock file: %w", c.Dir, ErrNoSpace)
			}
			return nil, fmt.Errorf("cache %s: lock file: %w", c.Dir, &os.PathError{Op: "open", Path: name, Err: err})
		}
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			unix.Close(fd)
			if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EINTR) {
				return nil, errBusy
			}
			return nil, fmt.Errorf("lock: %w", err)
		}
		var held, now unix.Stat_t
		if unix.Fstat(fd, &held) == nil && unix.Fstatat(c.fd(), name, &now, unix.AT_SYMLINK_NOFOLLOW) == nil &&
			held.Dev == now.Dev && held.Ino == now.Ino {
			return &fileLock{fd: fd}, nil
		}
		// Removed (or replaced) by its holder after we opened it.
		unix.Close(fd)
		if !create {
			return nil, &os.PathError{Op: "lock", Path: name, Err: os.ErrNotExist}
		}
	}
	return nil, fmt.Errorf("cache %s: lock %s keeps being replaced", c.Dir, name)
}

// removeLocked removes the lock file of l (which the caller holds) and
// releases it.
func (c *Cache) removeLocked(name string, l *fileLock) {
	unix.Unlinkat(c.fd(), name, 0)
	l.unlock()
}

// sweep removes what interrupted runs left: staging directories of
// digest held (the caller holds its lock, so they are dead) and of any
// other digest whose lock is free, trash of earlier removals, temporary
// hint files whose lock is free, and, with locks, then every lock file
// nobody holds (recreated when needed). It reports what it removed.
func (c *Cache) sweep(held string, locks bool) []string {
	names, err := c.names()
	if err != nil {
		return nil
	}
	var swept []string
	taken := map[string]bool{held: held != ""}
	var release []*fileLock
	for _, n := range names {
		var d string
		switch {
		case strings.HasPrefix(n, stagePrefix):
			d = strings.TrimPrefix(n, stagePrefix)
		case strings.HasPrefix(n, tmpHintPrefix):
			d = strings.TrimPrefix(n, tmpHintPrefix)
		case strings.HasPrefix(n, trashPrefix):
			// Renamed away under the tree's lock: nobody can reach it by
			// name any more.
			if err := removeAt(c.fd(), n); err == nil {
				swept = append(swept, n)
			}
			continue
		default:
			continue
		}
		if len(d) < digestLen {
			continue
		}
		d = d[:digestLen]
		if !taken[d] {
			l, err := c.tryLockFile(lockPrefix+d, true)
			if err != nil {
				continue // in use
			}
			taken[d] = true
			release = append(release, l)
		}
		c.log.Debug("removing leftovers of an interrupted run", "name", n)
		if err := removeAt(c.fd(), n); err == nil {
			swept = append(swept, n)
		}
	}
	for _, l := range release {
		l.unlock()
	}
	if !locks {
		return swept
	}
	for _, n := range names {
		if strings.HasPrefix(n, lockPrefix) && n != lockPrefix+held {
			if l, err := c.tryLockFile(n, false); err == nil {
				c.removeLocked(n, l)
				swept = append(swept, n)
			}
		}
	}
	return swept
}

// ErrNoSpace means the cache file system is full.
var ErrNoSpace = errors.New("no space left in the cache filesystem")

// permissionError is a refusal to write (EACCES, EPERM, EROFS) that
// satisfies errors.Is(err, fs.ErrPermission) whatever the errno.
type permissionError struct{ err error }

func (e permissionError) Error() string        { return e.err.Error() }
func (e permissionError) Unwrap() error        { return e.err }
func (e permissionError) Is(target error) bool { return target == fs.ErrPermission }
