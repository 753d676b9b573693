package kheaders

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Limits bound what an archive may hold. Anything beyond them is refused.
type Limits struct {
	MaxEntries  int    // tar entries of any type
	MaxTotal    int64  // bytes of all regular files together (and of the tar stream)
	MaxFileSize int64  // bytes of one regular file
	MaxName     int    // bytes of one entry name or symlink target
	MaxDepth    int    // components of one entry name
	MaxDict     uint32 // xz dictionary size claimed by a block header
}

// DefaultLimits returns the limits Fetch uses: 200,000 entries, 1 GiB in
// total, 256 MiB in one file, 4096-byte names, 64 levels, 64 MiB xz
// dictionary. A real kernel's archive is about 6,700 entries and 31 MB.
func DefaultLimits() Limits {
	return Limits{
		MaxEntries:  200000,
		MaxTotal:    1 << 30,
		MaxFileSize: 256 << 20,
		MaxName:     4096,
		MaxDepth:    64,
		MaxDict:     64 << 20,
	}
}

// Stats describes an extracted header tree.
type Stats struct {
	Release  string // UTS_RELEASE from include/generated/utsrelease.h
	Arch     string // SRCARCH: the one directory under arch/
	Files    int    // regular files
	Dirs     int    // directories
	Symlinks int    // symbolic links
	Bytes    int64  // total size of the regular files
}

// ArchiveError means the archive is corrupt, hostile or not a kernel
// header archive. Nothing from such an archive may be used.
type ArchiveError struct {
	Entry string // the tar entry at fault, if any
	Err   error
}

func (e *ArchiveError) Error() string {
	if e.Entry != "" {
		return fmt.Sprintf("bad archive: entry %q: %v", e.Entry, e.Err)
	}
	return "bad archive: " + e.Err.Error()
}

func (e *ArchiveError) Unwrap() error { return e.Err }

func badEntry(name string, format string, args ...any) error {
	return &ArchiveError{Entry: name, Err: fmt.Errorf(format, args...)}
}

// Extract decodes an xz-compressed tar archive of kernel headers and
// unpacks it into dir, which must be an empty directory private to the
// caller. It returns only after the whole xz stream has been verified
// (block checks, index, footer): an error at any point means dir holds
// partial output that the caller must remove, as the cache does.
//
// Extract treats the archive as hostile: it refuses path traversal,
// absolute names, symlinks whose target leaves the tree, entries that go
// through a symlink or a file, hard links, devices, FIFOs, duplicate
// entries, oversized names, sparse files, PAX global headers that set
// names or sizes, names with control characters, ManifestName at the
// root, and anything beyond lim. It stops with ctx.Err() soon after ctx
// ends, in decoding as in creating files. Files are created
// read-only (0444, or 0555 when the archive marks them executable; never
// setuid or setgid), directories end up 0555, and symlinks are created
// last, so nothing is ever written through one.
func Extract(ctx context.Context, archive []byte, dir string, lim Limits) (Stats, error) {
	xr, err := newXZReader(archive, lim)
	if err != nil {
		return Stats{}, err
	}
	defer xr.Close()
	xr.SetContext(ctx)
	// The index tells how much the archive unpacks to: fail at once,
	// not half-way, where that cannot fit. A file system that reports no
	// size at all (ramfs: zero blocks) has no limit to check against.
	var fs unix.Statfs_t
	if need := xr.Info().UncompressedSize; unix.Statfs(dir, &fs) == nil && fs.Blocks > 0 && uint64(need) > fs.Bavail*uint64(fs.Bsize) {
		return Stats{}, fmt.Errorf("the archive unpacks to %d MiB but %s has %d MiB free: %w (free space with `kh clean` or give the cache more room)",
			need>>20, dir, fs.Bavail*uint64(fs.Bsize)>>20, ErrNoSpace)
	}
	// Decode on one goroutine, create files on this one.
	pr := newPipe(ctx, xr, lim.MaxTotal+1<<20)
	defer pr.stop()
	return extractTar(ctx, pr, dir, lim)
}

// extractTar unpacks an uncompressed tar stream; see Extract.
func extractTar(ctx context.Context, r io.Reader, dir string, lim Limits) (Stats, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return Stats{}, fmt.Errorf("open %s: %w", dir, err)
	}
	x := newExtractor(fd, dir, lim)
	defer x.close()
	if err := x.run(ctx, r); err != nil {
		return Stats{}, err
	}
	return x.stats, nil
}

