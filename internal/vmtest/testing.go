package vmtest

import (
	"github.com/khtool/kh/internal/testkernel"

	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/khtool/kh/internal/vmtest/vmproto"
)

// The helpers below are for tests: they take a testing.TB and end the
// test (t.Fatal) on failure. A guest action that fails is a failure; use
// VM.Do to examine an expected error instead.

// Boot starts a VM for the test and shuts it down when the test ends. It
// skips the test in -short mode and where qemu or the test kernel is
// missing, and fails it if the VM does not boot. When the test has failed,
// the serial console is logged at the end; with KH_VMTEST_CONSOLE set in
// the environment it is also copied to stderr as it arrives.
func (h *Harness) Boot(t testing.TB, cfg Config) *VM {
	t.Helper()
	if testing.Short() {
		t.Skip("vmtest: VM tests do not run in -short mode")
	}
	if cfg.Console == nil && os.Getenv("KH_VMTEST_CONSOLE") != "" {
		cfg.Console = os.Stderr
	}
	ctx, cancel := testContext(t)
	defer cancel()
	dir := t.TempDir()
	vm, err := h.Start(ctx, cfg, dir)
	if errors.Is(err, ErrUnavailable) {
		testkernel.Skip(t, "vmtest: %v", err)
	}
	if err != nil {
		t.Fatalf("vmtest: boot: %v", err)
	}
	t.Logf("vmtest: %s guest %s booted in %v", vm.Arch, vm.Hello.Release, vm.BootTime.Round(time.Millisecond))
	t.Cleanup(func() {
		if err := vm.Close(); err != nil {
			t.Errorf("vmtest: %v", err)
		}
		if t.Failed() {
			t.Logf("vmtest: %s serial console:\n%s", vm.Arch, vm.Console())
		}
	})
	return vm
}

// testContext ends a little before the test binary's deadline, so that a
// hung step fails the test with its console instead of a timeout panic.
func testContext(t testing.TB) (context.Context, context.CancelFunc) {
	ctx := t.Context()
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			return context.WithDeadline(ctx, dl.Add(-15*time.Second))
		}
	}
	return context.WithCancel(ctx)
}

// must runs a step and fails the test if it does not succeed.
func (vm *VM) must(t testing.TB, s Step) *Reply {
	t.Helper()
	ctx, cancel := testContext(t)
	defer cancel()
	r, err := vm.Do(ctx, s)
	if err != nil {
		t.Fatalf("vmtest: %s: %v", vm.Arch, err)
	}
	return r
}

// Run runs one command and returns how it ended, whatever that was.
func (vm *VM) Run(t testing.TB, args ...string) *Result {
	t.Helper()
	return vm.RunCommand(t, Command{Args: args})
}

// RunCommand runs c and returns how it ended.
func (vm *VM) RunCommand(t testing.TB, c Command) *Result {
	t.Helper()
	return vm.RunGroup(t, c)[0]
}

// RunGroup starts all cmds at the same moment, waits for all of them and
// returns their results in order.
func (vm *VM) RunGroup(t testing.TB, cmds ...Command) []*Result {
	t.Helper()
	return vm.must(t, Step{Op: vmproto.OpRun, Commands: cmds}).Results
}

// OK fails the test unless the command exited with status 0, and returns
// r for chaining.
func (r *Result) OK(t testing.TB) *Result {
	t.Helper()
	if err := r.Err(); err != nil {
		t.Fatalf("vmtest: %s", r)
	}
	return r
}

// Exit fails the test unless the command exited with status code.
func (r *Result) Exit(t testing.TB, code int) *Result {
	t.Helper()
	if r.StartErr != "" || r.TimedOut || r.Signal != "" || r.ExitCode != code {
		t.Fatalf("vmtest: want exit status %d: %s", code, r)
	}
	return r
}

// WriteFile creates or replaces a guest file (and its missing parents).
func (vm *VM) WriteFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	vm.must(t, Step{Op: vmproto.OpWrite, Path: path, Data: data, Mode: mode})
}

// Mkdir creates a guest directory and its missing parents.
func (vm *VM) Mkdir(t testing.TB, path string, mode os.FileMode) {
	t.Helper()
	vm.must(t, Step{Op: vmproto.OpMkdir, Path: path, Mode: mode})
}

// Symlink creates the guest symlink path pointing to target.
func (vm *VM) Symlink(t testing.TB, target, path string) {
	t.Helper()
	vm.must(t, Step{Op: vmproto.OpSymlink, Path: path, Target: target})
}

