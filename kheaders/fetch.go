package kheaders

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/khtool/kh/cache"
	"github.com/khtool/kh/internal/fsutil"
	"github.com/khtool/kh/internal/logx"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/khtool/kh/btf"
	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/kmod"
	"github.com/khtool/kh/kconfig"
	"github.com/khtool/kh/registry"
	"golang.org/x/sys/unix"
)

// Options configure Fetch. The zero value fetches the running kernel's
// headers into the default cache.
type Options struct {
	// From is an archive (kheaders.tar.xz), a kheaders module file (.ko,
	// .ko.xz, .ko.zst, .ko.gz) or a header tree directory to use instead
	// of the running kernel's sources. A directory is validated and used
	// in place, never copied.
	From string
	// LoadModule loads the kheaders module with finit_module(2) when
	// /sys/kernel/kheaders.tar.xz is absent, and then reads that file,
	// instead of reading the archive out of the module file.
	LoadModule bool
	// Require, when KindHeaders, refuses to fall back to a BTF tree.
	Require Kind

	// Registry, if set, is an OCI repository of kernel artifacts (see
	// package registry), tried after the running kernel's own sources
	// and before its BTF: the artifact of the running kernel's build ID.
	Registry *registry.Repository
	// Remote, with Registry, fetches the tree of another kernel instead
	// of the running kernel's: the artifact of that build ID, or of that
	// release and arch.
	Remote registry.Query

	// CacheDir is the cache directory; "" means DefaultCacheDir.
	CacheDir string
	// AllowDisk accepts a cache that is not on tmpfs.
	AllowDisk bool
	// MountTmpfs lets root mount a tmpfs on CacheDir when it is not on
	// tmpfs and is empty (cache.Options.MountTmpfs).
	MountTmpfs bool
	// Limits bound what an archive may hold; the zero value means
	// DefaultLimits.
	Limits Limits

	// Root is the root directory in which the running kernel's sources
	// are looked for ("" means "/"); tests point it at a fake root.
	Root string
	// Release is the running kernel's release; "" means uname -r.
	Release string

	// Log receives a line for each source considered and each cache
	// decision; nil discards them.
	Log *slog.Logger
}

// logger returns o.Log, or a logger that drops everything.
func (o Options) logger() *slog.Logger {
	return logx.OrDiscard(o.Log)
}

// NotFoundError means no source of headers could be used for the kernel.
// When some sources exist but could not be read (EACCES or EPERM: file
// modes, or a security policy such as Android's SELinux rules for the
// shell user), Denied names them and errors.Is(err, fs.ErrPermission)
// is true: the headers are there, the caller may not read them.
type NotFoundError struct {
	Release string
	Looked  []string // what was looked for, and why it was not used
	// Denied are the sources that exist but could not be read, with the
	// errors that said so (DeniedErrs, in the same order).
	Denied     []string
	DeniedErrs []error
}

func (e *NotFoundError) Error() string {
	if len(e.Denied) > 0 {
		return fmt.Sprintf("no kernel headers for %s: permission denied reading %s (looked at: %s)",
			e.Release, strings.Join(e.Denied, ", "), strings.Join(e.Looked, "; "))
	}
	return fmt.Sprintf("no kernel headers for %s: %s", e.Release, strings.Join(e.Looked, "; "))
}

// Is makes errors.Is(err, fs.ErrPermission) true when a source was
// denied.
func (e *NotFoundError) Is(target error) bool {
	return target == fs.ErrPermission && len(e.Denied) > 0
}

// Unwrap returns the errors of the denied sources.
func (e *NotFoundError) Unwrap() []error { return e.DeniedErrs }

// denied reports whether err is a refusal to read (EACCES, EPERM).
func denied(err error) bool { return errors.Is(err, fs.ErrPermission) }

// readable returns a permission error if this process may not read p:
// access(2) asks the same questions as open(2), file modes and the
// security policy (SELinux on Android), without opening or reading it,
// so a warm fetch still reads nothing. Other errors are left to the
// read itself.
func readable(p string) error {
	if err := unix.Access(p, unix.R_OK); denied(err) {
		return &fs.PathError{Op: "read", Path: p, Err: err}
	}
	return nil
}