type kind uint8

const (
	kindDir kind = iota + 1
	kindImplicitDir
	kindFile
	kindSymlink
)

type symlink struct{ name, target string }

// extractor unpacks tar entries beneath the directory fd root. It keeps a
// map of every name it created, which is what the hostile-input checks
// consult: the staging directory is private, so the map is the truth.
type extractor struct {
	root     int
	rootPath string
	lim      Limits
	names    map[string]kind
	dirs     *dirCache
	symlinks []symlink
	archs    map[string]bool
	uts      []byte
	umask    uint32
	entries  int
	total    int64
	stats    Stats
	buf      []byte

	noOpenat2 bool // openat2 is not available: open directories a component at a time
}

func newExtractor(root int, rootPath string, lim Limits) *extractor {
	return &extractor{
		root:     root,
		rootPath: rootPath,
		lim:      lim,
		names:    make(map[string]kind, 8192),
		dirs:     newDirCache(root),
		archs:    map[string]bool{},
		umask:    processUmask(),
		buf:      make([]byte, 128<<10),
	}
}

func (x *extractor) close() {
	x.dirs.close()
	unix.Close(x.root)
}

// countingReader counts the bytes the tar reader consumed.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (x *extractor) run(ctx context.Context, r io.Reader) error {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	var end int64 // stream offset just past the last entry's data
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return x.streamErr(err, "read tar header")
		}
		end = cr.n + (h.Size+511)&^511
		if err := x.entry(h, tr); err != nil {
			return err
		}
	}
	// A tar archive ends with two zero blocks. Without them the archive
	// was cut short at an entry boundary.
	if cr.n < end+1024 {
		return &ArchiveError{Err: errors.New("tar archive is truncated (no end-of-archive marker)")}
	}
	// What follows the marker is record padding: zeros only. Reading to
	// the end also makes the decoder verify the xz checks and index.
	if err := drainZeros(r, x.buf); err != nil {
		return x.streamErr(err, "after the end of the tar archive")
	}
	if err := x.finish(ctx); err != nil {
		return err
	}
	return nil
}

// streamErr classifies an error from the decoded stream: decoder and
// tar format errors make the archive bad; cancellation stays as is.
func (x *extractor) streamErr(err error, what string) error {
	var ae *ArchiveError
	if errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &ArchiveError{Err: fmt.Errorf("%s: tar archive is truncated", what)}
	}
	return &ArchiveError{Err: fmt.Errorf("%s: %w", what, err)}
}

func drainZeros(r io.Reader, buf []byte) error {
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return &ArchiveError{Err: errors.New("trailing data after the end of the tar archive")}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// cleanName turns a tar entry name into a clean relative path ("" for the
// archive root) or explains why it is not acceptable.
func (x *extractor) cleanName(raw string) (string, error) {
	if len(raw) > x.lim.MaxName {
		return "", badEntry(raw[:min(len(raw), 64)]+"...", "name is %d bytes long (limit %d)", len(raw), x.lim.MaxName)
	}
	if strings.IndexByte(raw, 0) >= 0 {
		return "", badEntry(raw, "name contains a NUL byte")
	}
	if hasControl(raw) {
		return "", badEntry(raw, "name contains a control character")
	}
	if strings.HasPrefix(raw, "/") {
		return "", badEntry(raw, "absolute name")
	}
	name := strings.TrimPrefix(raw, "./")
	name = strings.TrimSuffix(name, "/")
	if name == "" || name == "." {
		return "", nil
	}
	if name != path.Clean(name) {
		return "", badEntry(raw, "name is not a clean path")
	}
	if name == ".." || strings.HasPrefix(name, "../") {
		return "", badEntry(raw, "name leaves the tree")
	}
	comps := strings.Split(name, "/")
	for _, c := range comps {
		if len(c) > 255 {
			return "", badEntry(raw, "a name component is %d bytes long (limit 255)", len(c))
		}
	}
	if depth := len(comps); depth > x.lim.MaxDepth {
		return "", badEntry(raw, "name is %d levels deep (limit %d)", depth, x.lim.MaxDepth)
	}
	if comps[0] == ManifestName {
		return "", badEntry(raw, "the name %s is kh's own (the tree's manifest)", ManifestName)
	}
	return name, nil
}

// hasControl reports whether s holds an ASCII control character (NUL
// included), which no kernel header name or symlink target has: a
// newline, for one, would make listings of the tree ambiguous.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// sparse reports whether h is a sparse file, in any of GNU tar's
// formats: type 'S' (--format=gnu), or PAX records GNU.sparse.* (0.0,
// 0.1 and 1.0 of --format=posix).
func sparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// globalChanges returns the first PAX record of the global header h that
// GNU tar would apply to every later entry and that would make it read
// the archive differently from kh (which ignores global headers): a
// name, a link target, a size, or sparse-file data; "" if there is none.
func globalChanges(h *tar.Header) string {
	keys := make([]string, 0, len(h.PAXRecords))
	for k := range h.PAXRecords {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case k == "path", k == "linkpath", k == "size", strings.HasPrefix(k, "GNU.sparse."):
			return k
		}
	}
	return ""
}

