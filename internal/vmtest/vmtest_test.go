package vmtest_test

import (
	"github.com/khtool/kh/internal/testkernel"

	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/vmtest"
)

// harness is shared by the tests of this package, so each guest program is
// built once per architecture.
var harness vmtest.Harness

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Close()
	os.Exit(code)
}

func hostFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestSmoke boots each test kernel (Linux 6.1 and 6.12, x86_64 and
// arm64) once and checks what the harness and kh
// rely on: the kernel's self-description, module loading, bulk transfers,
// concurrency, timeouts and clear failures.
func TestSmoke(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	vmtest.ForEachKernel(t, func(t *testing.T, k *vmtest.Kernel) {
		vm := harness.Boot(t, vmtest.Config{
			Kernel: k,
			Files:  []vmtest.File{k.KheadersModule()},
		})
		if vm.Hello.Release != k.Release {
			t.Errorf("guest release %q, want %q", vm.Hello.Release, k.Release)
		}
		if vm.Hello.RootFSMagic != unix.RAMFS_MAGIC {
			t.Errorf("root fs magic %#x, want ramfs", vm.Hello.RootFSMagic)
		}

		t.Run("version", func(t *testing.T) {
			r := vm.Run(t, "kh", "--version").OK(t)
			if !strings.HasPrefix(string(r.Stdout), "kh version ") {
				t.Errorf("kh --version printed %q", r.Stdout)
			}
		})

		t.Run("config.gz", func(t *testing.T) {
			zr, err := gzip.NewReader(bytes.NewReader(vm.ReadFile(t, "/proc/config.gz")))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if want := hostFile(t, k.File("config")); !bytes.Equal(got, want) {
				t.Errorf("/proc/config.gz: %d bytes differ from %s (%d bytes)", len(got), k.File("config"), len(want))
			}
		})

		t.Run("stat", func(t *testing.T) {
			btf := vm.Stat(t, "/sys/kernel/btf/vmlinux")
			want := hostFile(t, k.File("vmlinux.btf"))
			if !btf.Exists || btf.Type != "file" || btf.Size != int64(len(want)) || btf.FSMagic != unix.SYSFS_MAGIC {
				t.Errorf("/sys/kernel/btf/vmlinux: %+v, want a %d-byte sysfs file", btf, len(want))
			}
			if d := vm.Digest(t, "/sys/kernel/btf/vmlinux"); d.Sum != sha256Hex(want) {
				t.Errorf("/sys/kernel/btf/vmlinux digest %s, want the sha256 of vmlinux.btf %s", d.Sum, sha256Hex(want))
			}
			if st := vm.Stat(t, "/sys/kernel/kheaders.tar.xz"); st.Exists {
				t.Errorf("/sys/kernel/kheaders.tar.xz exists before kheaders is loaded: %+v", st)
			}
			if st := vm.Stat(t, "/proc"); st.Type != "dir" || st.FSMagic != unix.PROC_SUPER_MAGIC || !st.MountPoint {
				t.Errorf("/proc: %+v, want a procfs mount point", st)
			}
			if st := vm.Stat(t, "/tmp"); st.Type != "dir" || st.Mode != 0o1777 {
				t.Errorf("/tmp: %+v, want a 1777 directory", st)
			}
			if st := vm.Stat(t, "/dev/null"); st.Type != "char" || st.FSMagic != unix.TMPFS_MAGIC {
				t.Errorf("/dev/null: %+v, want a character device on devtmpfs", st)
			}
			if st := vm.Stat(t, "/run"); st.Exists {
				t.Errorf("/run exists, the harness should leave it to the scenario: %+v", st)
			}
		})

		t.Run("kheaders module", func(t *testing.T) {
			mod := k.KheadersModulePath()
			vm.LoadModule(t, mod, "")
			st := vm.Stat(t, "/sys/kernel/kheaders.tar.xz")
			want := hostFile(t, k.File("kheaders.tar.xz"))
			if !st.Exists || st.Size != int64(len(want)) {
				t.Fatalf("/sys/kernel/kheaders.tar.xz after loading: %+v, want %d bytes", st, len(want))
			}
			if d := vm.Digest(t, "/sys/kernel/kheaders.tar.xz"); d.Sum != sha256Hex(want) {
				t.Errorf("sysfs archive digest %s, want %s", d.Sum, sha256Hex(want))
			}
			// Loading again is an error the test can inspect.
			_, err := vm.Do(t.Context(), vmtest.Step{Op: vmtest.OpLoadModule, Path: mod})
			var ge *vmtest.GuestError
			if !errors.As(err, &ge) || !errors.Is(err, syscall.EEXIST) {
				t.Errorf("second load: err = %v, want a guest EEXIST", err)
			}
		})

		t.Run("big output", func(t *testing.T) {
			want := hostFile(t, k.File("kheaders.tar.xz"))
			if got := vm.ReadFile(t, "/sys/kernel/kheaders.tar.xz"); !bytes.Equal(got, want) {
				t.Errorf("copied back %d bytes, want the %d bytes of kheaders.tar.xz", len(got), len(want))
			}
			r := vm.Run(t, "vmtest", "cat", "/sys/kernel/kheaders.tar.xz").OK(t)
			if !bytes.Equal(r.Stdout, want) {
				t.Errorf("stdout of cat: %d bytes, want %d", len(r.Stdout), len(want))
			}
			big := bytes.Repeat([]byte("0123456789abcdef"), 6<<16) // 6 MiB, more than a vmlinux.h
			r = vm.RunCommand(t, vmtest.Command{Args: []string{"vmtest", "cat"}, Stdin: big}).OK(t)
			if !bytes.Equal(r.Stdout, big) {
				t.Errorf("stdin to stdout: %d bytes back, want %d", len(r.Stdout), len(big))
			}
		})

		t.Run("command environment", func(t *testing.T) {
			r := vm.RunCommand(t, vmtest.Command{
				Args: []string{"vmtest", "env"},
				Env:  []string{"KH_TEST=1", "HOME=/tmp"},
			}).OK(t)
			env := strings.Split(strings.TrimSpace(string(r.Stdout)), "\n")
			for _, want := range []string{"KH_TEST=1", "HOME=/tmp", "PATH=/bin:/sbin:/usr/bin:/usr/sbin"} {
				if !contains(env, want) {
					t.Errorf("env %q lacks %s", env, want)
				}
			}
			r = vm.RunCommand(t, vmtest.Command{Args: []string{"vmtest", "pwd"}, Dir: "/tmp"}).OK(t)
			if got := strings.TrimSpace(string(r.Stdout)); got != "/tmp" {
				t.Errorf("pwd = %q, want /tmp", got)
			}
			r = vm.Run(t, "vmtest", "exit", "3", "bad thing").Exit(t, 3)
			if got := strings.TrimSpace(string(r.Stderr)); got != "bad thing" {
				t.Errorf("stderr = %q", got)
			}
		})

		t.Run("concurrent group", func(t *testing.T) {
			// Each rendezvous waits for the other: run one after the
			// other, they would both time out.
			rv := vmtest.Command{Args: []string{"vmtest", "rendezvous", "/tmp/rv", "2"}, Timeout: 30 * time.Second}
			rs := vm.RunGroup(t, rv, rv, vmtest.Command{Args: []string{"kh", "--version"}})
			for _, r := range rs {
				r.OK(t)
			}
			if got := strings.TrimSpace(string(rs[0].Stdout)); got != "met 2" {
				t.Errorf("rendezvous printed %q", got)
			}
		})

		t.Run("timeout", func(t *testing.T) {
			r := vm.RunCommand(t, vmtest.Command{Args: []string{"vmtest", "sleep", "60"}, Timeout: time.Second})
			if !r.TimedOut || r.ExitCode != -1 || r.Signal != "SIGKILL" {
				t.Errorf("sleep past its timeout: %+v", r)
			}
			if err := r.Err(); err == nil || !strings.Contains(err.Error(), "timed out after") {
				t.Errorf("Err() = %v, want a timeout", err)
			}
			vm.Run(t, "vmtest", "echo", "still here").OK(t) // the VM goes on
		})

		t.Run("missing binary", func(t *testing.T) {
			for args, want := range map[string]string{
				"/bin/nonexistent": "/bin/nonexistent: no such file or directory",
				"nonexistent":      "nonexistent: executable file not found in PATH=/bin:/sbin:/usr/bin:/usr/sbin",
			} {
				r := vm.Run(t, args)
				if r.ExitCode != -1 || !strings.Contains(r.StartErr, want) {
					t.Errorf("%s: %+v, want StartErr %q", args, r, want)
				}
				expectFailure(t, "could not start: "+want, func(tb testing.TB) { r.OK(tb) })
			}
		})

		t.Run("files", func(t *testing.T) {
			// Build the same small tree in the guest and on the host.
			host := t.TempDir()
			files := map[string]string{"a/b.h": "#define B 1\n", "a/c/d.h": "int d;\n", "top.txt": "top\n"}
			for name, data := range files {
				vm.WriteFile(t, "/tmp/tree/"+name, []byte(data), 0o600)
				os.MkdirAll(filepath.Join(host, filepath.Dir(name)), 0o755)
				if err := os.WriteFile(filepath.Join(host, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			vm.Symlink(t, "a/c", "/tmp/tree/link")
			os.Symlink("a/c", filepath.Join(host, "link"))
			vm.Mkdir(t, "/tmp/tree/empty", 0o700)
			os.Mkdir(filepath.Join(host, "empty"), 0o755)
			want, err := vmtest.DigestPath(host)
			if err != nil {
				t.Fatal(err)
			}
			vmtest.WantDigest(t, vm.Digest(t, "/tmp/tree"), want)

			if st := vm.Stat(t, "/tmp/tree/a/b.h"); st.Type != "file" || st.Mode != 0o600 || st.Size != 12 {
				t.Errorf("a/b.h: %+v", st)
			}
			if st := vm.Stat(t, "/tmp/tree/link"); st.Type != "symlink" || st.Target != "a/c" {
				t.Errorf("link: %+v", st)
			}
			vm.Rename(t, "/tmp/tree/top.txt", "/tmp/tree/moved.txt")
			vm.Remove(t, "/tmp/tree/a")
			if st := vm.Stat(t, "/tmp/tree/a"); st.Exists {
				t.Errorf("a still exists after Remove: %+v", st)
			}
			if got := string(vm.ReadFile(t, "/tmp/tree/moved.txt")); got != "top\n" {
				t.Errorf("moved.txt = %q", got)
			}
			// The digest notices the changes; excluding them restores it.
			d := vm.Digest(t, "/tmp/tree")
			expectFailure(t, `- f "top.txt"`, func(tb testing.TB) { vmtest.WantDigest(tb, d, want) })
			os.RemoveAll(filepath.Join(host, "a"))
			os.Rename(filepath.Join(host, "top.txt"), filepath.Join(host, "moved.txt"))
			want, _ = vmtest.DigestPath(host, "moved.txt")
			vmtest.WantDigest(t, vm.Digest(t, "/tmp/tree", "moved.txt"), want)

			vm.Mount(t, "tmpfs", "/run/test", "tmpfs", "mode=0755,size=1m")
			if st := vm.Stat(t, "/run/test"); st.FSMagic != unix.TMPFS_MAGIC || !st.MountPoint {
				t.Errorf("/run/test after mounting tmpfs: %+v", st)
			}
		})
	})
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// TestHarnessFails shows that the assertions fail when they should, and
// that a guest that stops answering is killed instead of hanging the test.
func TestHarnessFails(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	vmtest.ForEachKernel(t, func(t *testing.T, k *vmtest.Kernel) {
		vm := harness.Boot(t, vmtest.Config{Kernel: k})
		r := vm.Run(t, "vmtest", "exit", "3", "it broke")
		expectFailure(t, `["vmtest" "exit" "3" "it broke"]: exit status 3`, func(tb testing.TB) { r.OK(tb) })
		expectFailure(t, "stderr: it broke", func(tb testing.TB) { r.OK(tb) })
		expectFailure(t, "want exit status 0", func(tb testing.TB) { r.Exit(tb, 0) })
		expectFailure(t, "guest: rename /nonexistent /x: no such file or directory", func(tb testing.TB) {
			vm.Rename(tb, "/nonexistent", "/x")
		})
		expectFailure(t, "digest", func(tb testing.TB) {
			vmtest.WantDigest(tb, vm.Digest(tb, "/proc/version"), vmtest.Digest{Sum: sha256Hex(nil)})
		})
		expectFailure(t, "not absolute", func(tb testing.TB) { vm.Stat(tb, "relative/path") })

		// The host gives up on a step that gets no answer in time, kills
		// qemu, and fails every later step at once.
		_, err := vm.Do(t.Context(), vmtest.Step{Op: vmtest.OpStat, Path: "/", Timeout: time.Nanosecond})
		if err == nil || !strings.Contains(err.Error(), "no answer from the guest within 1ns; qemu killed") {
			t.Fatalf("step past its host timeout: err = %v", err)
		}
		if vm.Running() {
			t.Fatal("qemu still running after a step timed out")
		}
		expectFailure(t, "no answer from the guest", func(tb testing.TB) { vm.Run(tb, "kh", "--version") })
	})
}

// TestGuestCrash kills the guest's init in the middle of a step: the
// kernel panics, qemu exits, and the step fails quoting the panic.
func TestGuestCrash(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	vmtest.ForEachKernel(t, func(t *testing.T, k *vmtest.Kernel) {
		vm := harness.Boot(t, vmtest.Config{Kernel: k})
		_, err := vm.Do(t.Context(), vmtest.Step{Op: vmtest.OpCrash})
		if !errors.Is(err, vmtest.ErrVMExited) {
			t.Fatalf("crash: err = %v, want ErrVMExited", err)
		}
		if !strings.Contains(err.Error(), "guest kernel panicked: Kernel panic - not syncing: Attempted to kill init!") {
			t.Errorf("crash error does not quote the panic:\n%v", err)
		}
		expectFailure(t, "VM exited", func(tb testing.TB) { vm.Run(tb, "kh", "--version") })
	})
}

// TestBootFailure boots a kernel that cannot find its init: the boot fails
// with the kernel's panic message instead of waiting for the timeout.
func TestBootFailure(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	if testing.Short() {
		t.Skip("vmtest: VM tests do not run in -short mode")
	}
	k := vmtest.KernelFor(t, vmtest.X86_64)
	// A comma in the path must not break qemu's -virtfs option.
	dir := filepath.Join(t.TempDir(), "a,b")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := harness.Start(t.Context(), vmtest.Config{Kernel: k, Cmdline: "rdinit=/nonexistent"}, dir)
	if errors.Is(err, vmtest.ErrUnavailable) {
		testkernel.Skip(t, "vmtest: %v", err)
	}
	if !errors.Is(err, vmtest.ErrVMExited) || !strings.Contains(err.Error(), "guest kernel panicked: Kernel panic - not syncing: No working init found") {
		t.Fatalf("boot without init: err = %v", err)
	}
}

// TestUnavailable checks that a missing qemu or kernel is reported as
// ErrUnavailable (which Boot turns into a skip), before anything is built.
func TestUnavailable(t *testing.T) {
	if _, err := vmtest.LoadKernel(t.TempDir(), vmtest.ARM64); !errors.Is(err, vmtest.ErrUnavailable) || !strings.Contains(err.Error(), "KH_TESTKERNEL") {
		t.Errorf("empty kernel dir: err = %v", err)
	}
	dir := t.TempDir()
	for _, name := range []string{"bzImage", "release"} {
		os.WriteFile(filepath.Join(dir, name), []byte("6.1.0\n"), 0o644)
	}
	k, err := vmtest.LoadKernel(dir, vmtest.X86_64)
	if err != nil || k.Release != "6.1.0" || k.KheadersModulePath() != "/lib/modules/6.1.0/kernel/kernel/kheaders.ko" {
		t.Fatalf("LoadKernel = %+v, %v", k, err)
	}
	var h vmtest.Harness
	defer h.Close()
	_, err = h.Start(t.Context(), vmtest.Config{Arch: vmtest.X86_64, Kernel: k, QEMU: "qemu-system-nonexistent"}, t.TempDir())
	if !errors.Is(err, vmtest.ErrUnavailable) || !strings.Contains(err.Error(), "qemu-system-nonexistent (Debian package qemu-system-x86)") {
		t.Errorf("missing qemu: err = %v", err)
	}
	if _, err := vmtest.LoadKernel(dir, "sparc"); err == nil || errors.Is(err, vmtest.ErrUnavailable) {
		t.Errorf("unknown arch: err = %v", err)
	}
	_, err = h.Start(t.Context(), vmtest.Config{Arch: vmtest.ARM64, Kernel: k}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "asks for arm64 but its kernel is x86_64") {
		t.Errorf("arch mismatch: err = %v", err)
	}
}

// TestUnpackTarXZ checks the host reference: a tree packed with tar -cJf
// and unpacked by UnpackTarXZ digests like the original.
func TestUnpackTarXZ(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "include/linux"), 0o755)
	os.WriteFile(filepath.Join(src, "include/linux/kh.h"), []byte("#define KH 1\n"), 0o644)
	os.Symlink("include/linux", filepath.Join(src, "linux"))
	want, err := vmtest.DigestPath(src)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "h.tar.xz")
	if out, err := exec.Command("tar", "-C", src, "-cJf", archive, ".").CombinedOutput(); err != nil {
		t.Skipf("tar -cJf: %v: %s", err, out)
	}
	got, err := vmtest.DigestPath(vmtest.UnpackTarXZ(t, archive))
	if err != nil {
		t.Fatal(err)
	}
	vmtest.WantDigest(t, got, want)
}

// TestDocExample is the scenario of the package documentation.
func TestDocExample(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	vm := harness.Boot(t, vmtest.Config{Arch: vmtest.ARM64})
	r := vm.Run(t, "kh", "--version").OK(t)
	if !bytes.HasPrefix(r.Stdout, []byte("kh version")) {
		t.Errorf("stdout %q", r.Stdout)
	}
	if st := vm.Stat(t, "/sys/kernel/btf/vmlinux"); !st.Exists {
		t.Error("no BTF")
	}
}

// recorder is a testing.TB that records failures instead of failing the
// test, to show that a helper fails when it should. Everything else goes
// to the real test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msgs   []string
}

func (r *recorder) Helper() {}
func (r *recorder) Fail()   { r.mu.Lock(); r.failed = true; r.mu.Unlock() }
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}
func (r *recorder) FailNow()                  { r.Fail(); runtime.Goexit() }
func (r *recorder) Error(a ...any)            { r.record(fmt.Sprintln(a...)) }
func (r *recorder) Errorf(f string, a ...any) { r.record(fmt.Sprintf(f, a...)) }
func (r *recorder) Fatal(a ...any)            { r.record(fmt.Sprintln(a...)); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.record(fmt.Sprintf(f, a...)); runtime.Goexit() }
func (r *recorder) Skip(a ...any)             { r.record("skip: " + fmt.Sprintln(a...)); runtime.Goexit() }
func (r *recorder) Skipf(f string, a ...any) {
	r.record("skip: " + fmt.Sprintf(f, a...))
	runtime.Goexit()
}
func (r *recorder) SkipNow() { r.record("skip"); runtime.Goexit() }