// Fetch returns a header tree for the running kernel (or for opts.From),
// extracting it into the cache if needed. The sources, in order:
//
//  1. opts.From: an archive, a module file or a header directory;
//  2. /sys/kernel/kheaders.tar.xz;
//  3. the kheaders module on disk (/lib/modules/RELEASE and Android's
//     module partitions), read without loading it after checking its
//     vermagic, or loaded with opts.LoadModule;
//  4. /lib/modules/RELEASE/build, only when it provably matches the
//     running kernel (release, and configuration where the running
//     kernel's can be read);
//  5. with opts.Registry, the artifact of the running kernel's build ID
//     (/sys/kernel/notes) in that OCI repository: its headers archive,
//     treated as any archive, or else (unless opts.Require is
//     KindHeaders) a BTF tree of its BTF and configuration; a registry
//     that has no such artifact is skipped, any other failure is an
//     error;
//  6. unless opts.Require is KindHeaders, a KindBTF tree made from the
//     kernel's BTF (/sys/kernel/btf/vmlinux): vmlinux.h and kconfig.h,
//     for CO-RE programs.
//
// With opts.Registry and opts.Remote, Fetch instead returns the tree of
// the artifact opts.Remote selects (another kernel's).
//
// A second Fetch for the same kernel returns the cached tree without
// reading or hashing the archive again where the source's identity can be
// proven cheaply (see SourceKey).
func Fetch(ctx context.Context, opts Options) (*Tree, error) {
	f := &fetcher{opts: opts, log: opts.logger()}
	if f.opts.Limits == (Limits{}) {
		f.opts.Limits = DefaultLimits()
	}
	defer f.close()
	if opts.From != "" {
		return f.fromPath(ctx)
	}
	if opts.Remote != (registry.Query{}) {
		return f.fromRegistry(ctx)
	}
	return f.running(ctx)
}

