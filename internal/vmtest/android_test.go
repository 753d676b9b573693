package vmtest_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/khtool/kh/doctor"
	"github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/internal/vmtest"
	"github.com/khtool/kh/kheaders"
)

// Where an Android device keeps things (AOSP's init.rc and fs_config).
const (
	androidKh      = "/data/local/tmp/kh" // where README.md tells users to push kh
	androidModules = "/system_dlkm/lib/modules"
	androidShell   = "/system/bin/sh"
	// definesHeader is a file kh may add to the trees it extracts
	// (kh_defines.h, KBUILD_MODNAME); tar's tree does not have it.
	definesHeader = kheaders.DefinesHeader
)

// androidEnv is the environment of `adb shell` (and of `su`, which keeps
// it): Android's PATH, HOME=/, the ANDROID_* variables, TMPDIR.
var androidEnv = []string{
	"PATH=/product/bin:/system_ext/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin",
	"HOME=/", "ANDROID_ROOT=/system", "ANDROID_DATA=/data", "ANDROID_STORAGE=/storage",
	"TMPDIR=/data/local/tmp", "SHELL=/system/bin/sh",
}

// staticMksh returns a statically linked mksh for arch, the shell of
// Android (/system/bin/sh): Debian's mksh package ships one (klibc); for
// arm64 .ci/run unpacks the arm64 package's into
// /usr/local/lib/kh-test/arm64 ($KH_MKSH_ARM64 overrides that).
func staticMksh(t *testing.T, arch vmtest.Arch) string {
	t.Helper()
	p := "/bin/mksh-static"
	if arch == vmtest.ARM64 {
		p = "/usr/local/lib/kh-test/arm64/mksh-static"
		if e := os.Getenv("KH_MKSH_ARM64"); e != "" {
			p = e
		}
	}
	if _, err := os.Stat(p); err != nil {
		testkernel.Skip(t, "no static mksh for %s (Debian package mksh; .ci/run installs the arm64 one): %v", arch, err)
	}
	return p
}

// buildAndroidProgram compiles testdata/bpf/android.bpf.c on the host
// against kernel k's BTF (CO-RE), as an engineer builds for a device.
func buildAndroidProgram(t *testing.T, k *vmtest.Kernel) string {
	t.Helper()
	testkernel.NeedTool(t, "clang")
	testkernel.NeedTool(t, "bpftool")
	out := t.TempDir()
	if b, err := exec.Command("bash", "../../testdata/bpf/build.sh", out, k.File("vmlinux.btf"), "android").CombinedOutput(); err != nil {
		t.Fatalf("build.sh android: %v\n%s", err, b)
	}
	return filepath.Join(out, "android.bpf.o")
}