func (x *extractor) entry(h *tar.Header, r io.Reader) error {
	x.entries++
	if x.entries > x.lim.MaxEntries {
		return &ArchiveError{Err: fmt.Errorf("more than %d entries", x.lim.MaxEntries)}
	}
	if sparse(h) {
		return badEntry(h.Name, "sparse files are not supported (kernel header archives have none)")
	}
	if h.Typeflag == tar.TypeXGlobalHeader {
		if k := globalChanges(h); k != "" {
			return badEntry(h.Name, "a PAX global header sets %q, which tar would apply to every later entry", k)
		}
		return nil
	}
	name, err := x.cleanName(h.Name)
	if err != nil {
		return err
	}
	if name == "" {
		if h.Typeflag == tar.TypeDir {
			return nil
		}
		return badEntry(h.Name, "a non-directory names the tree's root")
	}
	switch h.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink:
	case '\x00': // old-style regular file (tar.TypeRegA)
	case tar.TypeLink:
		return badEntry(h.Name, "hard links are not allowed")
	case tar.TypeChar, tar.TypeBlock:
		return badEntry(h.Name, "device files are not allowed")
	case tar.TypeFifo:
		return badEntry(h.Name, "FIFOs are not allowed")
	default:
		return badEntry(h.Name, "entry type %q is not allowed", h.Typeflag)
	}
	if old, ok := x.names[name]; ok && !(old == kindImplicitDir && h.Typeflag == tar.TypeDir) {
		return badEntry(h.Name, "duplicate entry")
	}
	parent, base := path.Split(name)
	parent = strings.TrimSuffix(parent, "/")
	pfd, err := x.parentDir(h.Name, parent)
	if err != nil {
		return err
	}
	if i := strings.IndexByte(name, '/'); i > 0 && name[:i] == "arch" {
		a, _, _ := strings.Cut(name[i+1:], "/")
		x.archs[a] = true
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if x.names[name] == kindImplicitDir {
			x.names[name] = kindDir
			return nil
		}
		if err := unix.Mkdirat(pfd, base, 0o755); err != nil {
			return x.fsErr(name, "create directory", err)
		}
		x.names[name] = kindDir
		x.stats.Dirs++
	case tar.TypeSymlink:
		t := h.Linkname
		switch {
		case t == "":
			return badEntry(h.Name, "symlink with an empty target")
		case len(t) > x.lim.MaxName:
			return badEntry(h.Name, "symlink target is %d bytes long (limit %d)", len(t), x.lim.MaxName)
		case strings.IndexByte(t, 0) >= 0:
			return badEntry(h.Name, "symlink target contains a NUL byte")
		case hasControl(t):
			return badEntry(h.Name, "symlink target contains a control character")
		case strings.HasPrefix(t, "/"):
			return badEntry(h.Name, "symlink to the absolute path %q", t)
		}
		x.names[name] = kindSymlink
		x.symlinks = append(x.symlinks, symlink{name, t})
	default:
		if h.Size < 0 || h.Size > x.lim.MaxFileSize {
			return badEntry(h.Name, "file is %d bytes (limit %d)", h.Size, x.lim.MaxFileSize)
		}
		if x.total += h.Size; x.total > x.lim.MaxTotal {
			return &ArchiveError{Err: fmt.Errorf("files hold more than %d bytes in total", x.lim.MaxTotal)}
		}
		mode := uint32(0o444)
		if h.Mode&0o111 != 0 {
			mode = 0o555
		}
		if err := x.writeFile(pfd, name, base, mode, h.Size, r); err != nil {
			return err
		}
		x.names[name] = kindFile
		x.stats.Files++
		x.stats.Bytes += h.Size
	}
	return nil
}

