package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	tk "github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/internal/vmtest"
	"github.com/khtool/kh/internal/vmtest/adbtest"
)

// adbHarness boots the Android-shaped guests of TestADBLoop.
var adbHarness vmtest.Harness

// adbKhDir holds a host kh and, beside it, kh-linux-amd64 and
// kh-linux-arm64 (static), where kh run --adb finds the device's kh.
func adbKhDir(t *testing.T) string {
	t.Helper()
	goTool := tk.NeedTool(t, "go")
	dir := t.TempDir()
	for _, b := range []struct{ name, goarch string }{{"kh", ""}, {"kh-linux-amd64", "amd64"}, {"kh-linux-arm64", "arm64"}} {
		c := exec.Command(goTool, "build", "-o", filepath.Join(dir, b.name), ".")
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b.goarch != "" {
			c.Env = append(c.Env, "GOOS=linux", "GOARCH="+b.goarch)
		}
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.name, err, out)
		}
	}
	return dir
}

// khProc is a run of the host kh binary.
type khProc struct {
	stdout, stderr string
	code           int
}

func runHostKh(t *testing.T, bin string, env []string, args ...string) khProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, bin, args...)
	c.Env = env
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	if err != nil && c.ProcessState == nil {
		t.Fatalf("kh %q: %v", args, err)
	}
	return khProc{o.String(), e.String(), c.ProcessState.ExitCode()}
}

// oneLineFailure checks a failed kh: exit status 1 and one line on
// stderr containing want.
func oneLineFailure(t *testing.T, what string, p khProc, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(p.stderr, "\n"), "\n")
	if p.code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "kh: ") || !strings.Contains(p.stderr, want) || p.stdout != "" {
		t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and one line mentioning %q", what, p.code, p.stdout, p.stderr, want)
	} else {
		t.Logf("%s: %s", what, lines[0])
	}
}

// lockedBuffer collects a subprocess's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func treesIn(t *testing.T, cache string) []string {
	t.Helper()
	ents, _ := os.ReadDir(cache)
	var names []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestADBLoop is the workstation loop of issue 15 with the real adb
