package kheaders

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Cache is a directory of published header trees, one per archive
// content. Each tree's name is its kernel release and the first 16 hex
// digits of the archive's SHA-256 (e.g. "6.1.192-b39c262a18360de1"), so a
// rebuilt kernel with the same release never reuses a stale tree, and
// identical archives from different sources share one tree.
//
// Trees are published atomically: extracted into a private staging
// directory, verified, then renamed into place. A lock per archive makes
// concurrent callers extract once. A tree is reused only if it is owned by
// the caller or root, writable by no one else, and its manifest is intact.
type Cache struct {
	// Dir is the cache directory.
	Dir string
	// Mounted is true when the cache is a tmpfs that kh mounted.
	Mounted bool

	uid int
	log *slog.Logger
}

// CacheOptions configure OpenCache.
type CacheOptions struct {
	// Dir is the cache directory; "" means DefaultCacheDir.
	Dir string
	// AllowDisk accepts a cache directory that is not on tmpfs (and stops
	// root from mounting one there).
	AllowDisk bool
	// Existing opens the cache only if it exists (an error satisfying
	// errors.Is(err, os.ErrNotExist) otherwise), without creating or
	// mounting anything: for listing and cleaning.
	Existing bool
	// Log receives progress messages; nil discards them.
	Log *slog.Logger
}

// Names inside the cache directory.
const (
	stagePrefix = ".stage-"
	lockPrefix  = ".lock-"
	hintPrefix  = ".hint-"
	digestLen   = 16

	// MountSource is the source name of the tmpfs kh mounts, as shown
	// in /proc/self/mountinfo.
	MountSource = "kh-cache"
	// mountOptions size-limit the tmpfs kh mounts: room for about ten
	// kernels' trees (a tree takes ~42 MB of tmpfs for ~6,700 inodes).
	mountOptions = "size=512m,nr_inodes=131072,mode=0755"
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

// DefaultCacheDir returns the cache directory kh uses when none is given:
// $KH_CACHE_DIR; for root /run/kh; for other users $XDG_RUNTIME_DIR/kh,
// then /dev/shm/kh-UID. Where none of those parents exist (Android has no
// /run and no /dev/shm), /data/local/tmp/kh, which is not tmpfs; ondisk
// reports that case.
func DefaultCacheDir() (dir string, ondisk bool) {
	if d := os.Getenv("KH_CACHE_DIR"); d != "" {
		return d, false
	}
	if os.Geteuid() == 0 {
		if isDir("/run") {
			return "/run/kh", false
		}
	} else {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && isDir(d) {
			return filepath.Join(d, "kh"), false
		}
		if isDir("/dev/shm") {
			return fmt.Sprintf("/dev/shm/kh-%d", os.Geteuid()), false
		}
	}
	if isDir("/data/local/tmp") {
		return "/data/local/tmp/kh", true
	}
	if os.Geteuid() == 0 {
		return "/run/kh", false
	}
	return fmt.Sprintf("/dev/shm/kh-%d", os.Geteuid()), false
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// OpenCache opens (creating it if needed) the cache directory and checks
// that it is safe: a real directory, owned by the caller or root, writable
// by no one else, on tmpfs. As root, a location that is not tmpfs gets a
// private, size-limited tmpfs mounted on it.
func OpenCache(opts CacheOptions) (*Cache, error) {
	c := &Cache{Dir: opts.Dir, uid: os.Geteuid(), log: opts.Log}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	ondisk := false
	if c.Dir == "" {
		c.Dir, ondisk = DefaultCacheDir()
	}
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("cache directory %s: %w", c.Dir, err)
	}
	c.Dir = abs
	if opts.Existing {
		if _, err := os.Lstat(c.Dir); err != nil {
			return nil, err
		}
		return c, c.checkDir(c.Dir)
	}
	if err := c.create(); err != nil {
		return nil, err
	}
	if err := c.checkDir(c.Dir); err != nil {
		return nil, err
	}
	fstype, err := fsType(c.Dir)
	if err != nil {
		return nil, err
	}
	if fstype != "tmpfs" {
		switch {
		case opts.AllowDisk:
			c.log.Debug("cache is not on tmpfs; allowed by --allow-disk", "dir", c.Dir, "fs", fstype)
		case c.uid == 0:
			if err := c.mount(); err != nil {
				if !ondisk {
					return nil, fmt.Errorf("cache directory %s is on %s, not tmpfs, and mounting a tmpfs there failed: %w (use --cache-dir on a tmpfs or --allow-disk)", c.Dir, fstype, err)
				}
				c.log.Warn("cache is not on tmpfs (Android has no /run); trees persist across reboots but stay keyed by content", "dir", c.Dir, "fs", fstype, "mount", err)
			}
		case ondisk:
			c.log.Warn("cache is not on tmpfs (Android has no /run); trees persist across reboots but stay keyed by content", "dir", c.Dir, "fs", fstype)
		default:
			return nil, fmt.Errorf("cache directory %s is on %s, not tmpfs: use a tmpfs location (--cache-dir, KH_CACHE_DIR) or pass --allow-disk", c.Dir, fstype)
		}
	}
	return c, nil
}

func (c *Cache) create() error {
	perm := os.FileMode(0o700)
	if c.uid == 0 {
		perm = 0o755
	}
	if err := os.MkdirAll(filepath.Dir(c.Dir), 0o755); err != nil {
		return fmt.Errorf("create cache directory: %w", err)
	}
	if err := os.Mkdir(c.Dir, perm); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create cache directory: %w", err)
	}
	return nil
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

// fsType names the filesystem holding p ("tmpfs", "ramfs", "ext4", ...).
func fsType(p string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", p, err)
	}
	switch uint32(st.Type) {
	case unix.TMPFS_MAGIC:
		return "tmpfs", nil
	case unix.RAMFS_MAGIC:
		return "ramfs", nil
	case unix.EXT4_SUPER_MAGIC:
		return "ext4", nil
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs", nil
	case unix.XFS_SUPER_MAGIC:
		return "xfs", nil
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs", nil
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs", nil
	case unix.V9FS_MAGIC:
		return "9p", nil
	}
	return fmt.Sprintf("filesystem type %#x", st.Type), nil
}

