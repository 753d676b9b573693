package kheaders

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"github.com/khtool/kh/cache"
	"github.com/khtool/kh/internal/fsutil"
	"github.com/khtool/kh/internal/kmod"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"
)

// tmpfsDir returns a fresh directory on tmpfs for a cache, or skips.
func tmpfsDir(t *testing.T) string {
	t.Helper()
	if fsType, _ := fsType("/dev/shm"); fsType != "tmpfs" {
		t.Skip("no tmpfs at /dev/shm")
	}
	d, err := os.MkdirTemp("/dev/shm", "kh-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() { removeTree(d) })
	return filepath.Join(d, "cache")
}

func compressAs(t *testing.T, format string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	switch format {
	case "xz":
		w, _ := xz.WriterConfig{CheckSum: xz.CRC32, DictCap: 1 << 20}.NewWriter(&b)
		w.Write(data)
		w.Close()
	case "zst":
		w, _ := zstd.NewWriter(&b)
		w.Write(data)
		w.Close()
	case "gz":
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
	}
	return b.Bytes()
}

// TestFetchFromEveryForm fetches each real archive as a tar.xz and as a
// module (plain, .xz, .zst, .gz): all must give the same tree, identical
// to what tar -xJf makes of the archive.
func TestFetchFromEveryForm(t *testing.T) {
	for _, arch := range []string{"x86_64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			dir := testkernel(t, arch)
			cacheDir := tmpfsDir(t)
			ko := readFile(t, filepath.Join(dir, "kheaders.ko"))
			files := map[string]string{
				"tar.xz": filepath.Join(dir, "kheaders.tar.xz"),
				"ko":     filepath.Join(dir, "kheaders.ko"),
			}
			tmp := t.TempDir()
			for _, f := range []string{"xz", "zst", "gz"} {
				p := filepath.Join(tmp, "kheaders.ko."+f)
				os.WriteFile(p, compressAs(t, f, ko), 0o644)
				files["ko."+f] = p
			}
			var path string
			extracted := 0
			for _, form := range []string{"tar.xz", "ko", "ko.xz", "ko.zst", "ko.gz"} {
				tree, err := Fetch(context.Background(), Options{From: files[form], CacheDir: cacheDir})
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if path == "" {
					path = tree.Path
				} else if tree.Path != path {
					t.Errorf("%s: path %s, want %s", form, tree.Path, path)
				}
				if !tree.Cached {
					extracted++
				}
				wantKind := SourceModule
				if form == "tar.xz" {
					wantKind = SourceFile
				}
				if tree.Source.Kind != wantKind || tree.Source.Location != files[form] {
					t.Errorf("%s: source %+v", form, tree.Source)
				}
			}
			if extracted != 1 {
				t.Errorf("extracted %d times, want once", extracted)
			}
			tk.NeedTool(t, "tar")
			ref := t.TempDir()
			if out, err := exec.Command("tar", "-C", ref, "-xJf", files["tar.xz"]).CombinedOutput(); err != nil {
				t.Fatalf("tar: %v: %s", err, out)
			}
			addDefines(t, path, ref)
			if a, b := treeListing(t, path), treeListing(t, ref); a != b {
				t.Fatalf("tree differs from tar -xJf: %s", firstDiff(a, b))
			}
		})
	}
}

