package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	tk "github.com/khtool/kh/internal/testkernel"
)

// khBinary builds the kh command into a temporary directory: kh exec
// replaces its process, so it is tested as a subprocess.
func khBinary(t *testing.T) string {
	t.Helper()
	goTool := tk.NeedTool(t, "go")
	bin := filepath.Join(t.TempDir(), "kh")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runKh runs the kh binary with args and env added to this process's
// environment, and returns stdout, stderr and how it ended.
func runKh(t *testing.T, bin string, env []string, args ...string) (string, string, *os.ProcessState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run kh: %v", err)
	}
	return out.String(), errb.String(), cmd.ProcessState
}

// TestExecCLI runs commands through kh exec: they see the tree's
// environment, keep kh's pid (kh replaced itself), and their exit status
// and the signal that ends them come back unchanged.
func TestExecCLI(t *testing.T) {
	bin := khBinary(t)
	archive := filepath.Join(testkernel(t, "x86_64"), "kheaders.tar.xz")
	cache := cacheDir(t)
	tree, _, code := kh(t, "fetch", "--cache-dir", cache, "--from", archive)
	if code != 0 {
		t.Fatal("fetch failed")
	}
	tree = strings.TrimSpace(tree)
	kx := []string{"exec", "--cache-dir", cache, "--from", archive}

	out, errs, st := runKh(t, bin, []string{"BPFTRACE_KERNEL_BUILD=/stale", "KEEP=kept"},
		append(kx, "--", "sh", "-c", `echo "$$ $BCC_KERNEL_SOURCE $BPFTRACE_KERNEL_SOURCE $BPFTRACE_KERNEL_BUILD $KH_KIND $KEEP"; exit 3`)...)
	want := strconv.Itoa(st.Pid()) + " " + tree + " " + tree + " " + tree + " kheaders kept\n"
	if st.ExitCode() != 3 || out != want {
		t.Errorf("exit %d, stdout %q, want 3 and %q; stderr %q", st.ExitCode(), out, want, errs)
	}

	// Flags after the command are the command's, not kh's.
	out, _, st = runKh(t, bin, nil, append(kx, "printf", "%s,", "-v", "--from", "x")...)
	if st.ExitCode() != 0 || out != "-v,--from,x," {
		t.Errorf("flags after the command: exit %d, %q", st.ExitCode(), out)
	}

	// A signal that kills the command is the status kh's parent sees.
	_, _, st = runKh(t, bin, nil, append(kx, "--", "sh", "-c", "kill -TERM $$")...)
	if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("kill -TERM: %v", st)
	}

	_, errs, st = runKh(t, bin, nil, append(kx, "--", "kh-no-such-command")...)
	if st.ExitCode() != 127 || !strings.Contains(errs, "kh: exec kh-no-such-command: command not found") {
		t.Errorf("missing command: exit %d, %q", st.ExitCode(), errs)
	}
	// Issue 14 item 9: a path that does not exist is 127 too, as in sh.
	_, errs, st = runKh(t, bin, nil, append(kx, "--", "/nonexistent")...)
	if st.ExitCode() != 127 || !strings.Contains(errs, "kh: exec /nonexistent: command not found") {
		t.Errorf("missing path: exit %d, %q", st.ExitCode(), errs)
	}
	dir := t.TempDir()
	_, errs, st = runKh(t, bin, nil, append(kx, "--", dir)...)
	if st.ExitCode() != 126 || !strings.Contains(errs, "kh: exec "+dir+": is a directory\n") {
		t.Errorf("a directory as command: exit %d, %q", st.ExitCode(), errs)
	}
}

// withoutKh returns a command run in a minimal environment: no variable
// that points a tool at kernel headers.
func withoutKh(t *testing.T, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
	return cmd
}

// needBCC returns the python that has BCC's module (Debian's
// python3-bpfcc installs it for /usr/bin/python3), or skips.
func needBCC(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import bcc").CombinedOutput(); err != nil {
		tk.Skip(t, "BCC's python module is not installed (Debian packages bpfcc-tools python3-bpfcc): %v %s", err, out)
	}
	return py
}

