package kheaders

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	khcache "github.com/khtool/kh/cache"
	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/regtest"
	tk "github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/registry"
)

// notesFile returns ELF notes holding a GNU build ID, as /sys/kernel/notes.
func notesFile(t testing.TB, id string) []byte {
	t.Helper()
	desc, err := hex.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	bo := binary.NativeEndian
	b := bo.AppendUint32(nil, 4)
	b = bo.AppendUint32(b, uint32(len(desc)))
	b = bo.AppendUint32(b, 3)
	b = append(b, "GNU\x00"...)
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// testKernelArtifact reads a test kernel's artifacts ("x86_64", "arm64",
// "6.12/x86_64", "6.12/arm64").
func testKernelArtifact(t testing.TB, dir string) *registry.Artifact {
	t.Helper()
	root, err := tk.Root()
	if err != nil {
		tk.Skip(t, "%v", err)
	}
	d := filepath.Join(root, dir)
	arch := "x86"
	if strings.HasSuffix(dir, "arm64") {
		arch = "arm64"
	}
	return &registry.Artifact{
		Identity: registry.Identity{
			Release: strings.TrimSpace(string(readFile(t, filepath.Join(d, "release")))),
			Arch:    arch,
			BuildID: strings.TrimSpace(string(readFile(t, filepath.Join(d, "build-id")))),
			Source:  "file",
		},
		Headers: readFile(t, filepath.Join(d, "kheaders.tar.xz")),
		BTF:     readFile(t, filepath.Join(d, "vmlinux.btf")),
		Config:  readFile(t, filepath.Join(d, "config")),
	}
}

func openRepo(t testing.TB, ref string) *registry.Repository {
	t.Helper()
	r, err := registry.Open(ref, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func push(t testing.TB, repo *registry.Repository, a *registry.Artifact) *registry.PushResult {
	t.Helper()
	res, err := repo.Push(context.Background(), a, registry.PushOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// runningRoot is a root whose running kernel has build ID id and no
// header source of its own.
func runningRoot(t testing.TB, id string) string {
	return fakeRoot(t.(*testing.T), map[string][]byte{kernelNotes: notesFile(t, id)})
}

// cacheTrees lists what a cache directory holds besides locks and hints:
// published trees and staging directories.
func cacheTrees(t testing.TB, dir string) []string {
	t.Helper()
	names, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n.Name(), ".lock-") && !strings.HasPrefix(n.Name(), ".hint-") {
			out = append(out, n.Name())
		}
	}
	return out
}

// TestFetchRegistry pushes each test kernel (6.1 and 6.12, both arches)
// with its real build ID and fetches it as the running kernel of a root
// that has no header source but its build ID: the tree must be the one
// tar -xJf makes of the archive, named as a local fetch names it; a
// second fetch must not touch the registry; a local fetch of the same
// archive must be warm.
func TestFetchRegistry(t *testing.T) {
	tk.NeedTool(t, "tar")
	reg := regtest.Start(t, regtest.Options{})
	repo := openRepo(t, reg.Repo("kernels/kh"))
	ctx := context.Background()
	cache := tmpfsDir(t)
	type pushed struct {
		a    *registry.Artifact
		root string
		tree *Tree
	}
	var all []pushed
	for _, d := range []string{"x86_64", "arm64", "6.12/x86_64", "6.12/arm64"} {
		a := testKernelArtifact(t, d)
		push(t, repo, a)
		root := runningRoot(t, a.BuildID)
		tree, err := Fetch(ctx, Options{Root: root, Release: a.Release, Registry: repo, CacheDir: cache})
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if tree.Cached || tree.Kind != KindHeaders || tree.Release != a.Release || tree.Arch != a.Arch {
			t.Errorf("%s: tree %+v", d, tree)
		}
		if want := (Source{Kind: SourceRegistry, Location: repo.Ref + ":buildid-" + a.BuildID}); tree.Source != want {
			t.Errorf("%s: source %+v, want %+v", d, tree.Source, want)
		}
		if want := khcache.TreeName(a.Release, (&Archive{Data: a.Headers}).Digest()); filepath.Base(tree.Path) != want {
			t.Errorf("%s: tree %s, want the local name %s", d, tree.Path, want)
		}
		ref := t.TempDir()
		arch := filepath.Join(t.TempDir(), "kheaders.tar.xz")
		os.WriteFile(arch, a.Headers, 0o644)
		if out, err := exec.Command("tar", "-C", ref, "-xJf", arch).CombinedOutput(); err != nil {
			t.Fatalf("tar: %v: %s", err, out)
		}
		addDefines(t, tree.Path, ref)
		if x, y := treeListing(t, tree.Path), treeListing(t, ref); x != y {
			t.Fatalf("%s: tree differs from tar -xJf: %s", d, firstDiff(x, y))
		}
		// A later local fetch of the same archive is warm.
		local, err := Fetch(ctx, Options{From: arch, CacheDir: cache})
		if err != nil || !local.Cached || local.Path != tree.Path {
			t.Errorf("%s: local fetch after the registry's: %+v, %v; want the same tree, cached", d, local, err)
		}
		all = append(all, pushed{a, root, tree})
	}

	// Warm: no network at all (the registry is gone).
	reg.Stop()
	for _, p := range all {
		tree, err := Fetch(ctx, Options{Root: p.root, Release: p.a.Release, Registry: repo, CacheDir: cache})
		if err != nil {
			t.Fatalf("warm fetch of %s with the registry stopped: %v", p.a.BuildID, err)
		}
		if !tree.Cached || tree.Path != p.tree.Path || tree.Source.Kind != SourceRegistry {
			t.Errorf("warm fetch: %+v", tree)
		}
	}
}

// TestFetchRegistryLocalFirst: after a local fetch of an archive, the
// registry's artifact of the same archive costs no blob download.
func TestFetchRegistryLocalFirst(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	repo := openRepo(t, reg.Repo("kh"))
	a := testKernelArtifact(t, "arm64")
	res := push(t, repo, a)
	cache := tmpfsDir(t)
	arch := filepath.Join(t.TempDir(), "kheaders.tar.xz")
	os.WriteFile(arch, a.Headers, 0o644)
	local, err := Fetch(context.Background(), Options{From: arch, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	// Break the blob: a download would now fail.
	l, _ := res.Layer(registry.Headers)
	if err := os.WriteFile(reg.BlobPath(l.Digest), []byte("broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree, err := Fetch(context.Background(), Options{Root: runningRoot(t, a.BuildID), Release: a.Release, Registry: repo, CacheDir: cache})
	if err != nil {
		t.Fatalf("registry fetch of an archive already unpacked: %v", err)
	}
	if !tree.Cached || tree.Path != local.Path || tree.Source.Kind != SourceRegistry {
		t.Errorf("tree %+v, want %s, cached", tree, local.Path)
	}
}

// TestFetchRegistryRemote fetches another kernel's tree by build ID and
// by release.
func TestFetchRegistryRemote(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	repo := openRepo(t, reg.Repo("kh"))
	a := testKernelArtifact(t, "6.12/arm64")
	push(t, repo, a)
	cache := tmpfsDir(t)
	ctx := context.Background()
	byID, err := Fetch(ctx, Options{Registry: repo, Remote: registry.Query{BuildID: a.BuildID}, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if byID.Release != a.Release || byID.Arch != "arm64" || byID.Cached {
		t.Errorf("by build ID: %+v", byID)
	}
	byRel, err := Fetch(ctx, Options{Registry: repo, Remote: registry.Query{Release: a.Release, Arch: "arm64"}, CacheDir: cache})
	if err != nil || byRel.Path != byID.Path || !byRel.Cached {
		t.Errorf("by release: %+v, %v", byRel, err)
	}
	_, err = Fetch(ctx, Options{Registry: repo, Remote: registry.Query{Release: a.Release, Arch: "x86"}, CacheDir: cache})
	if !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a release nobody pushed for x86: %v", err)
	}
	// Sources (kh doctor) reports the registry with one manifest request.
	for id, usable := range map[string]bool{a.BuildID: true, strings.Repeat("ee", 20): false} {
		cands, err := Sources(ctx, Options{Root: runningRoot(t, id), Release: a.Release, Registry: repo})
		if err != nil {
			t.Fatal(err)
		}
		var got *Candidate
		for i := range cands {
			if cands[i].Source.Kind == SourceRegistry {
				got = &cands[i]
			}
		}
		if got == nil || got.Usable != usable || got.Source.Location != repo.Ref+":buildid-"+id {
			t.Errorf("Sources for build ID %s: %+v", id, got)
		}
	}
}

// TestFetchRegistryFaults: each fault is a one-line error and leaves
// nothing in the cache.
func TestFetchRegistryFaults(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	repo := openRepo(t, reg.Repo("kh"))
	ctx := context.Background()
	a := testKernelArtifact(t, "x86_64")
	a.BTF, a.Config = nil, nil

	check := func(t *testing.T, err error, cache string, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		t.Logf("error: %v", err)
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("not one line: %q", err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
		if left := cacheTrees(t, cache); len(left) > 0 {
			t.Errorf("the cache holds %v", left)
		}
	}
	fetchAs := func(id, release string) (string, error) {
		cache := tmpfsDir(t)
		_, err := Fetch(ctx, Options{Root: runningRoot(t, id), Release: release, Registry: repo, CacheDir: cache})
		return cache, err
	}

	t.Run("hostile archives", func(t *testing.T) {
		with := func(extra ...tarEntry) []tarEntry { return append(minimalTree(), extra...) }
		for name, c := range map[string]struct {
			archive []byte
			want    string
		}{
			"traversal":             {makeArchive(t, with(file("../evil", "x"))), "leaves the tree"},
			"absolute":              {makeArchive(t, with(file("/tmp/kh-evil-registry", "x"))), "absolute name"},
			"symlink out":           {makeArchive(t, with(link("include/out", "../../etc/passwd"))), "leaves the tree"},
			"write through symlink": {makeArchive(t, with(link("sub", "include"), file("sub/x.h", "x"))), "through the symlink"},
			"hard link":             {makeArchive(t, with(tarEntry{name: "h", typ: tar.TypeLink, linkname: "include/linux/kconfig.h"})), "hard links"},
			"truncated":             {func() []byte { v := makeArchive(t, minimalTree()); return v[:len(v)*2/3] }(), ""},
			"trailing garbage":      {append(makeArchive(t, minimalTree()), "GARBAGE!"...), ""},
		} {
			t.Run(name, func(t *testing.T) {
				id := hex.EncodeToString([]byte(name + strings.Repeat("-", 20))[:20])
				push(t, repo, &registry.Artifact{Identity: registry.Identity{Release: "6.1.0-test", Arch: "x86", BuildID: id}, Headers: c.archive})
				cache, err := fetchAs(id, "6.1.0-test")
				var ae *ArchiveError
				if !errors.As(err, &ae) {
					t.Errorf("not an *ArchiveError: %v", err)
				}
				check(t, err, cache, c.want)
				if _, err := os.Lstat("/tmp/kh-evil-registry"); err == nil {
					t.Error("an absolute path was written")
				}
			})
		}
	})

	t.Run("archive of another release", func(t *testing.T) {
		b := *a
		b.Release, b.BuildID = "6.1.999", strings.Repeat("99", 20)
		push(t, repo, &b)
		cache, err := fetchAs(b.BuildID, "6.1.999")
		check(t, err, cache, "6.1.192", "6.1.999")
	})

	t.Run("build ID mismatch", func(t *testing.T) {
		push(t, repo, a)
		other := strings.Repeat("42", 20)
		// Point other's tag at a's manifest with the registry's own API.
		e, err := repo.Resolve(ctx, registry.Query{BuildID: a.BuildID})
		if err != nil {
			t.Fatal(err)
		}
		retag(t, reg, "kh", e.Digest, registry.BuildIDTag(other))
		cache, err := fetchAs(other, a.Release)
		var me *registry.MismatchError
		if !errors.As(err, &me) {
			t.Errorf("not a *MismatchError: %v", err)
		}
		check(t, err, cache, "buildid-"+other, a.BuildID)
	})

	t.Run("corrupt blob", func(t *testing.T) {
		b := *a
		b.BuildID = strings.Repeat("c0", 20)
		b.Headers = append([]byte(nil), a.Headers...)
		b.Headers[len(b.Headers)-1000] ^= 1 // a different blob than a's
		res := push(t, repo, &b)
		l, _ := res.Layer(registry.Headers)
		data := readFile(t, reg.BlobPath(l.Digest))
		data[1000] ^= 0x80
		os.WriteFile(reg.BlobPath(l.Digest), data, 0o644)
		cache, err := fetchAs(b.BuildID, b.Release)
		check(t, err, cache, l.Digest, "do not match their digest")
	})

	t.Run("stops mid-pull", func(t *testing.T) {
		mid := regtest.Start(t, regtest.Options{})
		res := push(t, openRepo(t, mid.Repo("kh")), a)
		l, _ := res.Layer(registry.Headers)
		proxy := regtest.StopMidBlob(t, mid, l.Digest, l.Size/2)
		cache := tmpfsDir(t)
		_, err := Fetch(ctx, Options{Root: runningRoot(t, a.BuildID), Release: a.Release, Registry: openRepo(t, proxy+"/kh"), CacheDir: cache})
		check(t, err, cache, l.Digest, "unexpected EOF")
	})

	t.Run("registry down", func(t *testing.T) {
		down := regtest.Start(t, regtest.Options{})
		down.Stop()
		cache := tmpfsDir(t)
		_, err := Fetch(ctx, Options{Root: runningRoot(t, a.BuildID), Release: a.Release, Registry: openRepo(t, down.Repo("kh")), CacheDir: cache})
		if !errors.Is(err, registry.ErrUnreachable) {
			t.Errorf("not ErrUnreachable: %v", err)
		}
		check(t, err, cache, down.Addr, "connection refused")
	})

	t.Run("not in the registry", func(t *testing.T) {
		cache := tmpfsDir(t)
		_, err := Fetch(ctx, Options{Root: runningRoot(t, strings.Repeat("ee", 20)), Release: a.Release, Registry: repo, CacheDir: cache})
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			t.Errorf("not a *NotFoundError: %v", err)
		}
		check(t, err, cache, repo.Ref+": no artifact for build ID eeee")
	})
}

// retag points tag at the manifest with digest d, through the registry's
// HTTP API (GET the manifest, PUT it under the tag).
func retag(t *testing.T, reg *regtest.Registry, repo, d, tag string) {
	t.Helper()
	if err := reg.Retag(repo, d, tag); err != nil {
		t.Fatal(err)
	}
}

// TestFetchRegistryBTFOnly pushes this host's BTF and configuration (or
// the host-6.18 files where the host has none) as a BTF-only artifact with
// the host's build ID, and fetches it as the running kernel: the tree
// must be the BTF tree a local fetch makes, with the same name.
func TestFetchRegistryBTFOnly(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	repo := openRepo(t, reg.Repo("kh"))
	btfData, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	id, idErr := kernel.BuildID("/sys/kernel/notes")
	cfgGz, cfgErr := os.ReadFile("/proc/config.gz")
	var cfg []byte
	if err == nil && idErr == nil && cfgErr == nil {
		zr, err := gzip.NewReader(bytes.NewReader(cfgGz))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
		cfg = b.Bytes()
	} else {
		root, rerr := tk.Root()
		if rerr != nil {
			tk.Skip(t, "%v", rerr)
		}
		h := filepath.Join(root, "host-6.18")
		btfData, cfg = readFile(t, filepath.Join(h, "vmlinux.btf")), readFile(t, filepath.Join(h, "config"))
		id = strings.TrimSpace(string(readFile(t, filepath.Join(h, "build-id"))))
	}
	u, err := kernel.Running()
	if err != nil {
		t.Fatal(err)
	}
	const release = "6.18.44-host"
	push(t, repo, &registry.Artifact{Identity: registry.Identity{Release: release, Arch: kernel.SrcArch(u.Machine), BuildID: id}, BTF: btfData, Config: cfg})

	gz := &bytes.Buffer{}
	zw := gzip.NewWriter(gz)
	zw.Write(cfg)
	zw.Close()
	root := fakeRoot(t, map[string][]byte{
		kernelNotes:               notesFile(t, id),
		"/sys/kernel/btf/vmlinux": btfData,
		procConfig:                gz.Bytes(),
	})
	ctx := context.Background()
	cache := tmpfsDir(t)
	tree, err := Fetch(ctx, Options{Root: root, Release: release, Registry: repo, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if tree.Kind != KindBTF || tree.Source.Kind != SourceRegistry || tree.Cached {
		t.Errorf("tree %+v", tree)
	}
	// The local BTF fallback makes the same tree, in another cache...
	local, err := Fetch(ctx, Options{Root: root, Release: release, CacheDir: tmpfsDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if local.Kind != KindBTF || local.Source.Kind != SourceBTF || filepath.Base(local.Path) != filepath.Base(tree.Path) {
		t.Errorf("local BTF tree %s, registry's %s", local.Path, tree.Path)
	}
	if x, y := treeListing(t, local.Path), treeListing(t, tree.Path); x != y {
		t.Errorf("the trees differ: %s", firstDiff(x, y))
	}
	// ... and finds the registry's in the same cache.
	again, err := Fetch(ctx, Options{Root: root, Release: release, CacheDir: cache})
	if err != nil || !again.Cached || again.Path != tree.Path {
		t.Errorf("local fetch after the registry's: %+v, %v", again, err)
	}
	// --require kheaders: the BTF-only artifact is not enough.
	_, err = Fetch(ctx, Options{Root: root, Release: release, Registry: repo, CacheDir: tmpfsDir(t), Require: KindHeaders})
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "no headers layer") {
		t.Errorf("--require kheaders with a BTF-only artifact: %v", err)
	}
}