// parentDir returns a descriptor for directory dir (relative to the
// root), creating missing directories, and refuses paths that would go
// through a file or a symlink. Directories it creates count as entries
// against Limits.MaxEntries, as if the archive listed them.
func (x *extractor) parentDir(entry, dir string) (int, error) {
	if dir == "" {
		return x.root, nil
	}
	if fd, ok := x.dirs.get(dir); ok {
		return fd, nil
	}
	// Find the deepest ancestor (dir itself included) that exists. A
	// name is recorded only once its parent is known to be a directory,
	// so every ancestor of a directory is one: no walk from the top.
	end := len(dir)
	for end > 0 {
		k := x.names[dir[:end]]
		if k == kindDir || k == kindImplicitDir {
			break
		}
		switch k {
		case kindFile:
			return -1, badEntry(entry, "%s is a file, not a directory", dir[:end])
		case kindSymlink:
			return -1, badEntry(entry, "path goes through the symlink %s", dir[:end])
		}
		end = max(strings.LastIndexByte(dir[:end], '/'), 0)
	}
	fd := x.root
	if end > 0 {
		var err error
		if fd, err = x.openDir(dir[:end]); err != nil {
			return -1, err
		}
	}
	// Create what is missing below it, one level at a time.
	for end < len(dir) {
		start, next := nextComponent(dir, end)
		p, comp := dir[:next], dir[start:next]
		if x.entries++; x.entries > x.lim.MaxEntries {
			return -1, &ArchiveError{Err: fmt.Errorf("more than %d entries", x.lim.MaxEntries)}
		}
		if err := unix.Mkdirat(fd, comp, 0o755); err != nil {
			return -1, x.fsErr(p, "create directory", err)
		}
		x.names[p] = kindImplicitDir
		x.stats.Dirs++
		nfd, err := unix.Openat(fd, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, x.fsErr(p, "open directory", err)
		}
		x.dirs.put(p, nfd)
		fd, end = nfd, next
	}
	return fd, nil
}

// openDir returns a descriptor, kept in x.dirs, for the directory p
// (relative to the root), which exists: with openat2 in one step that
// follows no symlink and stays beneath the root (the tree has no
// symlinks before finish, this is a second guard), else one component
// at a time, each opened with O_NOFOLLOW.
func (x *extractor) openDir(p string) (int, error) {
	if fd, ok := x.dirs.get(p); ok {
		return fd, nil
	}
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if !x.noOpenat2 {
		fd, err := unix.Openat2(x.root, p, &unix.OpenHow{
			Flags:   flags,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
		})
		switch {
		case err == nil:
			x.dirs.put(p, fd)
			return fd, nil
		case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM):
			x.noOpenat2 = true // Linux before 5.6, or a seccomp filter that refuses it
		default:
			return -1, x.fsErr(p, "open directory", err)
		}
	}
	fd := x.root
	for end := 0; end < len(p); {
		start, next := nextComponent(p, end)
		nfd, ok := x.dirs.get(p[:next])
		if !ok {
			var err error
			if nfd, err = unix.Openat(fd, p[start:next], flags, 0); err != nil {
				return -1, x.fsErr(p[:next], "open directory", err)
			}
			x.dirs.put(p[:next], nfd)
		}
		fd, end = nfd, next
	}
	return fd, nil
}

// nextComponent returns the bounds of the component of the relative path
// p that follows offset end (0, or the index of a '/'): it is
// p[start:next], and p[:next] is the path up to and including it.
func nextComponent(p string, end int) (start, next int) {
	next = len(p)
	if i := strings.IndexByte(p[end+1:], '/'); i >= 0 {
		next = end + 1 + i
	}
	if end == 0 {
		return 0, next
	}
	return end + 1, next
}