// FetchHeld is Fetch, and then a shared lock on the tree it returns
// (cache.HoldTree) that kh clean respects: the tree stays until the hold
// is released, or until every process that inherited its file is gone.
// A tree removed between the fetch and the lock is fetched again. A tree
// used in place (a header directory) is not in the cache: its hold is
// nil.
func FetchHeld(ctx context.Context, opts Options) (*Tree, *cache.Hold, error) {
	for i := 0; ; i++ {
		t, err := Fetch(ctx, opts)
		if err != nil {
			return nil, nil, err
		}
		if t.Source.Kind == SourceDir || t.SHA256 == "" {
			return t, nil, nil
		}
		h, err := cache.HoldTree(ctx, t.Path)
		if errors.Is(err, cache.ErrNotCached) && i < 10 {
			opts.logger().Debug("the tree was removed before it could be held; fetching it again", "path", t.Path)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return t, h, nil
	}
}

type fetcher struct {
	opts  Options
	log   *slog.Logger
	cache *cache.Cache
	// nf collects, while the running kernel's sources are tried, what
	// was looked at and what could not be read.
	nf *NotFoundError
}

// deny records that source path exists but could not be read.
func (f *fetcher) deny(path string, err error) {
	f.log.Debug("source not readable", "source", path, "err", err)
	if f.nf != nil {
		f.nf.Denied = append(f.nf.Denied, path)
		f.nf.DeniedErrs = append(f.nf.DeniedErrs, err)
	}
}

func (f *fetcher) close() {
	if f.cache != nil {
		f.cache.Close()
	}
}

func (f *fetcher) openCache() (*cache.Cache, error) {
	if f.cache == nil {
		c, err := cache.Open(cache.Options{Dir: f.opts.CacheDir, AllowDisk: f.opts.AllowDisk, MountTmpfs: f.opts.MountTmpfs, Log: f.log})
		if err != nil {
			return nil, err
		}
		f.cache = c
	}
	return f.cache, nil
}

func (f *fetcher) fromPath(ctx context.Context) (*Tree, error) {
	from := f.opts.From
	fi, err := os.Stat(from)
	if err != nil {
		return nil, fmt.Errorf("header source: %w", err)
	}
	if fi.IsDir() {
		t, err := OpenDir(ctx, from)
		if err != nil {
			return nil, err
		}
		f.log.Debug("using the header tree in place", "dir", t.Path, "release", t.Release, "arch", t.Arch)
		return t, nil
	}
	abs, err := filepath.Abs(from)
	if err != nil {
		return nil, err
	}
	// The identity is the open file's (fstat), before and after the read:
	// a file swapped or changed meanwhile records no hint.
	file, err := fsutil.Open(abs)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	src := Source{Kind: SourceFile, Location: abs}
	var before, after unix.Stat_t
	key := ""
	if unix.Fstat(int(file.Fd()), &before) == nil {
		key = fileKey(src, "", &before)
	}
	if t, ok := f.fromHint(key); ok {
		return t, nil
	}
	data, err := fsutil.ReadOpen(file, abs, kmod.MaxSize)
	if err != nil {
		return nil, err
	}
	if unix.Fstat(int(file.Fd()), &after) != nil || fileKey(src, "", &after) != key {
		key = ""
	}
	a, err := parseArchive(data, abs)
	if err != nil {
		return nil, err
	}
	f.log.Debug("read archive", "source", a.Source.Kind, "path", abs, "bytes", len(a.Data))
	return f.publish(ctx, a, key)
}

// fromHint returns the tree a source key points to, if any.
func (f *fetcher) fromHint(key string) (*Tree, bool) {
	if key == "" {
		return nil, false
	}
	c, err := f.openCache()
	if err != nil {
		return nil, false
	}
	t, src, ok := c.FromHint(key)
	if !ok {
		return nil, false
	}
	t.Source = src
	f.log.Debug("cache hit (source unchanged since it was last read)", "path", t.Path)
	return t, true
}

// publish returns the cached tree of archive a, extracting it first if
// needed, and records key as a hint for the next call.
func (f *fetcher) publish(ctx context.Context, a *Archive, key string) (*Tree, error) {
	c, err := f.openCache()
	if err != nil {
		return nil, err
	}
	digest := a.Digest()
	extracted := false
	t, err := c.Publish(ctx, digest, func(ctx context.Context, dir string) (Manifest, error) {
		extracted = true
		f.log.Debug("extracting", "archive", a.Source.Location, "sha256", digest, "into", dir)
		st, err := Extract(ctx, a.Data, dir, f.opts.Limits)
		if err != nil {
			return Manifest{}, err
		}
		if a.Release != "" && st.Release != a.Release {
			return Manifest{}, &ArchiveError{Err: fmt.Errorf("the archive holds headers of kernel %s, but its source is for %s", st.Release, a.Release)}
		}
		n, err := addDefinesHeader(dir)
		if err != nil {
			return Manifest{}, err
		}
		if n > 0 {
			st.Files++
			st.Bytes += n
		}
		return Manifest{Kind: KindHeaders, Release: st.Release, Arch: st.Arch, Source: a.Source, Files: st.Files, Bytes: st.Bytes}, nil
	})
	if err != nil {
		return nil, err
	}
	if a.Release != "" && t.Release != a.Release {
		return nil, fmt.Errorf("%s holds headers of kernel %s, not %s", a.Source.Location, t.Release, a.Release)
	}
	if !extracted {
		f.log.Debug("cache hit", "path", t.Path)
	}
	t.Cached = !extracted
	t.Source = a.Source
	if key != "" {
		if err := c.SetHint(key, t, a.Source); err != nil {
			f.log.Debug("could not record a cache hint", "err", err)
		}
	}
	return t, nil
}

// addDefinesHeader writes DefinesHeader into a freshly extracted tree in
// staging directory dir, if the tree has a real include/generated
// directory, and returns its size (0: not written).
func addDefinesHeader(dir string) (int64, error) {
	gen := filepath.Join(dir, filepath.Dir(DefinesHeader))
	for _, d := range []string{filepath.Dir(gen), gen} {
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			return 0, nil
		}
	}
	// Extract leaves directories read-only (0555).
	if err := os.Chmod(gen, 0o755); err != nil {
		return 0, fmt.Errorf("add %s: %w", DefinesHeader, err)
	}
	n, err := writeTreeFile(dir, DefinesHeader, func(w *bufio.Writer) error { _, err := w.WriteString(definesHeader); return err })
	if cerr := os.Chmod(gen, 0o555); err == nil && cerr != nil {
		err = fmt.Errorf("add %s: %w", DefinesHeader, cerr)
	}
	return n, err
}

func (f *fetcher) running(ctx context.Context) (*Tree, error) {
	release, err := kernel.Release(f.opts.Release)
	if err != nil {
		return nil, err
	}
	e := &sourceEnv{root: f.opts.Root, release: release}
	nf := &NotFoundError{Release: release}
	f.nf = nf
	skip := func(what, why string) {
		f.log.Debug("source skipped", "source", what, "why", why)
		nf.Looked = append(nf.Looked, what+": "+why)
	}
	for _, s := range headerSources() {
		if t, done, err := s.fetch(ctx, f, e, skip); done {
			return t, err
		}
	}
	return nil, nf
}

