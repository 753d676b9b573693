package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotCached means the cache holds no tree for an archive.
var ErrNotCached = errors.New("not in the cache")

// UntrustedError means a cache entry, a cache directory, a directory on
// the path to one, or a file of a tree used in place exists but must not
// be used: another user could have written it.
type UntrustedError struct {
	Path   string
	Reason string
	// Ancestor is true when Path is a directory on the way to what was
	// asked for, not the thing itself.
	Ancestor bool
	// Cache is true when Path is the cache directory itself (Open).
	Cache bool
}

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("refusing to use %s: %s", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrNotTrusted) true.
func (e *UntrustedError) Is(target error) bool { return target == ErrNotTrusted }

// untrusted explains why a file with status st (expected type typ) in
// the cache must not be trusted, or returns "".
func (c *Cache) untrusted(st *unix.Stat_t, typ uint32) string {
	return c.trust.leaf(st, typ)
}

func typeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFLNK:
		return "symlink"
	}
	return "special file"
}

var (
	treeNameRE = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._+~-]{0,127})-([0-9a-f]{16})$`)
	unsafeRel  = regexp.MustCompile(`[^A-Za-z0-9._+~-]`)
)

// TreeName returns the name of the cached tree for a release and an
// archive digest (hex SHA-256).
func TreeName(release, digest string) string {
	r := unsafeRel.ReplaceAllString(release, "_")
	if len(r) > 128 {
		r = r[:128]
	}
	if r == "" || !isAlnum(r[0]) {
		r = "r" + r
	}
	return r + "-" + digest[:digestLen]
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// Lookup returns the published, trusted tree made from the archive with
// this digest, ErrNotCached, or an error saying why an existing tree
// cannot be trusted. A tree removed while Lookup reads it is not cached.
func (c *Cache) Lookup(digest string) (*Tree, error) {
	if len(digest) < digestLen {
		return nil, fmt.Errorf("bad digest %q", digest)
	}
	names, err := c.names()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if m := treeNameRE.FindStringSubmatch(n); m != nil && m[2] == digest[:digestLen] {
			t, err := c.Get(n)
			if errors.Is(err, os.ErrNotExist) {
				continue // removed meanwhile (kh clean)
			}
			if err != nil {
				return nil, err
			}
			if t.SHA256 != digest {
				return nil, &UntrustedError{Path: t.Path, Reason: fmt.Sprintf("its manifest says sha256 %s, not %s", t.SHA256, digest)}
			}
			return t, nil
		}
	}
	return nil, ErrNotCached
}

// names lists the cache directory, sorted.
func (c *Cache) names() ([]string, error) {
	names, err := readNames(c.fd())
	if err != nil {
		return nil, fmt.Errorf("read cache %s: %w", c.Dir, err)
	}
	sort.Strings(names)
	return names, nil
}

// Get verifies and returns the published tree called name (as
// TreeName makes it), or an *UntrustedError. A tree that does not exist
// gives an error satisfying errors.Is(err, os.ErrNotExist).
func (c *Cache) Get(name string) (*Tree, error) {
	t, _, err := c.get(name)
	return t, err
}

// get is Get, also returning the tree directory's status (the identity
// of the directory that was verified).
func (c *Cache) get(name string) (*Tree, *unix.Stat_t, error) {
	p := filepath.Join(c.Dir, name)
	if strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return nil, nil, fmt.Errorf("%q is not a cached tree's name", name)
	}
	fd, err := unix.Openat(c.fd(), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			var st unix.Stat_t
			if unix.Fstatat(c.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				return nil, nil, &UntrustedError{Path: p, Reason: c.untrusted(&st, unix.S_IFDIR)}
			}
		}
		return nil, nil, fmt.Errorf("cached tree: %w", &os.PathError{Op: "open", Path: p, Err: err})
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, nil, fmt.Errorf("cached tree %s: %w", p, err)
	}
	if reason := c.untrusted(&st, unix.S_IFDIR); reason != "" {
		return nil, nil, &UntrustedError{Path: p, Reason: reason}
	}
	m, err := c.readManifest(fd, p)
	if err != nil {
		return nil, nil, err
	}
	if m.Path != p {
		return nil, nil, &UntrustedError{Path: p, Reason: fmt.Sprintf("its manifest belongs to %s", m.Path)}
	}
	if want := TreeName(m.Release, m.SHA256); len(m.SHA256) != 64 || want != name {
		return nil, nil, &UntrustedError{Path: p, Reason: "its manifest does not match its name"}
	}
	return &Tree{Manifest: *m, Cached: true}, &st, nil
}

// readManifest reads the manifest of the tree open as treefd (at path
// tree).
func (c *Cache) readManifest(treefd int, tree string) (*Manifest, error) {
	p := filepath.Join(tree, ManifestName)
	fd, err := unix.Openat(treefd, ManifestName, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, &UntrustedError{Path: tree, Reason: "it has no manifest"}
		}
		return nil, &UntrustedError{Path: tree, Reason: fmt.Sprintf("its manifest cannot be opened: %v", err)}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	if reason := c.untrusted(&st, unix.S_IFREG); reason != "" {
		return nil, &UntrustedError{Path: tree, Reason: "manifest: " + reason}
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, &UntrustedError{Path: tree, Reason: fmt.Sprintf("its manifest is damaged: %v", err)}
	}
	if m.Schema != ManifestSchema {
		return nil, &UntrustedError{Path: tree, Reason: fmt.Sprintf("its manifest has schema %d, not %d", m.Schema, ManifestSchema)}
	}
	return &m, nil
}