// xzFile compresses a host file as the kernel's build compresses modules
// (xz --check=crc32) and returns the new file.
func xzFile(t *testing.T, src string) string {
	t.Helper()
	testkernel.NeedTool(t, "xz")
	dst := filepath.Join(t.TempDir(), filepath.Base(src)+".xz")
	out, err := exec.Command("xz", "--check=crc32", "--lzma2=dict=1MiB", "-c", src).Output()
	if err != nil {
		t.Fatalf("xz %s: %v", src, err)
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// oneLine checks that s is exactly one line and returns it without its
// newline.
func oneLine(t *testing.T, what string, s []byte) string {
	t.Helper()
	str := string(s)
	if !strings.HasSuffix(str, "\n") || strings.Count(str, "\n") != 1 {
		t.Errorf("%s is not one line: %q", what, str)
	}
	return strings.TrimSuffix(str, "\n")
}

// wantAll fails the test for each of wants that s lacks.
func wantAll(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

var androidPrintk = regexp.MustCompile(`kh-android-(tp|fentry) tgid=(\d+)`)

// TestAndroid proves kh the way an Android engineer uses it, on the Linux
// 6.12 kernels (android16-6.12's base) for arm64 and x86_64, in a guest
// laid out like a device: kheaders.ko in /system_dlkm/lib/modules (flat,
// then under the release directory, then xz-compressed), /system/lib/modules
// a link to it, /data (system, 0771), /data/local (root, 0751),
// /data/local/tmp (shell, 0771) holding kh as `adb push` leaves it, mksh
// as /system/bin/sh, and no /run, /dev/shm or /tmp. Commands run with adb
// shell's environment, as the shell user (uid 2000 and its groups) or as
// root (su). One boot per architecture; the scenarios, in order:
//
//	a. shell, sysfs/BTF/module reads denied (by mode, standing in for
//	   SELinux): kh fetch fails with one line naming what it could not
//	   read and what to do, exit 1, nothing published; kh doctor says
//	   "denied (permission)".
//	b. shell, reads allowed (the vendor case): kh fetch publishes from the
//	   module file into a cache under /data/local/tmp (not the binary),
//	   warm the second time, the tree equal to tar's; the release-directory
//	   and compressed module layouts give the same tree; kh env evals in
//	   mksh (and in its POSIX mode); kh exec runs a command without any
//	   /bin/sh.
//	c. root (su): kh fetch (the binary at /data/local/tmp/kh untouched),
//	   kh fetch --load-module, kh doctor --fix, and kh run of a CO-RE
//	   program built on the host, seeing its tracepoint and fentry events.
//	d. root's tree (in root's cache, from c) is reused by the shell user;
//	   the shell user's cache is refused by root, with its message.
func TestAndroid(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	for _, arch := range vmtest.Arches() {
		t.Run(string(arch), func(t *testing.T) {
			t.Parallel()
			testAndroid(t, vmtest.KernelVersionFor(t, arch, vmtest.V6_12))
		})
	}
}

func testAndroid(t *testing.T, k *vmtest.Kernel) {
	want := hostDigest(t, k)
	prog := buildAndroidProgram(t, k)
	xzModule := xzFile(t, k.File("kheaders.ko"))
	flat := path.Join(androidModules, "kheaders.ko")
	vm := harness.Boot(t, vmtest.Config{Kernel: k, MemoryMB: 1024,
		Programs: []vmtest.Program{{Package: "./cmd/kh", Path: androidKh}},
		Files: []vmtest.File{
			{Path: "/mnt", Dir: true},
			{Path: "/system", Dir: true},
			{Path: "/system/bin", Dir: true},
			{Path: "/system/lib", Dir: true},
			{Path: "/system_dlkm", Dir: true},
			{Path: "/system_dlkm/lib", Dir: true},
			{Path: androidModules, Dir: true},
			{Path: "/data", Dir: true, Mode: 0o771, UID: 1000, GID: 1000},
			{Path: "/data/local", Dir: true, Mode: 0o751},
			{Path: "/data/local/tmp", Dir: true, Mode: 0o771, UID: 2000, GID: 2000},
			// Android's policy: the shell may not read the module.
			{Path: flat, HostPath: k.File("kheaders.ko"), Mode: 0o600},
			{Path: "/system/lib/modules", Symlink: androidModules},
			{Path: androidShell, HostPath: staticMksh(t, k.Arch), Mode: 0o755},
			{Path: "/system/bin/vmtest", Symlink: "/init"},
			{Path: "/system/build.prop", Data: []byte("ro.build.version.sdk=36\nro.product.cpu.abi=" + map[vmtest.Arch]string{vmtest.ARM64: "arm64-v8a", vmtest.X86_64: "x86_64"}[k.Arch] + "\n")},
			{Path: "/bpf/android.bpf.o", HostPath: prog},
		}})
	// No /tmp on a device (the harness makes one), no /run, no /dev/shm.
	vm.Remove(t, "/tmp")
	for _, p := range []string{"/tmp", "/run", "/dev/shm", "/bin/sh"} {
		if st := vm.Stat(t, p); st.Exists {
			t.Fatalf("%s exists in the Android-shaped guest: %+v", p, st)
		}
	}
	// adb push leaves the binary owned by shell.
	vm.Run(t, "vmtest", "chown", "2000:2000", androidKh).OK(t)
	if st := vm.Stat(t, androidKh); st.UID != 2000 || st.Type != "file" {
		t.Fatalf("%s: %+v, want a file owned by shell", androidKh, st)
	}
	khDigest := vm.Digest(t, androidKh)
	run := func(cred *vmtest.Cred, args ...string) *vmtest.Result {
		t.Helper()
		return vm.RunCommand(t, vmtest.Command{Args: args, Env: androidEnv, Cred: cred, Timeout: 3 * time.Minute})
	}
	shell := func(args ...string) *vmtest.Result { t.Helper(); return run(vmtest.AndroidShell(), args...) }
	su := func(args ...string) *vmtest.Result { t.Helper(); return run(nil, args...) }
	manifest := func(r *vmtest.Result) *kheaders.Tree {
		t.Helper()
		var tree kheaders.Tree
		if err := json.Unmarshal(r.Stdout, &tree); err != nil {
			t.Fatalf("%v: not a manifest: %v: %q", r.Args, err, r.Stdout)
		}
		return &tree
	}
	if r := shell("vmtest", "id").OK(t); !strings.HasPrefix(string(r.Stdout), "uid=2000 gid=2000 groups=1004,") {
		t.Fatalf("the shell user is %q", r.Stdout)
	}

	// a. The shell user may not read the sysfs BTF or the module.
	vm.Run(t, "vmtest", "chmod", "0400", "/sys/kernel/btf/vmlinux").OK(t)
	t.Run("a denied", func(t *testing.T) {
		r := shell(androidKh, "fetch").Exit(t, 1)
		if len(r.Stdout) != 0 {
			t.Errorf("stdout %q, want nothing", r.Stdout)
		}
		line := oneLine(t, "kh fetch's error", r.Stderr)
		wantAll(t, "kh fetch's error", line,
			"kh: no kernel headers for "+k.Release+": permission denied reading "+flat+", /sys/kernel/btf/vmlinux",
			"Android's SELinux policy may forbid the shell user to read them",
			"su -c '"+androidKh+" fetch'", "adb root", "kh fetch --from FILE` on the host")
		r = shell(androidKh, "list", "-o", "json").OK(t)
		if s := strings.TrimSpace(string(r.Stdout)); s != "[]" && s != "null" {
			t.Errorf("a failed fetch left trees: %s", s)
		}
		d := shell(androidKh, "doctor")
		if d.ExitCode != 1 {
			t.Errorf("kh doctor as shell with the reads denied: %s, want exit status 1", d)
		}
		wantAll(t, "kh doctor", string(d.Stdout), "denied (permission)")
	})

	// b. The vendor case: the shell user may read them.
	vm.Run(t, "vmtest", "chmod", "0444", "/sys/kernel/btf/vmlinux").OK(t)
	vm.Run(t, "vmtest", "chmod", "0644", flat).OK(t)
	var shellTree *kheaders.Tree
	t.Run("b vendor", func(t *testing.T) {
		first := manifest(shell(androidKh, "fetch", "-o", "json", "-v").OK(t))
		if first.Source != (kheaders.Source{Kind: kheaders.SourceModule, Location: flat}) || first.Cached || first.Kind != kheaders.KindHeaders || first.Release != k.Release {
			t.Errorf("first fetch as shell: %+v, want an extraction from %s", first.Manifest, flat)
		}
		if !strings.HasPrefix(first.Path, "/data/local/tmp/") || strings.HasPrefix(first.Path, androidKh+"/") {
			t.Errorf("the shell user's tree %s is not under /data/local/tmp (or collides with %s)", first.Path, androidKh)
		}
		if st := vm.Stat(t, first.Path); st.UID != 2000 || st.Mode&0o022 != 0 {
			t.Errorf("the shell user's tree: %+v, want owned by 2000, writable by no one else", st)
		}
		vmtest.WantDigest(t, vm.Digest(t, first.Path, kheaders.ManifestName, definesHeader), want)
		shellTree = first

		plain := shell(androidKh, "fetch").OK(t)
		if string(plain.Stdout) != first.Path+"\n" {
			t.Errorf("kh fetch printed %q, want %s", plain.Stdout, first.Path)
		}
		if n := strings.Count(string(plain.Stderr), "\n"); n > 1 {
			t.Errorf("kh fetch's note about the on-disk cache is %d lines: %q", n, plain.Stderr)
		}
		warm := shell(androidKh, "fetch", "-o", "json", "-v").OK(t)
		if w := manifest(warm); !w.Cached || w.Path != first.Path || strings.Contains(string(warm.Stderr), "extracting") {
			t.Errorf("second fetch as shell is not warm: %+v\n%s", w.Manifest, warm.Stderr)
		}

		// Under the release directory, then compressed: the same tree.
		relDir := path.Join(androidModules, k.Release)
		vm.Mkdir(t, relDir, 0o755)
		vm.Rename(t, flat, path.Join(relDir, "kheaders.ko"))
		xz := path.Join(androidModules, "kheaders.ko.xz")
		for _, loc := range []string{path.Join(relDir, "kheaders.ko"), xz} {
			if loc == xz {
				vm.Remove(t, relDir)
				vm.WriteFile(t, xz, hostFile(t, xzModule), 0o644)
			}
			tr := manifest(shell(androidKh, "fetch", "-o", "json").OK(t))
			if tr.Source.Location != loc || tr.Path != first.Path || tr.Kind != kheaders.KindHeaders {
				t.Errorf("fetch with the module at %s: source %+v path %s, want %s", loc, tr.Source, tr.Path, first.Path)
			}
		}
		vm.Remove(t, xz)
		vm.WriteFile(t, flat, hostFile(t, k.File("kheaders.ko")), 0o644)

		// kh env, eval'ed by mksh, plain and in its POSIX mode.
		for _, mode := range [][]string{nil, {"-o", "posix"}} {
			script := `eval "$(` + androidKh + ` env)" || exit 9; echo "src=$BCC_KERNEL_SOURCE"; echo "headers=$KH_HEADERS"; echo "release=$KH_RELEASE"`
			r := shell(append(append([]string{androidShell}, mode...), "-c", script)...).OK(t)
			wantOut := "src=" + first.Path + "\nheaders=" + first.Path + "\nrelease=" + k.Release + "\n"
			if string(r.Stdout) != wantOut {
				t.Errorf("mksh %v eval of kh env printed %q, want %q (stderr %q)", mode, r.Stdout, wantOut, r.Stderr)
			}
		}
		// kh exec needs no shell: there is no /bin/sh in the guest.
		r := shell(androidKh, "exec", "--", "vmtest", "env").OK(t)
		wantAll(t, "kh exec -- vmtest env", string(r.Stdout), "BCC_KERNEL_SOURCE="+first.Path+"\n", "ANDROID_ROOT=/system\n")
	})
	if shellTree == nil {
		t.Fatal("scenario b failed; c and d need its tree")
	}
	shellCache := path.Dir(shellTree.Path)

	// c. Root, as `su -c` gives it.
	var rootTree *kheaders.Tree
	t.Run("c su", func(t *testing.T) {
		r := su(androidKh, "fetch", "-o", "json").OK(t)
		tree := manifest(r)
		if tree.Kind != kheaders.KindHeaders || tree.Source.Location != flat {
			t.Errorf("root's fetch: %+v, want headers from %s", tree.Manifest, flat)
		}
		if strings.HasPrefix(tree.Path, androidKh+"/") || path.Dir(tree.Path) == shellCache {
			t.Errorf("root's tree %s is in the binary's place or the shell user's cache", tree.Path)
		}
		if st := vm.Stat(t, path.Dir(tree.Path)); st.UID != 0 || st.Mode&0o022 != 0 {
			t.Errorf("root's cache %s: %+v, want root's, writable by no one else", path.Dir(tree.Path), st)
		}
		if d := vm.Digest(t, androidKh); d.Sum != khDigest.Sum {
			t.Errorf("%s changed under kh fetch", androidKh)
		}
		vmtest.WantDigest(t, vm.Digest(t, tree.Path, kheaders.ManifestName, definesHeader), want)
		rootTree = tree

		loaded := manifest(su(androidKh, "fetch", "--load-module", "-o", "json").OK(t))
		if loaded.Source.Kind != kheaders.SourceSysfs || loaded.Path != tree.Path {
			t.Errorf("--load-module: source %+v path %s, want sysfs and %s", loaded.Source, loaded.Path, tree.Path)
		}
		if !vm.Stat(t, kheaders.SysfsArchive).Exists {
			t.Errorf("%s absent after --load-module", kheaders.SysfsArchive)
		}

		doc := su(androidKh, "doctor", "--fix", "-o", "json").OK(t)
		var rep doctor.Report
		if err := json.Unmarshal(doc.Stdout, &rep); err != nil {
			t.Fatalf("kh doctor --fix -o json: %v: %s", err, doc.Stdout)
		}
		for _, c := range rep.Checks {
			if c.FixError != "" {
				t.Errorf("doctor --fix: %s: %s", c.Name, c.FixError)
			}
			if (c.Name == "bpf" || c.Name == "fentry" || c.Name == "tracepoints" || c.Name == "kheaders") && c.Status != doctor.StatusOK {
				t.Errorf("doctor as root: %s is %s (%s)", c.Name, c.Status, c.Value)
			}
		}

		res := vm.RunGroup(t,
			vmtest.Command{Args: []string{androidKh, "run", "--duration", "30s", "/bpf/android.bpf.o"}, Env: androidEnv, Timeout: 3 * time.Minute},
			vmtest.Command{Args: []string{"vmtest", "access", "/kh-android-probe", "50", "0.5"}, Env: androidEnv, Timeout: 3 * time.Minute},
		)
		out := res[0].OK(t)
		res[1].OK(t)
		seen := map[string]string{}
		for _, m := range androidPrintk.FindAllStringSubmatch(string(out.Stdout), -1) {
			seen[m[1]] = m[2]
		}
		if seen["tp"] == "" || seen["fentry"] == "" || seen["tp"] != seen["fentry"] {
			t.Errorf("kh run: tracepoint and fentry events %v, want both from one process:\n%s\n%s", seen, out.Stdout, out.Stderr)
		}
	})

	// d. Trust across the two users.
	t.Run("d trust", func(t *testing.T) {
		// Root's cache, filled by su -c 'kh fetch' in c: the shell
		// user reuses its root-owned tree (it may read, not write, there).
		if rootTree == nil {
			t.Fatal("scenario c made no tree")
		}
		rootCache := path.Dir(rootTree.Path)
		r := shell(androidKh, "fetch", "--cache-dir", rootCache, "-o", "json").OK(t)
		if tr := manifest(r); tr.Path != rootTree.Path || !tr.Cached {
			t.Errorf("the shell user did not reuse root's tree %s: %+v", rootTree.Path, tr.Manifest)
		}
		if st := vm.Stat(t, rootTree.Path); st.UID != 0 {
			t.Errorf("the tree the shell user got is owned by %d, want root's", st.UID)
		}
		if s := strings.TrimSpace(string(r.Stderr)); s != "" {
			t.Errorf("the shell user's fetch from root's cache said %q", s)
		}

		// A tree the shell user made: root refuses it (root must not
		// compile against headers another user could have written).
		if st := vm.Stat(t, shellTree.Path); st.UID != 2000 {
			t.Fatalf("the shell user's tree %s: %+v", shellTree.Path, st)
		}
		r = su(androidKh, "fetch", "--cache-dir", shellCache, "--allow-disk").Exit(t, 1)
		if len(r.Stdout) != 0 {
			t.Errorf("root's refused fetch printed %q", r.Stdout)
		}
		line := oneLine(t, "root's refusal", r.Stderr)
		// The refusal names the cache, or the shell-owned directory that
		// holds it (/data/local/tmp: that user could swap what it holds).
		wantAll(t, "root's refusal", line, "kh: refusing to use /data/local/tmp", "uid 2000")
	})
}