func (x *extractor) writeFile(dirfd int, name, base string, mode uint32, size int64, r io.Reader) error {
	fd, err := unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return x.fsErr(name, "create file", err)
	}
	defer unix.Close(fd)
	capture := name == "include/generated/utsrelease.h" && size <= 4096
	var left = size
	for left > 0 {
		n, err := r.Read(x.buf[:min(int64(len(x.buf)), left)])
		if n > 0 {
			if capture {
				x.uts = append(x.uts, x.buf[:n]...)
			}
			if err := writeAll(fd, x.buf[:n]); err != nil {
				return x.fsErr(name, "write", err)
			}
			left -= int64(n)
		}
		if err == io.EOF && left > 0 {
			return x.streamErr(io.ErrUnexpectedEOF, "read "+name)
		}
		if err != nil && err != io.EOF {
			return x.streamErr(err, "read "+name)
		}
	}
	// The mode given to openat is filtered by the umask; set it exactly
	// unless the umask cannot have changed it (the usual 022 or 002).
	if x.umask&mode != 0 {
		if err := unix.Fchmod(fd, mode); err != nil {
			return x.fsErr(name, "chmod", err)
		}
	}
	return nil
}

// processUmask reads the umask from /proc/self/status (Linux 4.7+)
// without changing it; where it cannot be read it returns 0o777, so that
// every file mode is set explicitly.
func processUmask() uint32 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o777
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if u, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return uint32(u)
			}
		}
	}
	return 0o777
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// ErrNoSpace means the cache filesystem is full.
var ErrNoSpace = errors.New("no space left in the cache filesystem")

// fsErr wraps a filesystem error. EEXIST cannot happen for a well-formed
// archive in a private staging directory (duplicates are caught first), so
// it is reported as a bad archive.
func (x *extractor) fsErr(name, op string, err error) error {
	switch {
	case errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT):
		return fmt.Errorf("%s %s in %s: %w (free space with `kh clean` or give the cache more room)", op, name, x.rootPath, ErrNoSpace)
	case errors.Is(err, unix.EEXIST):
		return badEntry(name, "%s: already exists", op)
	}
	return fmt.Errorf("%s %s in %s: %w", op, name, x.rootPath, err)
}

// finish creates the symlinks, checks that the result is a kernel header
// tree and makes every directory read-only. It stops with ctx.Err() when
// ctx is done.
func (x *extractor) finish(ctx context.Context) error {
	if len(x.symlinks) > 0 {
		t := x.nameTree()
		for i, s := range x.symlinks {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := x.resolve(t[s.name], 0); err != nil {
				return err
			}
		}
	}
	for i, s := range x.symlinks {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		parent, base := path.Split(s.name)
		pfd, err := x.parentDir(s.name, strings.TrimSuffix(parent, "/"))
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(s.target, pfd, base); err != nil {
			return x.fsErr(s.name, "create symlink", err)
		}
		x.stats.Symlinks++
	}
	if err := x.checkTree(); err != nil {
		return err
	}
	n := 0
	for name, k := range x.names {
		if k == kindDir || k == kindImplicitDir {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := unix.Fchmodat(x.root, name, 0o555, 0); err != nil {
				return x.fsErr(name, "chmod", err)
			}
		}
	}
	return ctx.Err()
}

// node is one name of the extracted tree, as the symlink check walks it:
// the tree is private, so x.names is the truth, and a tree of nodes lets
// a walk take one map lookup per component (a path string per component
// would cost the depth of the path each time).
type node struct {
	parent *node
	kids   map[string]*node
	kind   kind

	// Symlinks only: the entry's name and target, and once resolved,
	// what the symlink leads to (nil: nothing, as through a missing name
	// or a file) and how many symlinks resolving it follows, itself
	// included.
	name, target string
	state        uint8 // unresolved, resolving, resolved
	res          *node
	hops         int
}

const (
	unresolved uint8 = iota
	resolving
	resolved
)

// nameTree builds the tree of x.names, and returns its symlinks' nodes
// by name.
func (x *extractor) nameTree() map[string]*node {
	root := &node{kind: kindDir}
	links := make(map[string]*node, len(x.symlinks))
	for name, k := range x.names {
		n := root
		for rest := name; rest != ""; {
			var c string
			c, rest, _ = strings.Cut(rest, "/")
			next := n.kids[c]
			if next == nil {
				if n.kids == nil {
					n.kids = map[string]*node{}
				}
				next = &node{parent: n, kind: kindImplicitDir}
				n.kids[c] = next
			}
			n = next
		}
		n.kind = k
		if k == kindSymlink {
			n.name = name
			links[name] = n
		}
	}
	for _, s := range x.symlinks {
		links[s.name].target = s.target
	}
	return links
}

