package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	tk "github.com/khtool/kh/internal/testkernel"
)

// bpfObj returns testdata/bpf/NAME.bpf.c compiled by build.sh into the
// test's temporary directory (or taken from $KH_TEST_BPF_DIR), skipping
// when clang, bpftool or the kernel's BTF are missing.
func bpfObj(t *testing.T, name string) string {
	t.Helper()
	if dir := os.Getenv("KH_TEST_BPF_DIR"); dir != "" {
		return filepath.Join(dir, name+".bpf.o")
	}
	for _, tool := range []string{"clang", "bpftool", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			tk.Skip(t, "cannot build the BPF test programs: %s not installed", tool)
		}
	}
	const btf = "/sys/kernel/btf/vmlinux"
	if _, err := os.Stat(btf); err != nil {
		tk.Skip(t, "cannot build the BPF test programs: %v", err)
	}
	dir := t.TempDir()
	if out, err := exec.Command("bash", "../../testdata/bpf/build.sh", dir, btf, name).CombinedOutput(); err != nil {
		t.Fatalf("build.sh %s: %v\n%s", name, err, out)
	}
	return filepath.Join(dir, name+".bpf.o")
}

func requireRootBPF(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		tk.Skip(t, "loading BPF programs needs root")
	}
	if err := features.HaveProgramType(ebpf.TracePoint); err != nil {
		tk.Skip(t, "cannot load tracepoint programs: %v", err)
	}
}

// oneLineErr checks that stderr is exactly one "kh: ..." line containing want.
func oneLineErr(t *testing.T, stderr string, want ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "kh: ") {
		t.Errorf("stderr %q: want one kh: line", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q lacks %q", stderr, w)
		}
	}
}

func TestRunCLIUsage(t *testing.T) {
	for _, args := range [][]string{
		{"run"},
		{"run", "a.o", "b.o"},
		{"run", "-o", "xml", "a.o"},
		{"run", "--record", "nosep", "a.o"},
		{"run", "--duration", "-1s", "a.o"},
		{"run", "--duration", "soon", "a.o"},
	} {
		if _, _, code := kh(t, args...); code != exitUsage {
			t.Errorf("kh %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestRunCLIErrors(t *testing.T) {
	dir := t.TempDir()
	_, errs, code := kh(t, "run", filepath.Join(dir, "missing.bpf.o"))
	if code != exitFailure {
		t.Errorf("missing object: exit %d", code)
	}
	oneLineErr(t, errs, "missing.bpf.o", "no such file")

	junk := filepath.Join(dir, "junk.bpf.o")
	os.WriteFile(junk, []byte("\x7fELF junk"), 0o644)
	_, errs, code = kh(t, "run", junk)
	if code != exitFailure {
		t.Errorf("broken object: exit %d", code)
	}
	oneLineErr(t, errs, "junk.bpf.o")

	_, errs, code = kh(t, "run", bpfObj(t, "badsection"))
	if code != exitFailure {
		t.Errorf("unknown section: exit %d", code)
	}
	oneLineErr(t, errs, `"kh_nonsense/foo"`, "program odd")
}

func TestRunCLIVerifier(t *testing.T) {
	obj := bpfObj(t, "verifier")
	requireRootBPF(t)
	_, errs, code := kh(t, "run", obj)
	if code != exitFailure {
		t.Errorf("exit %d", code)
	}
	oneLineErr(t, errs, "bad_deref", "rejected by the verifier", "invalid mem access", "kh -v run")
	_, errs, code = kh(t, "-v", "run", obj)
	if code != exitFailure || !strings.Contains(errs, "verifier log of program bad_deref") || !strings.Contains(errs, "processed ") {
		t.Errorf("-v: exit %d, stderr %q: want the full verifier log", code, errs)
	}
}

func TestRunCLITracepoint(t *testing.T) {
	obj := bpfObj(t, "tracepoint")
	requireRootBPF(t)
	target := fmt.Sprintf("/kh-cli-test-%d", time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		p, _ := unix.BytePtrFromString(target)
		dirfd := unix.AT_FDCWD
		for ctx.Err() == nil {
			unix.Syscall6(unix.SYS_FACCESSAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), unix.F_OK, 0, 0, 0)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"run", "-o", "json", "--duration", "3s", obj}, testSystem(nil, &out, &errb))
	cancel()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var sawRecord, sawPrintk bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		switch e["kind"] {
		case "record":
			if d, ok := e["data"].(map[string]any); ok && d["path"] == target {
				sawRecord = true
			}
		case "printk":
			if strings.HasPrefix(fmt.Sprint(e["text"]), "kh-tp faccessat tgid=") {
				sawPrintk = true
			}
		}
	}
	if !sawRecord || !sawPrintk {
		t.Errorf("record %v, printk %v in:\n%s", sawRecord, sawPrintk, out.String())
	}
}

// TestRunCLINotes is issue 14 items 6 and 10 for kh run: it says on
// stderr what it attached and how to stop; records whose struct is only
// used through a local pointer print as hex with a warning that says why
// and how to fix it; a --record naming no ring buffer or perf event array
// of the object is a usage error before anything is attached; -q
// silences the notes. runRun is called directly with injected streams.
func TestRunCLINotes(t *testing.T) {
	obj := bpfObj(t, "hexrec")
	requireRootBPF(t)
	var out, errb bytes.Buffer
	a := &app{system: testSystem(nil, &out, &errb)}
	err := a.runRun(context.Background(), &runOptions{object: obj, output: "text", duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	errs := errb.String()
	for _, want := range []string{
		"kh: attached 1 program(s): tracepoint/syscalls/sys_enter_faccessat (tp_sample); printing their output for 500ms (Ctrl-C stops sooner)\n",
		"records of map samples print as hex",
		"not of a local pointer",
		"--record samples=TYPE",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}

	errb.Reset()
	err = a.runRun(context.Background(), &runOptions{object: obj, output: "text", duration: time.Second, records: []string{"nosuchmap=event"}})
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `"nosuchmap"`) || !strings.Contains(err.Error(), "it has: samples") || strings.Contains(errb.String(), "attached") {
		t.Errorf("--record nosuchmap: %v; stderr %q", err, errb.String())
	}

	errb.Reset()
	q := &app{system: testSystem(nil, &out, &errb), quiet: true}
	if err := q.runRun(context.Background(), &runOptions{object: obj, output: "text", duration: 200 * time.Millisecond}); err != nil || errb.Len() != 0 {
		t.Errorf("-q: %v, stderr %q", err, errb.String())
	}
}