// clientRun is what the BCC and bpftrace tests share: the kh binary, the
// x86_64 test kernel's release, a script of testdata/tracing, and the
// start of a kh exec command line for that kernel's archive.
type clientRun struct {
	bin, release, script string
	exec                 []string // kh exec ... --
}

func newClientRun(t *testing.T, script string) clientRun {
	t.Helper()
	archive := filepath.Join(testkernel(t, "x86_64"), "kheaders.tar.xz")
	return clientRun{
		bin:     khBinary(t),
		release: tk.Release(t, "x86_64"),
		script:  tracingTestdata(t, script),
		exec:    []string{"exec", "--cache-dir", cacheDir(t), "--from", archive, "--"},
	}
}

// TestBCCWithKhExec runs a BCC program that includes <linux/sched.h>
// under kh exec: it compiles against the x86_64 test kernel's tree, the
// only headers on this machine that can satisfy its UTS_RELEASE check.
// Without kh the same script must fail to compile.
func TestBCCWithKhExec(t *testing.T) {
	py := needBCC(t)
	tk.NeedRoot(t)
	c := newClientRun(t, "bcc_sched.py")
	release, script := c.release, c.script

	out, errs, st := runKh(t, c.bin, nil, append(c.exec, py, script, release)...)
	if st.ExitCode() != 0 || !strings.HasPrefix(out, "COMPILED\n") {
		t.Fatalf("BCC under kh exec: exit %d\nstdout:\n%s\nstderr:\n%s", st.ExitCode(), out, errs)
	}
	t.Logf("BCC under kh exec: %s", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))

	// Without kh: no BCC_KERNEL_SOURCE, so BCC looks in /lib/modules and
	// for /sys/kernel/kheaders.tar.xz, and finds nothing (or another
	// kernel's headers, which fail the UTS_RELEASE check).
	raw, err := withoutKh(t, py, script, release).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(raw), "COMPILE FAILED") {
		t.Errorf("BCC without kh: %v\n%s", err, raw)
	}
}

// TestBpftraceWithKhExec runs a bpftrace program that includes
// <linux/sched.h> and <generated/utsrelease.h> under kh exec, in
// bpftrace's dry-run modes: -d prints the AST after parsing, where
// UTS_RELEASE has become the tree's release, and --emit-elf compiles it.
// Attaching may fail on this kernel; parsing must not. Without kh the
// parse fails (or, with other headers, gives another release).
func TestBpftraceWithKhExec(t *testing.T) {
	bpftrace := tk.NeedTool(t, "bpftrace")
	tk.NeedRoot(t)
	c := newClientRun(t, "sched.bt")
	bin, release, script := c.bin, c.release, c.script
	kx := append(c.exec, bpftrace)
	parsed := "string: " + release + " "

	out, errs, st := runKh(t, bin, nil, append(kx, "-d", script)...)
	if st.ExitCode() != 0 || !strings.Contains(out+errs, parsed) || !strings.Contains(out+errs, "(struct task_struct*)") {
		t.Fatalf("bpftrace -d under kh exec: exit %d\nstdout:\n%s\nstderr:\n%s", st.ExitCode(), out, errs)
	}
	elf := filepath.Join(t.TempDir(), "sched.o")
	out, errs, st = runKh(t, bin, nil, append(kx, "--emit-elf", elf, script)...)
	if b, err := os.ReadFile(elf); st.ExitCode() != 0 || err != nil || !bytes.HasPrefix(b, []byte("\x7fELF")) {
		t.Fatalf("bpftrace --emit-elf under kh exec: exit %d, %v\nstdout:\n%s\nstderr:\n%s", st.ExitCode(), err, out, errs)
	}

	raw, err := withoutKh(t, bpftrace, "-d", script).CombinedOutput()
	if err == nil && strings.Contains(string(raw), parsed) {
		t.Errorf("bpftrace found %s's headers without kh:\n%s", release, raw)
	}
	if err == nil {
		t.Logf("bpftrace without kh parsed the program against other headers")
	}
}