// maxHops is how many symlinks resolving one may follow: Linux's
// MAXSYMLINKS.
const maxHops = 40

// resolve resolves the symlink n as the kernel would, following the
// archive's other symlinks (each resolved once, then remembered), and
// refuses it if any step leaves the tree. Lexical cleaning alone is not
// enough: with "a/l -> .." a target "a/l/../.." escapes although it
// cleans to ".". depth is how many resolutions are under way around
// this one.
func (x *extractor) resolve(n *node, depth int) error {
	switch n.state {
	case resolved:
		return nil
	case resolving:
		return badEntry(n.name, "too many levels of symlinks (a loop)")
	}
	if depth > maxHops {
		return badEntry(n.name, "too many levels of symlinks")
	}
	n.state = resolving
	cur, hops := n.parent, 0
	for rest := n.target; rest != "" && cur != nil; {
		var c string
		c, rest, _ = strings.Cut(rest, "/")
		switch {
		case c == "" || c == ".":
			continue
		case cur.kind == kindFile:
			// A file cannot be walked through: the kernel stops there
			// (ENOTDIR), so nothing escapes.
			cur = nil
		case c == "..":
			if cur.parent == nil {
				return badEntry(n.name, "symlink target %q leaves the tree", n.target)
			}
			cur = cur.parent
		default:
			next := cur.kids[c]
			if next != nil && next.kind == kindSymlink {
				if err := x.resolve(next, depth+1); err != nil {
					return err
				}
				if hops += next.hops; hops > maxHops {
					return badEntry(n.name, "too many levels of symlinks")
				}
				next = next.res
			}
			// nil: a missing name (ENOENT) ends the walk.
			cur = next
		}
	}
	n.res, n.hops, n.state = cur, hops+1, resolved
	return nil
}

var utsRE = regexp.MustCompile(`(?m)^#define UTS_RELEASE "([^"\n]+)"`)

// checkTree verifies that what was unpacked is a kernel header tree and
// records its release and architecture.
func (x *extractor) checkTree() error {
	if k := x.names["include"]; k != kindDir && k != kindImplicitDir {
		return &ArchiveError{Err: errors.New("not a kernel header archive: no include/ directory")}
	}
	m := utsRE.FindSubmatch(x.uts)
	if m == nil {
		return &ArchiveError{Err: errors.New("not a kernel header archive: no UTS_RELEASE in include/generated/utsrelease.h")}
	}
	x.stats.Release = string(m[1])
	var archs []string
	for a := range x.archs {
		if k := x.names["arch/"+a+"/include"]; k == kindDir || k == kindImplicitDir {
			archs = append(archs, a)
		}
	}
	if len(archs) != 1 {
		return &ArchiveError{Err: fmt.Errorf("not a kernel header archive: want exactly one arch/*/include directory, found %d", len(archs))}
	}
	x.stats.Arch = archs[0]
	return nil
}

// dirCache keeps open descriptors of recently used directories. Entries
// in a kernel archive are sorted, so a small cache hits almost always.
type dirCache struct {
	root  int
	fds   map[string]int
	order []string
}

const dirCacheSize = 128

func newDirCache(root int) *dirCache { return &dirCache{root: root, fds: map[string]int{}} }

func (c *dirCache) get(p string) (int, bool) {
	fd, ok := c.fds[p]
	return fd, ok
}

func (c *dirCache) put(p string, fd int) {
	if len(c.order) >= dirCacheSize {
		old := c.order[0]
		c.order = c.order[1:]
		unix.Close(c.fds[old])
		delete(c.fds, old)
	}
	c.fds[p] = fd
	c.order = append(c.order, p)
}

func (c *dirCache) close() {
	for _, fd := range c.fds {
		unix.Close(fd)
	}
	c.fds = nil
}

// ReadRelease returns UTS_RELEASE from a header tree's
// include/generated/utsrelease.h.
func ReadRelease(data []byte) (string, bool) {
	m := utsRE.FindSubmatch(bytes.TrimSpace(data))
	if m == nil {
		return "", false
	}
	return string(m[1]), true
}
