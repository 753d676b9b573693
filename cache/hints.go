package cache

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// hintName is the cache entry that maps a source identity key to a tree.
func hintName(key string) string { return hintPrefix + key }

// hint is the content of a hint file.
type hint struct {
	Tree   string `json:"tree"`
	Source Source `json:"source"`
}

// FromHint returns the trusted tree that the hint key points to, and the
// source recorded with it. Hints let a warm fetch skip reading and
// hashing the archive: the key identifies the archive's source exactly
// (see SourceKey).
func (c *Cache) FromHint(key string) (*Tree, Source, bool) {
	if !validKey(key) {
		return nil, Source{}, false
	}
	fd, err := unix.Openat(c.fd(), hintName(key), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, Source{}, false
	}
	f := os.NewFile(uintptr(fd), hintName(key))
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || c.untrusted(&st, unix.S_IFREG) != "" {
		return nil, Source{}, false
	}
	var h hint
	data, err := io.ReadAll(io.LimitReader(f, 1<<16))
	if err != nil || json.Unmarshal(data, &h) != nil || !treeNameRE.MatchString(h.Tree) {
		return nil, Source{}, false
	}
	t, err := c.Get(h.Tree)
	if err != nil {
		return nil, Source{}, false
	}
	return t, h.Source, true
}

// validKey reports whether a hint key can be part of a file name.
func validKey(key string) bool {
	return key != "" && len(key) <= 128 && !strings.ContainsAny(key, "/\x00")
}

// SetHint records that key identifies the archive of tree t, which came
// from src. The temporary file it writes first carries the tree's
// digest and is written under the tree's lock, so a sweep can tell a
// leftover from a hint being written; when the lock is busy (a removal
// of that tree), no hint is recorded.
func (c *Cache) SetHint(key string, t *Tree, src Source) error {
	if !validKey(key) {
		return fmt.Errorf("write hint: bad key %q", key)
	}
	m := treeNameRE.FindStringSubmatch(filepath.Base(t.Path))
	if m == nil {
		return fmt.Errorf("write hint: %s is not a cached tree", t.Path)
	}
	data, err := json.Marshal(hint{Tree: filepath.Base(t.Path), Source: src})
	if err != nil {
		return err
	}
	lk, err := c.tryLockFile(lockPrefix+m[2], true)
	if err != nil {
		return fmt.Errorf("write hint: %w", err)
	}
	defer lk.unlock()
	tmp := tmpHintPrefix + m[2] + "-" + strconv.FormatUint(uint64(rand.Uint32()), 10)
	fd, err := unix.Openat(c.fd(), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return fmt.Errorf("write hint: %w", err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(c.fd(), tmp, c.fd(), hintName(key))
	}
	if err != nil {
		unix.Unlinkat(c.fd(), tmp, 0)
		return fmt.Errorf("write hint: %w", err)
	}
	return nil
}
