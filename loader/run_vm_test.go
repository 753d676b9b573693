package loader

import (
	"encoding/json"
	"github.com/khtool/kh/doctor"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/internal/vmtest"
)

// vmHarness boots the test kernels for TestRunInTestKernels.
var vmHarness vmtest.Harness

// guestTests are the BPF tests run inside the test kernels. They must
// pass there (not skip): the test kernels have kprobes, syscall
// tracepoints and /proc/config.gz. Two exceptions, see mayNotRun.
var guestTests = []string{
	"TestRunTracepoint", "TestRunKprobe", "TestRunFentry", "TestRunBTFTracepoints",
	"TestRunKconfig", "TestRunVerifierRejected", "TestRunPartialAttach", "TestRunUprobe",
}

// TestRunInTestKernels runs this package's BPF tests inside the test
// kernels (Linux 6.1 and 6.12, x86_64 and arm64, under qemu, in
// parallel): the BPF programs are
// compiled on the host against each kernel's BTF (testdata/bpf/build.sh),
// the test binary is cross-built, and both go into the guest, where the
// tests find the objects through $KH_TEST_BPF_DIR. The uprobe target is
// a static C program without C library, linked by ld.lld for the
// guest's architecture.
func TestRunInTestKernels(t *testing.T) {
	if os.Getenv("KH_TEST_BPF_DIR") != "" {
		t.Skip("already running in a guest")
	}
	if testing.Short() {
		t.Skip("boots qemu guests: skipped in -short mode")
	}
	for _, tool := range []string{"clang", "bpftool", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			testkernel.Skip(t, "%s not installed", tool)
		}
	}
	// ld.lld links the uprobe target for either guest; without it only
	// the uprobe test does not run (an error under KH_STRICT=1).
	_, err := exec.LookPath("ld.lld")
	haveLLD := err == nil
	if !haveLLD && testkernel.Strict() {
		t.Fatal("KH_STRICT=1 and ld.lld is not installed (Debian: lld): it links the uprobe target for the guests")
	}
	vmtest.ForEachKernel(t, func(t *testing.T, k *vmtest.Kernel) {
		arch := k.Arch
		dir := t.TempDir()
		objs := filepath.Join(dir, "bpf")
		sh := exec.Command("bash", "../testdata/bpf/build.sh", objs, k.File("vmlinux.btf"))
		sh.Env = append(os.Environ(), "UPROBE_TARGET="+map[string]string{"x86": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[testkernel.SrcArch(string(arch))])
		if out, err := sh.CombinedOutput(); err != nil {
			t.Fatalf("build.sh: %v\n%s", err, out)
		}
		bin := filepath.Join(dir, "loader.test")
		build := exec.Command("go", "test", "-c", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch.GOARCH())
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go test -c: %v\n%s", err, out)
		}
		files := []vmtest.File{{Path: "/bin/loader.test", HostPath: bin, Mode: 0o755}, k.KheadersModule()}
		entries, err := os.ReadDir(objs)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasSuffix(name, ".bpf.o") || name == "kh-uprobe-target" {
				files = append(files, vmtest.File{Path: "/bpf/" + name, HostPath: filepath.Join(objs, name)})
			}
		}
		vm := vmHarness.Boot(t, vmtest.Config{Arch: arch, Kernel: k, Files: files, MemoryMB: 1024})
		r := vm.RunCommand(t, vmtest.Command{
			Args:    []string{"/bin/loader.test", "-test.v", "-test.count=1", "-test.run", "^(" + strings.Join(guestTests, "|") + ")$"},
			Env:     []string{"KH_TEST_BPF_DIR=/bpf"},
			Timeout: 10 * time.Minute,
		})
		out := string(r.Stdout) + string(r.Stderr)
		t.Logf("guest output:\n%s", out)
		if r.TimedOut || r.ExitCode != 0 {
			t.Fatalf("guest tests failed (exit %d, timed out %v)", r.ExitCode, r.TimedOut)
		}
		for _, name := range guestTests {
			if mayNotRun(name, k, haveLLD) {
				continue
			}
			if !regexp.MustCompile(`(?m)^--- PASS: ` + name + ` `).MatchString(out) {
				t.Errorf("%s did not pass in the %s guest", name, arch)
			}
		}

		// kh doctor in the guest: tracing works, and --fix mounts
		// debugfs and bpffs once (the guest's init mounts neither;
		// the test kernels have no securityfs).
		runDoctor := func() doctor.Report {
			r := vm.Run(t, "kh", "doctor", "--fix", "-o", "json")
			var rep doctor.Report
			if err := json.Unmarshal(r.Stdout, &rep); err != nil || r.ExitCode != 0 {
				t.Fatalf("kh doctor --fix: exit %d, %v\n%s%s", r.ExitCode, err, r.Stdout, r.Stderr)
			}
			return rep
		}
		first, second := runDoctor(), runDoctor()
		fixed := map[string]bool{}
		for _, c := range first.Checks {
			if c.Fixed != "" {
				fixed[c.Name] = true
			}
			if c.FixError != "" {
				t.Errorf("doctor --fix: %s: %s", c.Name, c.FixError)
			}
		}
		for _, n := range []string{"debugfs", "bpffs"} {
			if !fixed[n] {
				t.Errorf("doctor --fix did not fix %s: %+v", n, first.Checks)
			}
		}
		for _, c := range second.Checks {
			if c.Fixed != "" {
				t.Errorf("second doctor --fix fixed %s again", c.Name)
			}
			want := map[string]doctor.Status{"kprobes": doctor.StatusOK, "tracepoints": doctor.StatusOK, "btf": doctor.StatusOK, "kheaders": doctor.StatusOK,
				"config": doctor.StatusOK, "tracefs": doctor.StatusOK, "debugfs": doctor.StatusOK, "bpffs": doctor.StatusOK, "lockdown": doctor.StatusOK, "bpf": doctor.StatusOK,
				"attach": doctor.StatusOK, "cache": doctor.StatusOK}
			if st, ok := want[c.Name]; ok && c.Status != st {
				t.Errorf("doctor in the %s guest: %s is %s (%s)", arch, c.Name, c.Status, c.Value)
			}
		}
	})
}

// mayNotRun reports the guest tests allowed to skip: fentry on arm64
// Linux 6.1 (no BPF trampoline there: attaching fails with "not
// supported"; Linux 6.12 has them, and fentry must pass), and the uprobe
// test where ld.lld could not link its target program.
func mayNotRun(test string, k *vmtest.Kernel, haveLLD bool) bool {
	return test == "TestRunFentry" && k.Arch == vmtest.ARM64 && k.Version == vmtest.V6_1 ||
		test == "TestRunUprobe" && !haveLLD
}