func (r *recorder) record(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, msg)
}

// expectFailure runs f with a recorder and fails t unless f failed with a
// message containing want.
func expectFailure(t *testing.T, want string, f func(tb testing.TB)) {
	t.Helper()
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	msgs := strings.Join(rec.msgs, "\n")
	if !rec.Failed() {
		t.Errorf("expected a failure mentioning %q, got none", want)
	} else if !strings.Contains(msgs, want) {
		t.Errorf("expected a failure mentioning %q, got:\n%s", want, msgs)
	}
}

// TestKernel612 boots the Linux 6.12 kernels with what the newer scenarios
// need: a read-only 9p share of a host directory, a user-mode virtio
// network device, and commands run as Android's shell user.
func TestKernel612(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "hello"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vmtest.ForEachArch(t, func(t *testing.T, arch vmtest.Arch) {
		k := vmtest.KernelVersionFor(t, arch, vmtest.V6_12)
		vm := harness.Boot(t, vmtest.Config{
			Kernel:   k,
			Shares:   []vmtest.Share{{Tag: "ro", HostPath: hostDir, ReadOnly: true}},
			QEMUArgs: []string{"-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"},
		})
		if vm.Hello.Release != k.Release || k.Release != "6.12.117" {
			t.Errorf("guest release %q, kernel dir says %q, want 6.12.117", vm.Hello.Release, k.Release)
		}
		vm.Mkdir(t, "/mnt/ro", 0o755)
		vm.Mount(t, "ro", "/mnt/ro", "9p", "trans=virtio,version=9p2000.L")
		if got := vm.ReadFile(t, "/mnt/ro/hello"); string(got) != "from the host\n" {
			t.Errorf("share file = %q", got)
		}
		_, err := vm.Do(t.Context(), vmtest.Step{Op: vmtest.OpWrite, Path: "/mnt/ro/new", Data: []byte("x"), Mode: 0o644})
		if !errors.Is(err, syscall.EROFS) && !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM) {
			t.Errorf("write into the read-only share: err = %v, want EROFS", err)
		}
		if _, err := os.Stat(filepath.Join(hostDir, "new")); err == nil {
			t.Error("the guest wrote into the read-only share")
		}
		if st := vm.Stat(t, "/sys/class/net/eth0"); !st.Exists {
			t.Fatal("no eth0: the virtio-net device did not appear")
		}
		vm.Run(t, "vmtest", "ifup", "eth0", "10.0.2.15/24").OK(t)
		if got := vm.ReadFile(t, "/sys/class/net/eth0/operstate"); string(got) != "up\n" {
			t.Errorf("eth0 operstate after ifup = %q", got)
		}
		r := vm.Run(t, "vmtest", "spawn", "/tmp/spawn.log", "vmtest", "sleep", "60").OK(t)
		pid := strings.TrimSpace(string(r.Stdout))
		if st := vm.Stat(t, "/proc/"+pid); pid == "" || !st.Exists {
			t.Errorf("spawned process %q is gone after its step ended", pid)
		}
		r = vm.RunCommand(t, vmtest.Command{Args: []string{"vmtest", "id"}, Cred: vmtest.AndroidShell()}).OK(t)
		want := "uid=2000 gid=2000 groups=1004,1007,1011,1015,1028,3001,3002,3003,3006,3009,3011"
		if got := strings.TrimSpace(string(r.Stdout)); got != want {
			t.Errorf("id as the shell user = %q, want %q", got, want)
		}
		r = vm.Run(t, "vmtest", "id").OK(t)
		if got := strings.TrimSpace(string(r.Stdout)); got != "uid=0 gid=0 groups=" {
			t.Errorf("id as root = %q", got)
		}
	})
}
