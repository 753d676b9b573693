package vmtest_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/internal/vmtest"
	"github.com/khtool/kh/kheaders"
)

// fetchJSON runs `kh fetch -o json -v ARGS` in the guest and decodes the
// manifest.
func fetchJSON(t testing.TB, vm *vmtest.VM, args ...string) (*kheaders.Tree, *vmtest.Result) {
	t.Helper()
	r := vm.Run(t, append([]string{"kh", "fetch", "-o", "json", "-v"}, args...)...).OK(t)
	var tree kheaders.Tree
	if err := json.Unmarshal(r.Stdout, &tree); err != nil {
		t.Fatalf("kh fetch -o json: %v: %q", err, r.Stdout)
	}
	return &tree, r
}

// hostDigest is the digest of the tree that tar -xJf makes of arch's
// kheaders.tar.xz on the host.
func hostDigest(t testing.TB, k *vmtest.Kernel) vmtest.Digest {
	t.Helper()
	d, err := vmtest.DigestPath(vmtest.UnpackTarXZ(t, k.File("kheaders.tar.xz")))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkModuleFetch is scenario 1: kh fetch reads the archive from the
// module file on disk without loading it, and the tree equals tar's.
func checkModuleFetch(t testing.TB, vm *vmtest.VM, k *vmtest.Kernel, want vmtest.Digest) *kheaders.Tree {
	t.Helper()
	tree, r := fetchJSON(t, vm)
	if tree.Source != (kheaders.Source{Kind: kheaders.SourceModule, Location: k.KheadersModulePath()}) {
		t.Errorf("source %+v, want the module file %s", tree.Source, k.KheadersModulePath())
	}
	if tree.Cached || !strings.Contains(string(r.Stderr), "extracting") {
		t.Errorf("first fetch did not extract: cached=%v, stderr %s", tree.Cached, r.Stderr)
	}
	if tree.Release != k.Release || tree.Arch != testkernel.SrcArch(string(k.Arch)) || tree.Kind != kheaders.KindHeaders {
		t.Errorf("manifest %+v", tree.Manifest)
	}
	if vm.Stat(t, kheaders.SysfsArchive).Exists {
		t.Errorf("%s exists: kh loaded the module", kheaders.SysfsArchive)
	}
	// The tree is tar's plus the kh_defines.h that kh adds.
	vmtest.WantDigest(t, vm.Digest(t, tree.Path, kheaders.ManifestName, kheaders.DefinesHeader), want)
	if h := vm.ReadFile(t, tree.Path+"/"+kheaders.DefinesHeader); !strings.Contains(string(h), `#define KBUILD_MODNAME "kh"`) {
		t.Errorf("%s: %q", kheaders.DefinesHeader, h)
	}
	return tree
}

// TestFetchInGuest proves kh fetch on freshly booted kernels, one boot per
// kernel (Linux 6.1 and 6.12, x86_64 and arm64), in this order: (1) module on disk, not loaded; (3) a
// second fetch is a cache hit; (4) the default root cache is a tmpfs that
// kh mounted on /run/kh; (6) two fetches started at once extract once;
// (2) --load-module loads kheaders.ko with finit_module and reads sysfs,
// giving the same tree; (5) with no source at all, the error says what
// was looked for; (7) on Android's layout (no /run, a /data/local/tmp
// holding the kh binary as the README says), root's cache is a tmpfs kh
// mounts on /mnt/kh, a place no other user can write.
func TestFetchInGuest(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	vmtest.ForEachKernel(t, func(t *testing.T, k *vmtest.Kernel) {
		want := hostDigest(t, k)
		vm := harness.Boot(t, vmtest.Config{Kernel: k, Files: []vmtest.File{k.KheadersModule()}})

		// 1. The module file, not loaded.
		first := checkModuleFetch(t, vm, k, want)

		// 3. Cache hit: same path, nothing extracted.
		again, r := fetchJSON(t, vm)
		if again.Path != first.Path || !again.Cached || strings.Contains(string(r.Stderr), "extracting") {
			t.Errorf("second fetch: path %s cached %v, stderr %s", again.Path, again.Cached, r.Stderr)
		}
		plain := vm.Run(t, "kh", "fetch").OK(t)
		if string(plain.Stdout) != first.Path+"\n" {
			t.Errorf("kh fetch printed %q, want the path and a newline", plain.Stdout)
		}

		// 4. The default cache for root is a tmpfs kh mounted on /run/kh
		// (the guest's root file system is ramfs, and /run did not exist).
		if st := vm.Stat(t, "/run/kh"); st.FSMagic != unix.TMPFS_MAGIC || !st.MountPoint || st.UID != 0 || st.Mode&0o022 != 0 {
			t.Errorf("/run/kh: %+v, want a root-owned tmpfs mount point", st)
		}
		if !strings.HasPrefix(first.Path, "/run/kh/") {
			t.Errorf("tree %s is not in /run/kh", first.Path)
		}

		// 6. Two fetches at the same moment on an empty cache: one
		// extraction, one path.
		clean := vm.Run(t, "kh", "clean", "--all").OK(t)
		if !strings.Contains(string(clean.Stdout), "unmounted") {
			t.Errorf("kh clean --all: %s", clean.Stdout)
		}
		if st := vm.Stat(t, "/run/kh"); st.MountPoint {
			t.Error("/run/kh still mounted after kh clean --all")
		}
		fetch := vmtest.Command{Args: []string{"kh", "fetch", "-o", "json"}}
		extracted := 0
		for _, res := range vm.RunGroup(t, fetch, fetch) {
			res.OK(t)
			var tr kheaders.Tree
			if err := json.Unmarshal(res.Stdout, &tr); err != nil {
				t.Fatal(err)
			}
			if tr.Path != first.Path {
				t.Errorf("concurrent fetch printed %s, want %s", tr.Path, first.Path)
			}
			if !tr.Cached {
				extracted++
			}
		}
		if extracted != 1 {
			t.Errorf("%d of two concurrent fetches extracted, want 1", extracted)
		}

		// 2. --load-module: finit_module, then the sysfs file.
		loaded, _ := fetchJSON(t, vm, "--load-module")
		if loaded.Source.Kind != kheaders.SourceSysfs || loaded.Path != first.Path {
			t.Errorf("--load-module: source %+v path %s, want sysfs and %s", loaded.Source, loaded.Path, first.Path)
		}
		if !vm.Stat(t, kheaders.SysfsArchive).Exists {
			t.Errorf("%s absent after --load-module", kheaders.SysfsArchive)
		}
		vmtest.WantDigest(t, vm.Digest(t, loaded.Path, kheaders.ManifestName, kheaders.DefinesHeader), want)

		// 5. No source: unload the module and remove its file.
		vm.UnloadModule(t, "kheaders")
		vm.Remove(t, k.KheadersModulePath())
		none := vm.Run(t, "kh", "fetch", "--require", "kheaders")
		if none.ExitCode != 1 {
			t.Errorf("fetch without a source: exit %d, want 1", none.ExitCode)
		}
		msg := string(none.Stderr)
		for _, w := range []string{kheaders.SysfsArchive, "/lib/modules/" + k.Release, "/vendor_dlkm/lib/modules", "CONFIG_IKHEADERS", "--from"} {
			if !strings.Contains(msg, w) {
				t.Errorf("error does not mention %q: %s", w, msg)
			}
		}
		if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("error is not one line: %q", msg)
		}

		// 7. Android's layout: no /run, but /mnt and /data/local/tmp,
		// with a file at /data/local/tmp/kh (where the README pushes the
		// binary). Root's cache is /mnt/kh, where kh mounts a tmpfs (the
		// guest's root file system is not one).
		vm.Run(t, "kh", "clean", "--all").OK(t)
		vm.Remove(t, "/run")
		vm.Mkdir(t, "/data/local/tmp", 0o771)
		vm.Mkdir(t, "/mnt", 0o755)
		vm.WriteFile(t, "/data/local/tmp/kh", []byte("the kh binary"), 0o755)
		android, _ := fetchJSON(t, vm) // the BTF tree: no kheaders source is left
		if !strings.HasPrefix(android.Path, "/mnt/kh/") || android.Kind != kheaders.KindBTF {
			t.Errorf("fetch on Android's layout: %s (%s), want a BTF tree in /mnt/kh", android.Path, android.Kind)
		}
		if st := vm.Stat(t, "/mnt/kh"); st.FSMagic != unix.TMPFS_MAGIC || !st.MountPoint {
			t.Errorf("/mnt/kh: %+v, want a tmpfs mount point", st)
		}
		if st := vm.Stat(t, "/data/local/tmp/kh"); st.Type != "file" {
			t.Errorf("/data/local/tmp/kh: %+v, want the kh binary left alone", st)
		}
	})
}

