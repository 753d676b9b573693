package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Entry is a tree found in the cache by List.
type Entry struct {
	Name string
	// Tree is the verified tree; nil when Err says why it is not usable.
	Tree *Tree
	Err  error
}

// List returns the published trees in the cache, trusted or not.
func (c *Cache) List() ([]Entry, error) {
	names, err := c.names()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, n := range names {
		if !treeNameRE.MatchString(n) {
			continue
		}
		t, err := c.Get(n)
		if errors.Is(err, os.ErrNotExist) {
			continue // removed meanwhile
		}
		out = append(out, Entry{Name: n, Tree: t, Err: err})
	}
	return out, nil
}

// ErrInUse means a tree is held (Hold) by a running process, a kh exec
// or kh build, and was not removed; the error is an *InUseError.
var ErrInUse = errors.New("the tree is in use")

// InUseError names a tree that Remove kept because a process holds it.
type InUseError struct{ Path string }

func (e *InUseError) Error() string {
	return fmt.Sprintf("kept %s: a running process holds it (a tool run by kh exec, or kh build)", e.Path)
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// Remove deletes the tree called name, and hints pointing to it, unless
// a process holds it (an *InUseError then). Under the tree's lock (so
// that no publish of the same archive runs meanwhile) it renames the
// tree to a private trash name, in one step, so a concurrent Lookup sees
// either the whole tree or none; the trash is deleted afterwards.
func (c *Cache) Remove(ctx context.Context, name string) error {
	m := treeNameRE.FindStringSubmatch(name)
	if m == nil {
		return fmt.Errorf("%q is not a cached tree's name", name)
	}
	p := filepath.Join(c.Dir, name)
	lk, err := c.lock(ctx, lockPrefix+m[2])
	if err != nil {
		return err
	}
	trash, err := c.trashLocked(name)
	if err == nil {
		err = c.removeHints(func(target string) bool { return target == name })
	}
	// The lock file stays: another process may be waiting on it, and
	// tryLockFile makes removing it safe only for a sweep.
	lk.unlock()
	if err != nil {
		return err
	}
	if trash == "" {
		return nil
	}
	if err := removeAt(c.fd(), trash); err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

// trashLocked renames tree name to a fresh trash name unless a process
// holds it; the caller holds the tree's digest lock. It returns "" when
// the tree is already gone.
func (c *Cache) trashLocked(name string) (string, error) {
	p := filepath.Join(c.Dir, name)
	fd, err := unix.Openat(c.fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return "", nil
	case errors.Is(err, unix.ELOOP):
		// A symlink under a tree's name: unlink it, never follow it.
		if err := unix.Unlinkat(c.fd(), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return "", fmt.Errorf("remove %s: %w", p, err)
		}
		return "", nil
	case err != nil:
		return "", fmt.Errorf("remove %s: %w", p, err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return "", &InUseError{Path: p}
		}
		return "", fmt.Errorf("remove %s: lock: %w", p, err)
	}
	for range 100 {
		trash := trashPrefix + name + "-" + strconv.FormatUint(uint64(rand.Uint32()), 10)
		err := unix.Renameat2(c.fd(), name, c.fd(), trash, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("remove %s: %w", p, err)
		}
		return trash, nil
	}
	return "", fmt.Errorf("remove %s: no free trash name", p)
}

func (c *Cache) removeHints(match func(target string) bool) error {
	names, err := c.names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if !strings.HasPrefix(n, hintPrefix) {
			continue
		}
		var h hint
		data, err := c.readSmall(n)
		if err == nil {
			err = json.Unmarshal(data, &h)
		}
		if err != nil || match(h.Tree) {
			if err := unix.Unlinkat(c.fd(), n, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("remove hint: %w", err)
			}
		}
	}
	return nil
}

// readSmall reads a small regular file of the cache (no symlinks).
func (c *Cache) readSmall(name string) ([]byte, error) {
	fd, err := unix.Openat(c.fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<16))
}

// Sweep removes what no process uses any more: leftovers of interrupted
// runs (staging directories, trash, temporary files), lock files nobody
// holds, and hints whose tree is gone or untrusted. A staging directory
// or lock is in use exactly when its lock cannot be taken at once, and
// is then kept. It returns the names it removed.
func (c *Cache) Sweep() []string {
	swept := c.sweep("", true)
	c.removeHints(func(target string) bool {
		_, err := c.Get(target)
		return err != nil
	})
	return swept
}

// RemoveAllResult says what RemoveAll did.
type RemoveAllResult struct {
	Removed []string // paths of removed trees
	// Kept are the trees left in place because a process holds them.
	Kept []string
}

// RemoveAll deletes everything in the cache that no process uses: trees
// (trusted or not), hints, leftovers of interrupted runs, and free locks.
// Trees held by a running process are kept and listed.
func (c *Cache) RemoveAll(ctx context.Context) (*RemoveAllResult, error) {
	names, err := c.names()
	if err != nil {
		return nil, err
	}
	res := &RemoveAllResult{}
	for _, n := range names {
		if !treeNameRE.MatchString(n) {
			continue
		}
		err := c.Remove(ctx, n)
		switch {
		case errors.Is(err, ErrInUse):
			res.Kept = append(res.Kept, filepath.Join(c.Dir, n))
		case err != nil:
			return res, err
		default:
			res.Removed = append(res.Removed, filepath.Join(c.Dir, n))
		}
	}
	c.Sweep()
	if err := c.removeHints(func(string) bool { return true }); err != nil {
		return res, err
	}
	return res, nil
}

// Hold is a shared lock on a published tree: while it is held, Remove
// (kh clean) keeps the tree. The lock is an flock on the tree directory,
// so it lasts as long as any process has the descriptor File returns
// open: pass it to a command (kh exec does) and the command holds it.
type Hold struct{ f *os.File }

// File is the held tree directory, an open file whose flock is the hold.
func (h *Hold) File() *os.File { return h.f }

// Release ends the hold (in this process).
func (h *Hold) Release() error { return h.f.Close() }

// HoldTree takes a shared lock on the published tree at path (in a cache
// reached through trusted directories), waiting (until ctx ends) while a
// removal is deciding about it. It fails with ErrNotCached if the tree
// was removed before the lock was taken: fetch it again.
func HoldTree(ctx context.Context, path string) (*Hold, error) {
	c, err := Open(Options{Dir: filepath.Dir(path), Existing: true})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	name := filepath.Base(path)
	for {
		_, before, err := c.get(name)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrNotCached)
		}
		if err != nil {
			return nil, err
		}
		fd, err := unix.Openat(c.fd(), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil, fmt.Errorf("%s: %w", path, ErrNotCached)
			}
			return nil, fmt.Errorf("hold %s: %w", path, err)
		}
		err = unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) || errors.Is(err, unix.EINTR) {
			unix.Close(fd)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("hold %s: %w", path, err)
		}
		// Held: the tree can no longer be removed. Is it still the one
		// that was verified, under its name?
		var held, now unix.Stat_t
		if unix.Fstat(fd, &held) != nil || unix.Fstatat(c.fd(), name, &now, unix.AT_SYMLINK_NOFOLLOW) != nil ||
			held.Ino != now.Ino || held.Dev != now.Dev || held.Ino != before.Ino || held.Dev != before.Dev {
			unix.Close(fd)
			return nil, fmt.Errorf("%s: %w", path, ErrNotCached)
		}
		return &Hold{f: os.NewFile(uintptr(fd), path)}, nil
	}
}