// mount mounts a private, size-limited tmpfs on the cache directory.
func (c *Cache) mount() error {
	if err := unix.Mount(MountSource, c.Dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, mountOptions); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	// Keep the mount out of other mount namespaces' view.
	if err := unix.Mount("", c.Dir, "", unix.MS_PRIVATE, ""); err != nil {
		c.log.Debug("could not make the cache mount private", "err", err)
	}
	c.Mounted = true
	c.log.Debug("mounted a tmpfs for the cache", "dir", c.Dir, "options", mountOptions)
	return c.checkDir(c.Dir)
}

// MountedByKh reports whether the cache directory is a tmpfs that kh
// mounted (its mount source is MountSource).
func (c *Cache) MountedByKh() bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := false
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f1, f2 := strings.Fields(pre), strings.Fields(post)
		if len(f1) < 5 || len(f2) < 2 {
			continue
		}
		if unescapeMount(f1[4]) == c.Dir {
			// The last mount on a path is the visible one.
			found = f2[0] == "tmpfs" && f2[1] == MountSource
		}
	}
	return found
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// Unmount unmounts the cache's tmpfs if kh mounted it, freeing its memory.
func (c *Cache) Unmount() (bool, error) {
	if !c.MountedByKh() {
		return false, nil
	}
	if err := unix.Unmount(c.Dir, 0); err != nil {
		return false, fmt.Errorf("unmount %s: %w", c.Dir, err)
	}
	return true, nil
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
			t, err := c.open(n)
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

// open verifies and returns the published tree called name.
func (c *Cache) open(name string) (*Tree, error) {
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
			return c.open(name)
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
			return nil, fmt.Errorf("cache %s is not writable by this user (uid %d): choose another cache directory: %w", c.Dir, os.Getuid(), err)
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
	t, err := c.open(h.Tree)
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
		t, err := c.open(n)
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