// fetchSysfs is Fetch's step for the sysfs file.
func fetchSysfs(ctx context.Context, f *fetcher, e *sourceEnv, skip func(what, why string)) (*Tree, bool, error) {
	t, ok, err := f.trySysfs(ctx, kernel.Path(e.root, SysfsArchive), e.release)
	if denied(err) {
		f.deny(SysfsArchive, err)
		skip(SysfsArchive, "permission denied")
		return nil, false, nil
	}
	if ok || err != nil {
		return t, true, err
	}
	skip(SysfsArchive, sysfsAbsent)
	return nil, false, nil
}

// fetchModule is Fetch's step for the kheaders module on disk.
func fetchModule(ctx context.Context, f *fetcher, e *sourceEnv, skip func(what, why string)) (*Tree, bool, error) {
	root, release := e.root, e.release
	mods := kmod.Find(root, release, "kheaders")
	for _, p := range mods {
		src := Source{Kind: SourceModule, Location: p}
		key := SourceKey(root, src, release)
		if err := readable(p); err != nil {
			f.deny(p, err)
			skip(p, "permission denied")
			continue
		}
		if !f.opts.LoadModule {
			// The same file as last time (and so the same vermagic):
			// no need to read it.
			if t, ok := f.fromHint(key); ok && t.Release == release {
				return t, true, nil
			}
		}
		m, why, err := checkModule(p, release)
		if denied(err) {
			f.deny(p, err)
			skip(p, "permission denied")
			continue
		}
		if m == nil {
			f.log.Warn("kheaders module not used", "module", p, "why", why)
			skip(p, why)
			continue
		}
		if f.opts.LoadModule {
			f.log.Debug("loading the kheaders module", "module", p)
			if err := loadModule(m); err != nil {
				return nil, true, err
			}
			sysfs := kernel.Path(root, SysfsArchive)
			if t, ok, err := f.trySysfs(ctx, sysfs, release); ok || err != nil {
				return t, true, err
			}
			return nil, true, fmt.Errorf("loaded %s, but %s did not appear", p, SysfsArchive)
		}
		f.log.Debug("source taken", "source", "module", "path", p, "vermagic", m.Vermagic())
		a, err := archiveFromModule(m)
		if err != nil {
			skip(p, err.Error())
			continue
		}
		if SourceKey(root, src, release) != key {
			key = "" // changed while it was read
		}
		t, err := f.publish(ctx, a, key)
		return t, true, err
	}
	if len(mods) == 0 {
		skip("kheaders module", notFoundIn(release))
	}
	return nil, false, nil
}

// fetchBuildDir is Fetch's step for filesystem headers, taken only when
// they provably match.
func fetchBuildDir(ctx context.Context, f *fetcher, e *sourceEnv, skip func(what, why string)) (*Tree, bool, error) {
	build := kernel.Path(e.root, "/lib/modules/"+e.release+"/build")
	t, why := f.tryBuildDir(ctx, build, e.release)
	if t != nil {
		return t, true, nil
	}
	skip(build, why)
	return nil, false, nil
}

// fetchRegistry is Fetch's step for Options.Registry: the artifact of
// the running kernel's build ID.
func fetchRegistry(ctx context.Context, f *fetcher, e *sourceEnv, skip func(what, why string)) (*Tree, bool, error) {
	if f.opts.Registry == nil {
		return nil, false, nil
	}
	t, why, err := f.tryRegistry(ctx, e.release)
	if t != nil || err != nil {
		return t, true, err
	}
	skip(f.opts.Registry.Ref, why)
	return nil, false, nil
}

// fetchBTF is Fetch's last step: a tree made from the kernel's BTF, for
// CO-RE programs, unless Options.Require asks for real headers.
func fetchBTF(ctx context.Context, f *fetcher, e *sourceEnv, skip func(what, why string)) (*Tree, bool, error) {
	if f.opts.Require == KindHeaders {
		skip(btf.KernelPath, "not used: only kernel headers are acceptable (Options.Require)")
		return nil, false, nil
	}
	t, ok, err := f.tryBTF(ctx, e.release)
	if denied(err) {
		f.deny(btf.KernelPath, err)
		skip(btf.KernelPath, "permission denied")
		return nil, false, nil
	}
	if ok || err != nil {
		return t, true, err
	}
	skip(btf.KernelPath, btfAbsent)
	return nil, false, nil
}