// client against Android-shaped 6.12 guests (kheaders.ko on /system_dlkm,
// not loaded; busybox as the device's shell and toybox; the test adbd,
// reachable only through 127.0.0.1): fetch cold and warm, config, btf,
// cflags, build of a program with real kernel headers, run on a syscall
// tracepoint (text and JSON, exit status), Ctrl-C in the middle of a
// run, doctor; then each fault, a one-line error and exit 1, with nothing
// published on the host and nothing left on the device.
func TestADBLoop(t *testing.T) {
	t.Cleanup(func() { adbHarness.Close() })
	tk.NeedTool(t, "clang")
	tk.NeedTool(t, "llc")
	khDir := adbKhDir(t)
	bin := filepath.Join(khDir, "kh")
	vmtest.ForEachArch(t, func(t *testing.T, arch vmtest.Arch) {
		k := vmtest.KernelVersionFor(t, arch, vmtest.V6_12)
		other := vmtest.KernelVersionFor(t, arch, vmtest.V6_1)
		srv := adbtest.Start(t)
		g := adbtest.BootGuest(t, &adbHarness, adbtest.GuestConfig{Kernel: k, Daemons: 2, MemoryMB: 1024, Su: true,
			// The 6.1 kernel's module, where kh looks after /system_dlkm:
			// a vermagic mismatch when the right one is moved away.
			Files: []vmtest.File{{Path: "/odm/lib/modules/kheaders.ko", HostPath: other.File("kheaders.ko")}}})
		g.StartDaemon(t, 0)
		srv.Connect(t, g.Addrs[0])
		serial := g.Addrs[0]
		cacheParent, err := os.MkdirTemp("/dev/shm", "kh-adb-test-")
		if err != nil {
			t.Skipf("no /dev/shm: %v", err)
		}
		os.Chmod(cacheParent, 0o755)
		t.Cleanup(func() { os.RemoveAll(cacheParent) })
		cache := filepath.Join(cacheParent, "c")
		env := append(srv.Env(), "KH_CACHE_DIR="+cache)
		kh := func(args ...string) khProc { t.Helper(); return runHostKh(t, bin, env, args...) }
		deviceEmpty := func(what string) {
			t.Helper()
			r := g.VM.Run(t, adbtest.SystemBin+"/ls", "-A", "/data/local/tmp").OK(t)
			if s := strings.TrimSpace(string(r.Stdout)); s != "" {
				t.Errorf("%s: left on the device in /data/local/tmp: %q", what, s)
			}
			ps := g.VM.Run(t, adbtest.SystemBin+"/ps", "-o", "pid,args").OK(t)
			for _, l := range strings.Split(string(ps.Stdout), "\n") {
				if strings.Contains(l, "./kh ") {
					t.Errorf("%s: kh still runs on the device: %s", what, l)
				}
			}
		}

		// fetch, cold then warm: the same path; the warm one pulls nothing.
		cold := kh("fetch", "--adb")
		if cold.code != 0 || !strings.HasPrefix(cold.stdout, cache+"/"+k.Release+"-") {
			t.Fatalf("kh fetch --adb: exit %d, stdout %q, stderr %q", cold.code, cold.stdout, cold.stderr)
		}
		tree := strings.TrimSpace(cold.stdout)
		if _, err := os.Stat(filepath.Join(tree, "include/linux/sched.h")); err != nil {
			t.Error(err)
		}
		warm := kh("fetch", "-s", serial, "-o", "json")
		var m struct {
			Path   string
			Cached bool
			Source struct{ Kind, Location string }
		}
		if err := json.Unmarshal([]byte(warm.stdout), &m); err != nil || m.Path != tree || !m.Cached || m.Source.Kind != "module" || m.Source.Location != serial+":"+adbtest.ModulePath {
			t.Errorf("warm kh fetch -s %s -o json: %v: %s %s", serial, err, warm.stdout, warm.stderr)
		}
		if again := kh("fetch", "--adb="+serial); strings.TrimSpace(again.stdout) != tree {
			t.Errorf("kh fetch --adb=SERIAL: %q, want %q", again.stdout, tree)
		}

		if p := kh("config", "--adb", "BPF_SYSCALL", "IKHEADERS"); p.code != 0 || p.stdout != "CONFIG_BPF_SYSCALL=y\nCONFIG_IKHEADERS=m\n" {
			t.Errorf("kh config --adb: exit %d: %q %q", p.code, p.stdout, p.stderr)
		}
		vmlinuxH := filepath.Join(t.TempDir(), "vmlinux.h")
		if p := kh("btf", "--adb", "-O", vmlinuxH); p.code != 0 {
			t.Errorf("kh btf --adb: exit %d: %s", p.code, p.stderr)
		}
		want := kh("btf", "--from", k.File("vmlinux.btf"))
		if got, _ := os.ReadFile(vmlinuxH); want.code != 0 || string(got) != want.stdout {
			t.Errorf("kh btf --adb differs from kh btf --from the kernel's vmlinux.btf (%d vs %d bytes)", len(got), len(want.stdout))
		}
		if p := kh("cflags", "--adb"); p.code != 0 || !strings.Contains(p.stdout, tree+"/include") {
			t.Errorf("kh cflags --adb: exit %d: %q %q", p.code, p.stdout, p.stderr)
		}

		// build against the device's real headers, then run it there.
		src := filepath.Join(t.TempDir(), "syscalls.bpf.c")
		for _, f := range []string{"syscalls.bpf.c", "kh_helpers.h"} {
			b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tracing", f))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(filepath.Dir(src), f), b, 0o644)
		}
		obj := strings.TrimSuffix(src, ".c") + ".o"
		if p := kh("build", "--adb", src); p.code != 0 || strings.TrimSpace(p.stdout) != obj {
			t.Fatalf("kh build --adb: exit %d: %q %q", p.code, p.stdout, p.stderr)
		}
		// A syscall to see: faccessat every 0.1s for the rest of the boot.
		g.VM.RunCommand(t, vmtest.Command{Args: []string{"vmtest", "spawn", "/tmp/access.log", "vmtest", "access", "/data", "100000", "0.1"}}).OK(t)

		run := kh("run", "--adb", "--duration", "20s", "-o", "json", obj)
		if run.code != 0 || !strings.Contains(run.stdout, `kh-guest-tp tgid=`) || !strings.HasPrefix(run.stdout, "{") {
			t.Errorf("kh run --adb -o json: exit %d, stdout %.300q, stderr %q", run.code, run.stdout, run.stderr)
		}
		deviceEmpty("kh run --adb")

		// Ctrl-C in the middle of a run: kh interrupts the device's kh,
		// removes what it pushed and exits 130.
		t.Run("ctrl-c", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			c := exec.CommandContext(ctx, bin, "run", "--adb", obj)
			c.Env = env
			var out, errb lockedBuffer
			c.Stdout, c.Stderr = &out, &errb
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(3 * time.Minute)
			for !strings.Contains(out.String(), "kh-guest-tp tgid=") {
				if time.Now().After(deadline) {
					c.Process.Kill()
					t.Fatalf("no event from the device within 3 minutes: stdout %q stderr %q", out.String(), errb.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			c.Process.Signal(syscall.SIGINT)
			err := c.Wait()
			if code := c.ProcessState.ExitCode(); code != 130 {
				t.Errorf("kh run --adb after Ctrl-C: %v, exit %d, want 130; stderr %q", err, code, errb.String())
			}
			deviceEmpty("Ctrl-C")
		})

		if p := kh("doctor", "--adb"); p.code != 0 || !strings.Contains(p.stdout, "kh doctor: Linux "+k.Release) {
			t.Errorf("kh doctor --adb: exit %d: %.400q %q", p.code, p.stdout, p.stderr)
		}

		// Faults. The cache of each is new and must stay empty.
		fault := func(name string, env []string, want string, args ...string) {
			t.Helper()
			c := filepath.Join(cacheParent, name)
			p := runHostKh(t, bin, append(env, "KH_CACHE_DIR="+c), args...)
			oneLineFailure(t, name, p, want)
			if trees := treesIn(t, c); len(trees) != 0 {
				t.Errorf("%s: published %v", name, trees)
			}
			deviceEmpty(name)
		}
		fault("no-adb", append(srv.Env(), "ADB=/nonexistent/adb"), "adb client not found", "fetch", "--adb")
		empty := adbtest.Start(t)
		fault("no-device", empty.Env(), "no Android device attached", "fetch", "--adb")
		fault("unknown-serial", srv.Env(), `device "127.0.0.1:1" not found`, "fetch", "-s", "127.0.0.1:1")

		withDaemon := func(flags []string, f func(serial string)) {
			t.Helper()
			pid := g.StartDaemon(t, 1, flags...)
			srv.Connect(t, g.Addrs[1])
			f(g.Addrs[1])
			srv.Disconnect(t, g.Addrs[1])
			g.StopDaemon(t, pid)
		}
		pid := g.StartDaemon(t, 1, "-unauthorized")
		srv.ConnectState(t, g.Addrs[1], "unauthorized")
		fault("unauthorized", srv.Env(), "unauthorized: accept the USB debugging prompt", "fetch", "-s", g.Addrs[1])
		fault("unauthorized-only", srv.Env(), "unauthorized", "run", "-s", g.Addrs[1], obj)
		srv.Disconnect(t, g.Addrs[1])
		g.StopDaemon(t, pid)
		withDaemon(nil, func(string) {
			fault("two-devices", srv.Env(), "2 Android devices attached", "fetch", "--adb")
		})
		withDaemon([]string{"-close-after", "1000000"}, func(s string) {
			fault("connection-lost", srv.Env(), "the transfer ended early", "fetch", "-s", s)
		})
		withDaemon([]string{"-flip-at", "3000000"}, func(s string) {
			fault("corrupt", srv.Env(), "corrupt: SHA-256", "fetch", "-s", s)
		})
		// adbd as the shell user of a production build: root through su
		// 0, then, without su, none.
		withDaemon([]string{"-uid", "2000", "-gid", "2000"}, func(s string) {
			p := runHostKh(t, bin, append(srv.Env(), "KH_CACHE_DIR="+filepath.Join(cacheParent, "su")), "-v", "run", "-s", s, "--duration", "15s", obj)
			if p.code != 0 || !strings.Contains(p.stdout, "kh-guest-tp tgid=") || !strings.Contains(p.stderr, `root="su 0"`) {
				t.Errorf("kh run through su 0: exit %d, stdout %.300q, stderr %q", p.code, p.stdout, p.stderr)
			}
			deviceEmpty("kh run through su 0")
			g.VM.Rename(t, adbtest.SystemBin+"/su", adbtest.SystemBin+"/su.away")
			fault("no-root", srv.Env(), "no root on the device", "run", "-s", s, obj)
			g.VM.Rename(t, adbtest.SystemBin+"/su.away", adbtest.SystemBin+"/su")
		})
		g.VM.Mount(t, "tmpfs", "/data/local/tmp", "tmpfs", "size=1m,mode=1777")
		fault("full-data", srv.Env(), "No space left on device", "run", "--adb", "--duration", "1s", obj)
		g.VM.Run(t, adbtest.SystemBin+"/umount", "/data/local/tmp").OK(t)
		g.VM.Rename(t, adbtest.ModulePath, adbtest.ModulePath+".away")
		fault("vermagic", srv.Env(), "vermagic mismatch", "fetch", "--adb", "--require", "kheaders")
		g.VM.Rename(t, adbtest.ModulePath+".away", adbtest.ModulePath)
	})
}
