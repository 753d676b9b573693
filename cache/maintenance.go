package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
		out = append(out, Entry{Name: n, Tree: t, Err: err})
	}
	return out, nil
}

// Remove deletes the tree called name, and hints pointing to it. It takes
// the tree's lock so it does not race with a publish of the same archive.
func (c *Cache) Remove(ctx context.Context, name string) error {
	m := treeNameRE.FindStringSubmatch(name)
	if m == nil {
		return fmt.Errorf("%q is not a cached tree's name", name)
	}
	unlock, err := c.lock(ctx, m[2])
	if err != nil {
		return err
	}
	defer unlock()
	if err := c.removeHints(func(target string) bool { return target == name }); err != nil {
		return err
	}
	if err := removeTree(filepath.Join(c.Dir, name)); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	os.Remove(filepath.Join(c.Dir, lockPrefix+m[2]))
	return nil
}

func (c *Cache) removeHints(match func(target string) bool) error {
	names, err := c.names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if !strings.HasPrefix(n, hintPrefix) && !strings.HasPrefix(n, ".tmp-hint-") {
			continue
		}
		var h hint
		data, err := os.ReadFile(filepath.Join(c.Dir, n))
		if err == nil {
			err = json.Unmarshal(data, &h)
		}
		if err != nil || match(h.Tree) {
			if err := os.Remove(filepath.Join(c.Dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove hint: %w", err)
			}
		}
	}
	return nil
}

// RemoveAll deletes everything in the cache: trees (trusted or not),
// hints, leftovers of interrupted runs, and free locks.
func (c *Cache) RemoveAll(ctx context.Context) ([]string, error) {
	names, err := c.names()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range names {
		p := filepath.Join(c.Dir, n)
		switch {
		case treeNameRE.MatchString(n):
			if err := c.Remove(ctx, n); err != nil {
				return removed, err
			}
			removed = append(removed, p)
		case strings.HasPrefix(n, stagePrefix):
			c.sweep("")
		case strings.HasPrefix(n, lockPrefix):
			if unlock, ok := c.tryLock(strings.TrimPrefix(n, lockPrefix)); ok {
				os.Remove(p)
				unlock()
			}
		}
	}
	if err := c.removeHints(func(string) bool { return true }); err != nil {
		return removed, err
	}
	return removed, nil
}
