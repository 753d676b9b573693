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

	"golang.org/x/sys/unix"
)

// ErrNotCached means the cache holds no tree for an archive.
var ErrNotCached = errors.New("not in the cache")

// UntrustedError means a cache entry exists but must not be used.
type UntrustedError struct {
	Path   string
	Reason string
}

func (e *UntrustedError) Error() string {
	return fmt.Sprintf("refusing to use %s: %s", e.Path, e.Reason)
}

// checkDir checks that p is a real directory that only the caller (or
// root) can write.
func (c *Cache) checkDir(p string) error {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return fmt.Errorf("cache directory %s: %w", p, err)
	}
	if reason := c.untrusted(&st, unix.S_IFDIR); reason != "" {
		return &UntrustedError{Path: p, Reason: reason}
	}
	return nil
}

// untrusted explains why a file with status st (expected type typ) must
// not be trusted, or returns "".
func (c *Cache) untrusted(st *unix.Stat_t, typ uint32) string {
	if st.Mode&unix.S_IFMT != typ {
		return fmt.Sprintf("it is a %s, not a %s", typeName(st.Mode), typeName(typ))
	}
	if int(st.Uid) != c.uid && st.Uid != 0 {
		return fmt.Sprintf("it is owned by uid %d, not by you (uid %d) or root: another user could have planted it", st.Uid, c.uid)
	}
	if typ != unix.S_IFLNK && st.Mode&0o022 != 0 {
		return fmt.Sprintf("it is writable by group or others (mode %04o)", st.Mode&0o7777)
	}
	return ""
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
// cannot be trusted.
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

func (c *Cache) names() ([]string, error) {
	f, err := os.Open(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("read cache: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read cache: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// Get verifies and returns the published tree called name (as
// TreeName makes it), or an *UntrustedError.
func (c *Cache) Get(name string) (*Tree, error) {
	p := filepath.Join(c.Dir, name)
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return nil, fmt.Errorf("cached tree: %w", err)
	}
	if reason := c.untrusted(&st, unix.S_IFDIR); reason != "" {
		return nil, &UntrustedError{Path: p, Reason: reason}
	}
	m, err := c.readManifest(p)
	if err != nil {
		return nil, err
	}
	if m.Path != p {
		return nil, &UntrustedError{Path: p, Reason: fmt.Sprintf("its manifest belongs to %s", m.Path)}
	}
	if want := TreeName(m.Release, m.SHA256); len(m.SHA256) != 64 || want != name {
		return nil, &UntrustedError{Path: p, Reason: "its manifest does not match its name"}
	}
	return &Tree{Manifest: *m, Cached: true}, nil
}

func (c *Cache) readManifest(tree string) (*Manifest, error) {
	p := filepath.Join(tree, ManifestName)
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &UntrustedError{Path: tree, Reason: "it has no manifest"}
		}
		return nil, &UntrustedError{Path: tree, Reason: fmt.Sprintf("its manifest cannot be opened: %v", err)}
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
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