// TestBrokenKhFailsScenario1 shows that the harness catches a broken kh:
// a kh built without the module-file source must fail scenario 1 (it
// falls back to a BTF tree, which is not the module's).
func TestBrokenKhFailsScenario1(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	arch := vmtest.ARM64
	k := vmtest.KernelFor(t, arch)
	broken := buildBrokenKh(t, arch)
	vm := harness.Boot(t, vmtest.Config{Arch: arch, Files: []vmtest.File{
		k.KheadersModule(),
		{Path: "/bin/kh", HostPath: broken, Mode: 0o755}, // replaces the real kh
	}})
	want := hostDigest(t, k)
	expectFailure(t, "want the module file", func(tb testing.TB) { checkModuleFetch(tb, vm, k, want) })
}

// buildBrokenKh builds kh from a copy of the module in which Fetch never
// finds the kheaders module on disk.
func buildBrokenKh(t *testing.T, arch vmtest.Arch) string {
	t.Helper()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Dir(strings.TrimSpace(string(root)))
	cp := filepath.Join(t.TempDir(), "kh")
	if out, err := exec.Command("cp", "-r", src, cp).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v: %s", err, out)
	}
	fetchGo := filepath.Join(cp, "kheaders", "fetch.go")
	code, err := os.ReadFile(fetchGo)
	if err != nil {
		t.Fatal(err)
	}
	const find = `mods := kmod.Find(root, release, "kheaders")`
	if !strings.Contains(string(code), find) {
		t.Fatalf("kheaders/fetch.go no longer contains %q: update this test", find)
	}
	code = []byte(strings.Replace(string(code), find, `mods := kmod.Find(root, release, "kheaders")[:0]`, 1))
	if err := os.WriteFile(fetchGo, code, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "kh-broken")
	cmd := exec.CommandContext(context.Background(), "go", "build", "-trimpath", "-buildvcs=false", "-o", out, "./cmd/kh")
	cmd.Dir = cp
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch.GOARCH())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build broken kh: %v: %s", err, b)
	}
	return out
}
