package cache

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
	f, err := os.OpenFile(filepath.Join(c.Dir, hintName(key)), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, Source{}, false
	}
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || c.untrusted(&st, unix.S_IFREG) != "" {
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

// SetHint records that key identifies the archive of tree t, which came
// from src.
func (c *Cache) SetHint(key string, t *Tree, src Source) error {
	data, err := json.Marshal(hint{Tree: filepath.Base(t.Path), Source: src})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Dir, ".tmp-hint-")
	if err != nil {
		return fmt.Errorf("write hint: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o444)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(c.Dir, hintName(key)))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write hint: %w", err)
	}
	return nil
}