// Remove removes a guest path and everything under it; a missing path is
// fine.
func (vm *VM) Remove(t testing.TB, path string) {
	t.Helper()
	vm.must(t, Step{Op: vmproto.OpRemove, Path: path})
}

// Rename renames a guest path.
func (vm *VM) Rename(t testing.TB, oldpath, newpath string) {
	t.Helper()
	vm.must(t, Step{Op: vmproto.OpRename, Path: oldpath, Target: newpath})
}

// Stat describes a guest path (lstat). A missing path gives Exists false.
func (vm *VM) Stat(t testing.TB, path string) Stat {
	t.Helper()
	return *vm.must(t, Step{Op: vmproto.OpStat, Path: path}).Stat
}

// Digest returns the digest of a guest path: the SHA-256 of a regular
// file's contents, or the tree digest of a directory with its listing
// (see DigestPath).
func (vm *VM) Digest(t testing.TB, path string, exclude ...string) Digest {
	t.Helper()
	return vm.must(t, Step{Op: vmproto.OpDigest, Path: path, Exclude: exclude}).Digest
}

// ReadFile copies a guest file back to the host. It reads to EOF, so it
// works for procfs and sysfs files.
func (vm *VM) ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	return vm.must(t, Step{Op: vmproto.OpRead, Path: path}).Data
}

// Mount mounts a file system in the guest, creating the mount point.
func (vm *VM) Mount(t testing.TB, source, target, fstype, options string) {
	t.Helper()
	vm.must(t, Step{Op: vmproto.OpMount, Source: source, Target: target, FSType: fstype, Options: options})
}

// LoadModule loads a guest module file with finit_module(2).
func (vm *VM) LoadModule(t testing.TB, path, params string) {
	t.Helper()
	vm.must(t, Step{Op: vmproto.OpLoadModule, Path: path, Options: params})
}

// UnloadModule unloads a module by name with delete_module(2).
func (vm *VM) UnloadModule(t testing.TB, name string) {
	t.Helper()
	vm.must(t, Step{Op: vmproto.OpUnloadModule, Path: name})
}

// UnpackTarXZ unpacks an xz-compressed tar archive on the host with
// tar(1) into a new temporary directory and returns it: the reference tree
// to compare a guest tree's Digest with. It skips the test if tar or xz is
// missing.
func UnpackTarXZ(t testing.TB, archive string) string {
	t.Helper()
	for _, tool := range []string{"tar", "xz"} {
		if _, err := exec.LookPath(tool); err != nil {
			testkernel.Skip(t, "vmtest: %s not installed: %v", tool, err)
		}
	}
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-C", dir, "-xJf", archive).CombinedOutput(); err != nil {
		t.Fatalf("vmtest: tar -xJf %s: %v: %s", archive, err, out)
	}
	return dir
}

// ForEachArch runs f as a parallel subtest for each architecture (each
// guest is a single-threaded qemu process, so two fit on two cores).
func ForEachArch(t *testing.T, f func(t *testing.T, arch Arch)) {
	t.Helper()
	for _, arch := range Arches() {
		t.Run(string(arch), func(t *testing.T) {
			t.Parallel()
			f(t, arch)
		})
	}
}

// ForEachKernel runs f as a parallel subtest ("6.1/x86_64", ...) for each
// test kernel generation and architecture, skipping (or, under KH_STRICT,
// failing) where a kernel is missing. Boot with Config{Kernel: k}.
func ForEachKernel(t *testing.T, f func(t *testing.T, k *Kernel)) {
	t.Helper()
	for _, v := range Versions() {
		for _, arch := range Arches() {
			t.Run(string(v)+"/"+string(arch), func(t *testing.T) {
				t.Parallel()
				f(t, KernelVersionFor(t, arch, v))
			})
		}
	}
}

// KernelFor returns the test kernel for arch, skipping the test where it
// is missing; use it to name kernel files in Config.Files before Boot
// (afterwards VM.Kernel has it).
func KernelFor(t testing.TB, arch Arch) *Kernel {
	t.Helper()
	return KernelVersionFor(t, arch, V6_1)
}

// KernelVersionFor returns the test kernel of generation v for arch,
// skipping the test where it is missing.
func KernelVersionFor(t testing.TB, arch Arch, v Version) *Kernel {
	t.Helper()
	k, err := FindKernelVersion(t.Context(), arch, v)
	if errors.Is(err, ErrUnavailable) {
		testkernel.Skip(t, "vmtest: %v", err)
	}
	if err != nil {
		t.Fatalf("vmtest: %v", err)
	}
	return k
}