// trySysfs uses the sysfs archive if it exists.
func (f *fetcher) trySysfs(ctx context.Context, path, release string) (*Tree, bool, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, false, nil
	}
	if err := readable(path); err != nil {
		return nil, true, err
	}
	src := Source{Kind: SourceSysfs, Location: path}
	key := SourceKey(f.opts.Root, src, release)
	if t, ok := f.fromHint(key); ok && t.Release == release {
		return t, true, nil
	}
	f.log.Debug("source taken", "source", "sysfs", "path", path)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, true, fmt.Errorf("read %s: %w", path, err)
	}
	t, err := f.publish(ctx, &Archive{Data: data, Source: src, Release: release}, key)
	return t, true, err
}

// tryBuildDir accepts /lib/modules/RELEASE/build only if it is a header
// tree of the running kernel; otherwise it says why not.
func (f *fetcher) tryBuildDir(ctx context.Context, dir, release string) (*Tree, string) {
	t, why, mismatch := checkBuildDir(ctx, f.opts.Root, dir, release, f.log)
	if t == nil {
		switch {
		case mismatch:
			f.log.Warn("filesystem headers do not match the running kernel", "dir", dir, "why", why)
		case strings.HasPrefix(why, untrustedPrefix):
			f.log.Warn("filesystem headers not used: another user could change them", "dir", dir, "why", why)
		}
		return nil, why
	}
	f.log.Debug("source taken", "source", "dir", "path", dir)
	return t, ""
}

// checkModule opens a kheaders module file and checks that it was built
// for release; otherwise it says why not (and err is the error of
// opening it, if that was what failed).
func checkModule(path, release string) (m *kmod.Module, why string, err error) {
	m, err = kmod.Open(path)
	if err != nil {
		return nil, err.Error(), err
	}
	if m.Release() != release {
		return nil, fmt.Sprintf("built for %s, not the running %s", m.Release(), release), nil
	}
	return m, "", nil
}

// btfAbsent says why btf.KernelPath does not exist.
const btfAbsent = "absent (no CONFIG_DEBUG_INFO_BTF)"

// sysfsAbsent says why SysfsArchive does not exist.
const sysfsAbsent = "absent (CONFIG_IKHEADERS is not built in and the kheaders module is not loaded)"

func notFoundIn(release string) string {
	return "not found in " + strings.Join(kmod.Dirs(release), ", ")
}

// checkBuildDir validates a filesystem header tree against the running
// kernel: its release and, where the running kernel's configuration can
// be read, its configuration. mismatch is set when the tree exists but
// belongs to another kernel.
func checkBuildDir(ctx context.Context, root, dir, release string, log *slog.Logger) (t *Tree, why string, mismatch bool) {
	if _, err := os.Stat(dir); err != nil {
		return nil, "absent", false
	}
	t, err := OpenDir(ctx, dir)
	var u *UntrustedTreeError
	if errors.As(err, &u) {
		return nil, untrustedPrefix + u.Err.Error(), false
	}
	if err != nil {
		return nil, err.Error(), false
	}
	if t.Release != release {
		return nil, fmt.Sprintf("holds headers of %s, not the running %s", t.Release, release), true
	}
	if err := configAgrees(ctx, root, t, release, log); err != nil {
		return nil, err.Error(), true
	}
	return t, "", false
}

// untrustedPrefix starts the reason a build directory was not used
// because another user could change it.
const untrustedPrefix = "not safe to use in place: "

// configAgrees checks a header tree's configuration (include/config/
// auto.conf or include/generated/autoconf.h) against the running kernel's
// (/proc/config.gz, else /boot/config-RELEASE or the configs module),
// where the running kernel's can be found.
func configAgrees(ctx context.Context, root string, t *Tree, release string, log *slog.Logger) error {
	running, err := kconfig.Running(ctx, kconfig.Options{Root: root, Release: release, Logger: log})
	if err != nil {
		if _, serr := os.Stat(kernel.Path(root, procConfig)); serr == nil {
			// It exists but cannot be read: nothing proves a match.
			return fmt.Errorf("cannot compare its configuration with the running kernel's: %w", err)
		}
		log.Debug("no running kernel configuration to compare the headers with", "err", err)
		return nil
	}
	tree, err := kconfig.OpenTree(t.Path)
	if err != nil {
		return fmt.Errorf("cannot read its configuration: %w", err)
	}
	diff := kconfig.Diff(running, tree)
	if len(diff) == 0 {
		return nil
	}
	var some []string
	for _, c := range diff[:min(len(diff), 3)] {
		some = append(some, fmt.Sprintf("%s=%s in %s, %s in the headers", c.Name, orN(c.Old), running.Source.Location, orN(c.New)))
	}
	return fmt.Errorf("its configuration differs from the running kernel's in %d options (%s)", len(diff), strings.Join(some, "; "))
}

