package adb_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/adb"
	"github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/internal/vmtest"
	"github.com/khtool/kh/internal/vmtest/adbtest"
	"github.com/khtool/kh/kheaders"
	"github.com/ulikunitz/xz"
)

var harness vmtest.Harness

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Close()
	os.Exit(code)
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cacheEntries lists a cache directory (empty if it does not exist).
func cacheEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// buildKh builds a static kh for goarch.
func buildKh(t *testing.T, goarch string) string {
	t.Helper()
	goBin := testkernel.NeedTool(t, "go")
	out := filepath.Join(t.TempDir(), "kh-linux-"+goarch)
	c := exec.Command(goBin, "build", "-o", out, "github.com/khtool/kh/cmd/kh")
	c.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, b)
	}
	return out
}

// TestDevice drives a 6.12 guest shaped like an Android device (kheaders.ko
// on /system_dlkm, not loaded) through the real adb client and the test
// daemon: probe, cold and warm fetch, configuration, BTF, running kh on
// the device, and the faults the daemon can stage.
func TestDevice(t *testing.T) {
	vmtest.ForEachArch(t, func(t *testing.T, arch vmtest.Arch) {
		k := vmtest.KernelVersionFor(t, arch, vmtest.V6_12)
		srv := adbtest.Start(t)
		g := adbtest.BootGuest(t, &harness, adbtest.GuestConfig{Kernel: k, Daemons: 2})
		g.StartDaemon(t, 0)
		srv.Connect(t, g.Addrs[0])
		ctx := t.Context()
		env := srv.Env()

		d, err := adb.Open(ctx, adb.Options{Env: env})
		if err != nil {
			t.Fatal(err)
		}
		if d.Serial != g.Addrs[0] {
			t.Errorf("Open chose %q, want %q", d.Serial, g.Addrs[0])
		}
		info, err := d.Probe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		buildID, _ := os.ReadFile(k.File("build-id"))
		if info.Release != k.Release || info.BuildID != strings.TrimSpace(string(buildID)) || info.Root != adb.RootADB ||
			len(info.Modules) != 1 || info.Modules[0].Path != adbtest.ModulePath || info.Sysfs != nil || info.BTF == nil || !info.Config {
			t.Errorf("probe: %+v", info)
		}

		cache := t.TempDir()
		opts := kheaders.Options{CacheDir: cache, AllowDisk: true}
		tree, _, err := adb.Fetch(ctx, d, opts)
		if err != nil {
			t.Fatal(err)
		}
		if tree.Kind != kheaders.KindHeaders || tree.Release != k.Release || tree.Arch != testkernel.SrcArch(string(arch)) ||
			tree.Source.Kind != kheaders.SourceModule || tree.Source.Location != d.Serial+":"+adbtest.ModulePath || tree.Cached ||
			tree.SHA256 != fileSHA256(t, k.File("kheaders.tar.xz")) {
			t.Errorf("cold fetch: %+v", tree)
		}
		if _, err := os.Stat(filepath.Join(tree.Path, "include/linux/sched.h")); err != nil {
			t.Error(err)
		}
		warm, _, err := adb.Fetch(ctx, d, opts)
		if err != nil || warm.Path != tree.Path || !warm.Cached {
			t.Errorf("warm fetch: %+v, %v", warm, err)
		}
		cfg, err := d.Config(ctx, info)
		if err != nil || !cfg.Enabled("CONFIG_BPF_SYSCALL") {
			t.Errorf("Config: %v", err)
		}
		raw, err := d.BTF(ctx, info)
		if err != nil || !bytes.Equal(raw, mustRead(t, k.File("vmlinux.btf"))) {
			t.Errorf("BTF: %d bytes, %v", len(raw), err)
		}

		t.Run("btf-fallback", func(t *testing.T) {
			// No kheaders source: a tree made from the device's BTF and
			// configuration, warm on the second fetch.
			g.VM.Rename(t, adbtest.ModulePath, adbtest.ModulePath+".away")
			defer g.VM.Rename(t, adbtest.ModulePath+".away", adbtest.ModulePath)
			opts := kheaders.Options{CacheDir: t.TempDir(), AllowDisk: true}
			bt, _, err := adb.Fetch(ctx, d, opts)
			if err != nil {
				t.Fatal(err)
			}
			if bt.Kind != kheaders.KindBTF || bt.Release != k.Release || bt.Arch != testkernel.SrcArch(string(arch)) || bt.Cached {
				t.Errorf("BTF tree: %+v", bt)
			}
			h, err := os.ReadFile(filepath.Join(bt.Path, kheaders.BTFConfigHeader))
			if err != nil || !bytes.Contains(h, []byte("#define CONFIG_BPF_SYSCALL 1")) {
				t.Errorf("kconfig.h: %v: %.200s", err, h)
			}
			again, _, err := adb.Fetch(ctx, d, opts)
			if err != nil || again.Path != bt.Path || !again.Cached {
				t.Errorf("warm BTF fetch: %+v, %v", again, err)
			}
			_, _, err = adb.Fetch(ctx, d, kheaders.Options{CacheDir: t.TempDir(), AllowDisk: true, Require: kheaders.KindHeaders})
			var nf *kheaders.NotFoundError
			if !errors.As(err, &nf) {
				t.Errorf("--require kheaders without a source: %v", err)
			}
		})
		t.Run("compressed-under-release", func(t *testing.T) {
			// kheaders.ko.xz under the release in /odm, the last place
			// looked: found once the flat /system_dlkm one is gone.
			var xzb bytes.Buffer
			w, err := xz.NewWriter(&xzb)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(mustRead(t, k.File("kheaders.ko")))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			p := "/odm/lib/modules/" + k.Release + "/kheaders.ko.xz"
			for _, dir := range []string{"/odm", "/odm/lib", "/odm/lib/modules", "/odm/lib/modules/" + k.Release} {
				g.VM.Mkdir(t, dir, 0o755)
			}
			g.VM.WriteFile(t, p, xzb.Bytes(), 0o644)
			g.VM.Rename(t, adbtest.ModulePath, adbtest.ModulePath+".away")
			defer func() {
				g.VM.Rename(t, adbtest.ModulePath+".away", adbtest.ModulePath)
				g.VM.Remove(t, "/odm")
			}()
			ct, _, err := adb.Fetch(ctx, d, kheaders.Options{CacheDir: t.TempDir(), AllowDisk: true})
			if err != nil {
				t.Fatal(err)
			}
			if ct.Source.Location != d.Serial+":"+p || ct.SHA256 != fileSHA256(t, k.File("kheaders.tar.xz")) || ct.Release != k.Release {
				t.Errorf("fetch of %s: %+v", p, ct)
			}
		})
		t.Run("run", func(t *testing.T) {
			kh := buildKh(t, info.GOARCH())
			var out, errb bytes.Buffer
			code, err := d.Run(ctx, info, adb.RunOptions{Kh: kh, Args: []string{"config", "CONFIG_BPF_SYSCALL", "CONFIG_KH_NOT_SET"}, Stdout: &out, Stderr: &errb})
			if err != nil || code != 1 || !strings.Contains(out.String(), "CONFIG_BPF_SYSCALL=y") {
				t.Errorf("Run kh config: exit %d, %v, stdout %q stderr %q", code, err, out.String(), errb.String())
			}
			left := g.VM.Run(t, adbtest.SystemBin+"/ls", "-A", adb.RemoteDir).OK(t)
			if len(bytes.TrimSpace(left.Stdout)) != 0 {
				t.Errorf("left in %s: %q", adb.RemoteDir, left.Stdout)
			}
		})

		// Faults, each on a second daemon, with an empty cache that must
		// stay empty.
		fault := func(t *testing.T, flags []string, check func(error) bool) {
			pid := g.StartDaemon(t, 1, flags...)
			srv.Connect(t, g.Addrs[1])
			defer func() {
				srv.Disconnect(t, g.Addrs[1])
				g.StopDaemon(t, pid)
			}()
			d2, err := adb.Open(ctx, adb.Options{Env: env, Serial: g.Addrs[1]})
			if err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			_, _, err = adb.Fetch(ctx, d2, kheaders.Options{CacheDir: cache, AllowDisk: true})
			if err == nil || !check(err) {
				t.Errorf("Fetch: err = %v", err)
			} else {
				t.Logf("Fetch: %v", err)
			}
			if e := cacheEntries(t, cache); len(e) != 0 {
				t.Errorf("the cache holds %v after a failed fetch", e)
			}
		}
		t.Run("corrupt", func(t *testing.T) {
			fault(t, []string{"-flip-at", "2000000"}, func(err error) bool {
				var te *adb.TransferError
				return errors.As(err, &te) && strings.Contains(te.Reason, "corrupt")
			})
		})
		t.Run("connection-lost", func(t *testing.T) {
			fault(t, []string{"-close-after", "1000000"}, func(err error) bool {
				var te *adb.TransferError
				var ce *adb.CommandError
				return errors.As(err, &te) || errors.As(err, &ce)
			})
		})
		t.Run("several", func(t *testing.T) {
			pid := g.StartDaemon(t, 1)
			srv.Connect(t, g.Addrs[1])
			defer func() {
				srv.Disconnect(t, g.Addrs[1])
				g.StopDaemon(t, pid)
			}()
			_, err := adb.Open(ctx, adb.Options{Env: env})
			var se *adb.SeveralDevicesError
			if !errors.As(err, &se) || len(se.Serials) != 2 {
				t.Errorf("Open with two devices: %v", err)
			}
			if d, err := adb.Open(ctx, adb.Options{Env: append(env, "ANDROID_SERIAL="+g.Addrs[1])}); err != nil || d.Serial != g.Addrs[1] {
				t.Errorf("Open with ANDROID_SERIAL: %v", err)
			}
		})
		t.Run("no-root", func(t *testing.T) {
			// adbd as the shell user of a production build, and no su.
			pid := g.StartDaemon(t, 1, "-uid", "2000", "-gid", "2000")
			srv.Connect(t, g.Addrs[1])
			defer func() {
				srv.Disconnect(t, g.Addrs[1])
				g.StopDaemon(t, pid)
			}()
			d2, err := adb.Open(ctx, adb.Options{Env: env, Serial: g.Addrs[1]})
			if err != nil {
				t.Fatal(err)
			}
			info2, err := d2.Probe(ctx)
			if err != nil || info2.UID != 2000 || info2.Root != adb.RootNone {
				t.Fatalf("probe as the shell user: %+v, %v", info2, err)
			}
			_, err = d2.Run(ctx, info2, adb.RunOptions{Kh: buildKh(t, info2.GOARCH()), Args: []string{"doctor"}, NeedRoot: true})
			if !errors.Is(err, adb.ErrNoRoot) {
				t.Errorf("Run without root: %v", err)
			}
			left := g.VM.Run(t, adbtest.SystemBin+"/ls", "-A", adb.RemoteDir).OK(t)
			if len(bytes.TrimSpace(left.Stdout)) != 0 {
				t.Errorf("left in %s: %q", adb.RemoteDir, left.Stdout)
			}
		})
		t.Run("full-data", func(t *testing.T) {
			g.VM.Mount(t, "tmpfs", adb.RemoteDir, "tmpfs", "size=1m,mode=1777")
			defer func() { g.VM.Run(t, adbtest.SystemBin+"/umount", adb.RemoteDir).OK(t) }()
			_, err := d.Run(ctx, info, adb.RunOptions{Kh: buildKh(t, info.GOARCH()), Args: []string{"doctor"}})
			if err == nil || !strings.Contains(err.Error(), "No space left on device") {
				t.Errorf("Run with a full /data: %v", err)
			} else {
				t.Logf("Run: %v", err)
			}
			left := g.VM.Run(t, adbtest.SystemBin+"/ls", "-A", adb.RemoteDir).OK(t)
			if len(bytes.TrimSpace(left.Stdout)) != 0 {
				t.Errorf("left in %s: %q", adb.RemoteDir, left.Stdout)
			}
		})
		// A serial is not looked up by Open: the first command says.
		missing, err := adb.Open(ctx, adb.Options{Env: env, Serial: "127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		var nd *adb.NoDeviceError
		if _, err := missing.Probe(ctx); !errors.As(err, &nd) || nd.Serial != "127.0.0.1:1" {
			t.Errorf("Probe of a serial adb does not list: %v", err)
		}
	})
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