// fakeRoot builds a filesystem root with the given files.
func fakeRoot(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for p, data := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestFetchRunningSources(t *testing.T) {
	dir := testkernel(t, "x86_64")
	archive := readFile(t, filepath.Join(dir, "kheaders.tar.xz"))
	ko := readFile(t, filepath.Join(dir, "kheaders.ko"))
	const rel = "6.1.192"

	t.Run("sysfs", func(t *testing.T) {
		root := fakeRoot(t, map[string][]byte{SysfsArchive: archive})
		tree, err := Fetch(context.Background(), Options{Root: root, Release: rel, CacheDir: tmpfsDir(t)})
		if err != nil {
			t.Fatal(err)
		}
		if tree.Source.Kind != SourceSysfs || tree.Release != rel || tree.Arch != "x86" || tree.Cached {
			t.Fatalf("tree %+v", tree)
		}
	})
	t.Run("module on disk", func(t *testing.T) {
		root := fakeRoot(t, map[string][]byte{"/lib/modules/" + rel + "/kernel/kernel/kheaders.ko.xz": compressAs(t, "xz", ko)})
		cacheDir := tmpfsDir(t)
		tree, err := Fetch(context.Background(), Options{Root: root, Release: rel, CacheDir: cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		if tree.Source.Kind != SourceModule || tree.Cached {
			t.Fatalf("tree %+v", tree)
		}
		again, err := Fetch(context.Background(), Options{Root: root, Release: rel, CacheDir: cacheDir})
		if err != nil || again.Path != tree.Path || !again.Cached {
			t.Fatalf("second fetch: %+v, %v", again, err)
		}
	})
	t.Run("android vendor_dlkm", func(t *testing.T) {
		root := fakeRoot(t, map[string][]byte{"/vendor_dlkm/lib/modules/kheaders.ko": ko})
		tree, err := Fetch(context.Background(), Options{Root: root, Release: rel, CacheDir: tmpfsDir(t)})
		if err != nil || tree.Source.Kind != SourceModule {
			t.Fatalf("tree %+v, %v", tree, err)
		}
	})
	t.Run("vermagic mismatch", func(t *testing.T) {
		root := fakeRoot(t, map[string][]byte{"/lib/modules/6.1.193/kernel/kernel/kheaders.ko": ko})
		_, err := Fetch(context.Background(), Options{Root: root, Release: "6.1.193", CacheDir: tmpfsDir(t)})
		var nf *NotFoundError
		if !errors.As(err, &nf) || !strings.Contains(err.Error(), "built for 6.1.192, not the running 6.1.193") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("sysfs archive of another kernel", func(t *testing.T) {
		root := fakeRoot(t, map[string][]byte{SysfsArchive: archive})
		_, err := Fetch(context.Background(), Options{Root: root, Release: "6.1.193", CacheDir: tmpfsDir(t)})
		if err == nil || !strings.Contains(err.Error(), "6.1.192") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("nothing", func(t *testing.T) {
		root := fakeRoot(t, map[string][]byte{"/etc/hostname": []byte("x")})
		_, err := Fetch(context.Background(), Options{Root: root, Release: rel, CacheDir: tmpfsDir(t)})
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("err = %v", err)
		}
		for _, want := range []string{SysfsArchive, "kheaders module", "/vendor_dlkm/lib/modules", "/lib/modules/" + rel + "/build", "CONFIG_IKHEADERS"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not mention %q: %v", want, err)
			}
		}
		if strings.Contains(err.Error(), "--") {
			t.Errorf("library error names a command-line flag: %v", err)
		}
	})
}

func buildDirFiles(release string) map[string][]byte {
	return map[string][]byte{
		"include/generated/utsrelease.h":       []byte(`#define UTS_RELEASE "` + release + `"` + "\n"),
		"include/generated/autoconf.h":         []byte("#define CONFIG_BPF 1\n"),
		"include/linux/kconfig.h":              []byte("\n"),
		"arch/x86/include/generated/asm/foo.h": []byte("\n"),
		"arch/arm64/include/asm/bar.h":         []byte("\n"),
	}
}

func TestFetchBuildDir(t *testing.T) {
	const rel = "6.1.0-9-amd64"
	withPrefix := func(prefix string, m map[string][]byte) map[string][]byte {
		out := map[string][]byte{}
		for k, v := range m {
			out[prefix+k] = v
		}
		return out
	}
	t.Run("matching", func(t *testing.T) {
		root := fakeRoot(t, withPrefix("/lib/modules/"+rel+"/build/", buildDirFiles(rel)))
		tree, err := Fetch(context.Background(), Options{Root: root, Release: rel, CacheDir: tmpfsDir(t)})
		if err != nil {
			t.Fatal(err)
		}
		if tree.Source.Kind != SourceDir || tree.Arch != "x86" || tree.Path != filepath.Join(root, "lib/modules", rel, "build") {
			t.Fatalf("tree %+v", tree)
		}
	})
	t.Run("other release", func(t *testing.T) {
		root := fakeRoot(t, withPrefix("/lib/modules/"+rel+"/build/", buildDirFiles("6.1.0-8-amd64")))
		_, err := Fetch(context.Background(), Options{Root: root, Release: rel, CacheDir: tmpfsDir(t)})
		if err == nil || !strings.Contains(err.Error(), "holds headers of 6.1.0-8-amd64, not the running "+rel) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("from dir", func(t *testing.T) {
		root := fakeRoot(t, buildDirFiles(rel))
		tree, err := Fetch(context.Background(), Options{From: root})
		if err != nil || tree.Path != root || tree.Release != rel || tree.Source.Kind != SourceDir {
			t.Fatalf("tree %+v, %v", tree, err)
		}
		if _, err := Fetch(context.Background(), Options{From: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "not a kernel header tree") {
			t.Fatalf("empty dir: %v", err)
		}
	})
}

// TestStaleRelease checks the fastboot case: a rebuilt kernel with the
// same release must get its own tree, never the old one.
func TestStaleRelease(t *testing.T) {
	cacheDir := tmpfsDir(t)
	one := makeArchive(t, minimalTree())
	changed := append(minimalTree(), file("include/linux/new.h", "rebuilt"))
	two := makeArchive(t, changed)
	dir := t.TempDir()
	p := filepath.Join(dir, "kheaders.tar.xz")
	os.WriteFile(p, one, 0o644)
	t1, err := Fetch(context.Background(), Options{From: p, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, two, 0o644) // same path, same release, new content
	t2, err := Fetch(context.Background(), Options{From: p, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	if t1.Path == t2.Path || t2.Cached {
		t.Fatalf("rebuilt archive reused the old tree: %s", t2.Path)
	}
	if _, err := os.Stat(filepath.Join(t2.Path, "include/linux/new.h")); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentFetch(t *testing.T) {
	dir := testkernel(t, "x86_64")
	cacheDir := tmpfsDir(t)
	var wg sync.WaitGroup
	trees := make([]*Tree, 4)
	errs := make([]error, 4)
	for i := range trees {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trees[i], errs[i] = Fetch(context.Background(), Options{From: filepath.Join(dir, "kheaders.tar.xz"), CacheDir: cacheDir})
		}()
	}
	wg.Wait()
	extracted := 0
	for i, tr := range trees {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if tr.Path != trees[0].Path {
			t.Fatalf("paths differ: %s %s", tr.Path, trees[0].Path)
		}
		if !tr.Cached {
			extracted++
		}
	}
	if extracted != 1 {
		t.Fatalf("%d extractions, want 1", extracted)
	}
}

func TestTrust(t *testing.T) {
	tk.NeedRoot(t) // to plant files owned by another user
	archive := makeArchive(t, minimalTree())
	src := filepath.Join(t.TempDir(), "a.tar.xz")
	os.WriteFile(src, archive, 0o644)
	fetch := func(cacheDir string) (*Tree, error) {
		return Fetch(context.Background(), Options{From: src, CacheDir: cacheDir})
	}
	tamper := []struct {
		name string
		do   func(t *testing.T, tree string)
		want string
	}{
		{"owned by another user", func(t *testing.T, tree string) { os.Lchown(tree, 1234, 1234) }, "owned by uid 1234"},
		{"writable by others", func(t *testing.T, tree string) { os.Chmod(tree, 0o777) }, "writable by group or others"},
		{"manifest owned by another user", func(t *testing.T, tree string) { os.Lchown(filepath.Join(tree, ManifestName), 1234, 0) }, "owned by uid 1234"},
		{"manifest writable", func(t *testing.T, tree string) { os.Chmod(filepath.Join(tree, ManifestName), 0o666) }, "writable"},
		{"manifest missing", func(t *testing.T, tree string) { os.Remove(filepath.Join(tree, ManifestName)) }, "no manifest"},
		{"manifest damaged", func(t *testing.T, tree string) {
			os.WriteFile(filepath.Join(tree, ManifestName), []byte("{not json"), 0o444)
		}, "damaged"},
		{"manifest of another archive", func(t *testing.T, tree string) {
			p := filepath.Join(tree, ManifestName)
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte(`"sha256": "`), []byte(`"sha256": "0`), 1)
			os.WriteFile(p, b, 0o444)
		}, "does not match"},
		{"symlink instead of tree", func(t *testing.T, tree string) {
			removeTree(tree)
			os.Symlink(t.TempDir(), tree)
		}, "symlink"},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			cacheDir := tmpfsDir(t)
			tree, err := fetch(cacheDir)
			if err != nil {
				t.Fatal(err)
			}
			tc.do(t, tree.Path)
			_, err = fetch(cacheDir)
			var ue *cache.UntrustedError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("tampered tree: err = %v, want an cache.UntrustedError mentioning %q", err, tc.want)
			}
			// kh clean removes what cannot be trusted; then fetch works.
			if _, err := Clean(context.Background(), Options{CacheDir: cacheDir, Release: "other"}, false); err != nil {
				t.Fatal(err)
			}
			if _, err := fetch(cacheDir); err != nil {
				t.Fatalf("after clean: %v", err)
			}
		})
	}
	t.Run("cache owned by another user", func(t *testing.T) {
		cacheDir := tmpfsDir(t)
		os.MkdirAll(cacheDir, 0o755)
		os.Chown(cacheDir, 1234, 1234)
		if _, err := fetch(cacheDir); err == nil || !strings.Contains(err.Error(), "owned by uid 1234") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("world-writable cacheDir", func(t *testing.T) {
		cacheDir := tmpfsDir(t)
		os.MkdirAll(cacheDir, 0o777)
		os.Chmod(cacheDir, 0o1777)
		if _, err := fetch(cacheDir); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCacheNotTmpfs(t *testing.T) {
	disk := filepath.Join(tk.DiskDir(t), "cache")
	_, err := cache.Open(cache.Options{Dir: disk})
	if err == nil || !strings.Contains(err.Error(), "not tmpfs") {
		t.Fatalf("err = %v", err)
	}
	if _, err := cache.Open(cache.Options{Dir: disk, AllowDisk: true}); err != nil {
		t.Fatal(err)
	}
}

func TestMountTmpfs(t *testing.T) {
	if !tk.PrivateMounts(t) {
		return
	}
	disk := filepath.Join(tk.DiskDir(t), "cache")
	if _, err := cache.Open(cache.Options{Dir: disk}); !errors.Is(err, cache.ErrNotTmpfs) {
		t.Fatalf("a named directory got a tmpfs without MountTmpfs: %v", err)
	}
	c, err := cache.Open(cache.Options{Dir: disk, MountTmpfs: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() // after the checks below, before the unmount
	if typ, _ := fsType(disk); typ != "tmpfs" || !c.Mounted || !c.MountedByKh() {
		t.Fatalf("after OpenCache: fs %s, mounted %v/%v", typ, c.Mounted, c.MountedByKh())
	}
	c.Close()
	src := filepath.Join(t.TempDir(), "a.tar.xz")
	os.WriteFile(src, makeArchive(t, minimalTree()), 0o644)
	if _, err := Fetch(context.Background(), Options{From: src, CacheDir: disk}); err != nil {
		t.Fatal(err)
	}
	// A held tree keeps the tmpfs mounted, and clean --all says so.
	_, hold, err := FetchHeld(context.Background(), Options{From: src, CacheDir: disk})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Clean(context.Background(), Options{CacheDir: disk}, true)
	if err != nil || len(res.Kept) != 1 || res.Unmounted || !strings.Contains(res.NotUnmounted, "in use") {
		t.Fatalf("clean --all with a held tree: %+v %v", res, err)
	}
	hold.Release()
	res, err = Clean(context.Background(), Options{CacheDir: disk}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 || !res.Unmounted {
		t.Fatalf("clean --all: %+v", res)
	}
	if _, err := os.Lstat(disk); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the mount point kh created is left after clean --all: %v", err)
	}
}

// TestNoSpace extracts a real archive into a tmpfs too small for it: the
// error must say so and nothing may be left behind. With 4 MiB the xz
// index already shows the tree cannot fit; 34 MiB holds the 31 MB of tar
// data but not the page-rounded files, so extraction hits ENOSPC half-way.
func TestNoSpace(t *testing.T) {
	tk.NeedRoot(t) // to mount a small tmpfs
	dir := testkernel(t, "x86_64")
	for _, size := range []string{"4m", "34m"} {
		t.Run(size, func(t *testing.T) {
			mnt := t.TempDir()
			if err := mountTmpfs(mnt, "size="+size); err != nil {
				t.Skipf("cannot mount: %v", err)
			}
			t.Cleanup(func() { unmount(mnt) })
			cacheDir := filepath.Join(mnt, "cache")
			_, err := Fetch(context.Background(), Options{From: filepath.Join(dir, "kheaders.tar.xz"), CacheDir: cacheDir})
			if !errors.Is(err, ErrNoSpace) {
				t.Fatalf("err = %v, want ErrNoSpace", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			left, _ := os.ReadDir(cacheDir)
			for _, e := range left {
				if !strings.HasPrefix(e.Name(), ".lock-") {
					t.Errorf("left behind: %s", e.Name())
				}
			}
			t.Log(err)
		})
	}
}

func TestSources(t *testing.T) {
	dir := testkernel(t, "x86_64")
	ko := readFile(t, filepath.Join(dir, "kheaders.ko"))
	const rel = "6.1.192"
	files := map[string][]byte{
		"/lib/modules/" + rel + "/kernel/kernel/kheaders.ko": ko,
		"/vendor_dlkm/lib/modules/kheaders.ko":               []byte("not a module"),
		"/sys/kernel/btf/vmlinux":                            readFile(t, filepath.Join(dir, "vmlinux.btf")),
	}
	for k, v := range buildDirFiles("6.1.191") {
		files["/lib/modules/"+rel+"/build/"+k] = v
	}
	got, err := Sources(context.Background(), Options{Root: fakeRoot(t, files), Release: rel})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind   SourceKind
		loc    string
		usable bool
		why    string
	}{
		{SourceSysfs, SysfsArchive, false, "absent"},
		{SourceModule, "/lib/modules/" + rel + "/kernel/kernel/kheaders.ko", true, ""},
		{SourceModule, "/vendor_dlkm/lib/modules/kheaders.ko", false, "not a kernel module"},
		{SourceDir, "/lib/modules/" + rel + "/build", false, "holds headers of 6.1.191"},
		{SourceBTF, "/sys/kernel/btf/vmlinux", true, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("Sources = %+v", got)
	}
	for i, w := range want {
		g := got[i]
		if g.Source.Kind != w.kind || !strings.HasSuffix(g.Source.Location, w.loc) || g.Usable != w.usable || !strings.Contains(g.Why, w.why) {
			t.Errorf("source %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestReadOnlyCache fetches into a cache the user cannot write (here a
// read-only tmpfs): a one-line error that names the cache, nothing else.
func TestReadOnlyCache(t *testing.T) {
	tk.NeedRoot(t) // to mount a read-only tmpfs
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", unix.MS_RDONLY, "size=1m,mode=0755"); err != nil {
		t.Skipf("cannot mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	src := filepath.Join(t.TempDir(), "a.tar.xz")
	os.WriteFile(src, makeArchive(t, minimalTree()), 0o644)
	_, err := Fetch(context.Background(), Options{From: src, CacheDir: mnt})
	if err == nil || !strings.Contains(err.Error(), "cache "+mnt+" is not writable by this user") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Fetch into a read-only cacheDir: %v", err)
	}
}

// TestReadArchiveTooLarge: a --from file over the size limit is refused
// from fstat, without reading it (a sparse file of kmod.MaxSize+1 bytes),
// and so is a FIFO, without blocking.
func TestReadArchiveTooLarge(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "huge.tar.xz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(kmod.MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var tl *fsutil.TooLargeError
	if _, err := ReadArchive(p); !errors.As(err, &tl) || tl.Size != kmod.MaxSize+1 {
		t.Fatalf("ReadArchive of a file over the limit: %v", err)
	}
	text := filepath.Join(dir, "text")
	os.WriteFile(text, []byte("hello\n"), 0o644)
	if _, err := ReadArchive(text); !errors.Is(err, ErrNotArchive) {
		t.Fatalf("ReadArchive of a text file: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadArchive(fifo); !errors.Is(err, fsutil.ErrNotRegular) {
		t.Fatalf("ReadArchive of a FIFO: %v", err)
	}
}

// addDefines checks that a tree kh extracted holds DefinesHeader, and
// adds it to ref, tar's extraction of the same archive: a tree is the
// archive's plus that header.
func addDefines(t *testing.T, tree, ref string) {
	t.Helper()
	added, err := os.ReadFile(filepath.Join(tree, DefinesHeader))
	if err != nil || string(added) != definesHeader {
		t.Fatalf("%s: %q, %v", DefinesHeader, added, err)
	}
	if err := os.WriteFile(filepath.Join(ref, DefinesHeader), added, 0o444); err != nil {
		t.Fatal(err)
	}
}