func orN(v string) string {
	if v == "" {
		return "n"
	}
	return v
}

// CleanResult says what Clean did.
type CleanResult struct {
	Removed []string `json:"removed"` // paths of removed trees
	// Kept are trees left in place because a running process holds them
	// (a tool run by kh exec, or kh build).
	Kept []string `json:"kept,omitempty"`
	// Swept are leftovers removed: staging directories of killed runs,
	// trash, temporary files, lock files nobody held.
	Swept     []string `json:"swept,omitempty"`
	Unmounted bool     `json:"unmounted"` // the cache tmpfs was unmounted
	// NotUnmounted says why the cache tmpfs kh mounted is still mounted
	// after removing everything ("" when it is not).
	NotUnmounted string `json:"not_unmounted,omitempty"`
}

// Clean removes cached trees that do not belong to the running kernel, and
// trees that cannot be trusted, except trees a running process holds
// (FetchHeld), which it keeps and lists. A tree belongs to the running
// kernel when its release is uname -r and, where the kernel's archive can
// be read, its digest is that archive's. It also sweeps what no process
// uses any more (leftovers of killed runs, free locks, stale hints). With
// all, it removes every tree no process holds and then unmounts the cache
// tmpfs if kh mounted it; a tmpfs it cannot unmount (a tree is kept, or a
// file is open) is reported in NotUnmounted, not as an error.
func Clean(ctx context.Context, opts Options, all bool) (*CleanResult, error) {
	c, err := cache.Open(cache.Options{Dir: opts.CacheDir, AllowDisk: true, Existing: true, Log: opts.logger()})
	if errors.Is(err, os.ErrNotExist) {
		return &CleanResult{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	res := &CleanResult{}
	if all {
		r, err := c.RemoveAll(ctx)
		if r != nil {
			res.Removed, res.Kept = r.Removed, r.Kept
		}
		if err != nil {
			return res, err
		}
		if !c.MountedByKh() {
			return res, nil
		}
		if len(res.Kept) > 0 {
			res.NotUnmounted = fmt.Sprintf("%d tree(s) in it are in use", len(res.Kept))
			return res, nil
		}
		res.Unmounted, err = c.Unmount()
		if err != nil {
			res.NotUnmounted = err.Error()
		}
		return res, nil
	}
	release, err := kernel.Release(opts.Release)
	if err != nil {
		return nil, err
	}
	running := runningDigests(ctx, opts.Root, release)
	entries, err := c.List()
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		keep := e.Err == nil && e.Tree.Release == release && (len(running) == 0 || running[e.Tree.SHA256])
		if keep {
			continue
		}
		err := c.Remove(ctx, e.Name)
		switch {
		case errors.Is(err, cache.ErrInUse):
			res.Kept = append(res.Kept, filepath.Join(c.Dir, e.Name))
		case err != nil:
			return res, err
		default:
			res.Removed = append(res.Removed, filepath.Join(c.Dir, e.Name))
		}
	}
	res.Swept = c.Sweep()
	return res, nil
}

// runningDigests returns the digests of the running kernel's trees that
// can be computed (from the sysfs and module archives, and its BTF tree).
func runningDigests(ctx context.Context, root, release string) map[string]bool {
	out := map[string]bool{}
	if data, err := os.ReadFile(kernel.Path(root, btf.KernelPath)); err == nil {
		var cfgText []byte
		if cfg, err := kconfig.Running(ctx, kconfig.Options{Root: root, Release: release}); err == nil {
			cfgText = cfg.Bytes()
		}
		out[btfTreeDigest(data, cfgText)] = true
	}
	if data, err := os.ReadFile(kernel.Path(root, SysfsArchive)); err == nil {
		out[(&Archive{Data: data}).Digest()] = true
	}
	for _, p := range kmod.Find(root, release, "kheaders") {
		if m, _, _ := checkModule(p, release); m != nil {
			if a, err := archiveFromModule(m); err == nil {
				out[a.Digest()] = true
			}
		}
	}
	return out
}
