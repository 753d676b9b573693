package toolenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/khtool/kh/kheaders"
)

func TestCommand(t *testing.T) {
	t.Setenv("BCC_KERNEL_SOURCE", "/stale")
	t.Setenv("BPFTRACE_KERNEL_BUILD", "/stale")
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/run/kh/6.1.192-abc", Kind: kheaders.KindHeaders, Release: "6.1.192", Arch: "x86"}}
	out, err := Command(context.Background(), tree, "sh", "-c", `echo "$BCC_KERNEL_SOURCE|$BPFTRACE_KERNEL_SOURCE|$BPFTRACE_KERNEL_BUILD|$KH_RELEASE|$HOME"`).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "/run/kh/6.1.192-abc|/run/kh/6.1.192-abc|/run/kh/6.1.192-abc|6.1.192|" + os.Getenv("HOME") + "\n"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// execChildEnv makes the test binary, run again, call Exec instead of
// running tests (see TestExecReplacesProcess).
const execChildEnv = "KH_TRACING_TEST_EXEC_CHILD"

// TestExecReplacesProcess runs this test binary again; the child calls
// Exec, which replaces it with sh: sh's output and exit status, and the
// child's pid, come back.
func TestExecReplacesProcess(t *testing.T) {
	if os.Getenv(execChildEnv) == "1" {
		tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/run/kh/t", Kind: kheaders.KindBTF, Release: "6.1.192", Arch: "arm64"}}
		err := Exec(tree, []string{"sh", "-c", `echo "pid=$$ kind=$KH_KIND bcc=${BCC_KERNEL_SOURCE-unset} keep=$KEEP"; exit 7`}, os.Environ())
		// Only reached if exec failed.
		os.Stderr.WriteString("Exec returned: " + err.Error() + "\n")
		os.Exit(99)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestExecReplacesProcess$")
	cmd.Env = append(os.Environ(), execChildEnv+"=1", "BCC_KERNEL_SOURCE=/stale", "KEEP=kept")
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("exit: %v, want status 7 from sh; output %q", err, out.String())
	}
	want := "pid=" + strconv.Itoa(cmd.Process.Pid) + " kind=btf bcc=unset keep=kept\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestExecErrors(t *testing.T) {
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/t", Kind: kheaders.KindHeaders}}
	if err := Exec(tree, nil, nil); err == nil {
		t.Error("Exec with no command")
	}
	if err := Exec(tree, []string{"kh-no-such-command-xyz"}, nil); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("missing command: %v", err)
	}
	dir := t.TempDir()
	if err := Exec(tree, []string{dir}, nil); err == nil {
		t.Error("Exec of a directory")
	}
}
