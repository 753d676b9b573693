package loader

import (
	"github.com/khtool/kh/doctor"
	"github.com/khtool/kh/internal/tracefs"
	"github.com/khtool/kh/kconfig"

	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/testkernel"
)

// The BPF test programs live in testdata/bpf. Tests compile them once
// with testdata/bpf/build.sh (clang, bpftool, the running kernel's BTF),
// or take precompiled objects from $KH_TEST_BPF_DIR (how a test kernel
// guest without clang runs them).

var bpfBuild struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	vmHarness.Close()
	if bpfBuild.dir != "" {
		os.RemoveAll(bpfBuild.dir)
	}
	os.Exit(code)
}

// bpfObject returns the path of testdata/bpf/NAME.bpf.c compiled, or
// skips the test when it cannot be compiled here.
func bpfObject(t testing.TB, name string) string {
	t.Helper()
	if dir := os.Getenv("KH_TEST_BPF_DIR"); dir != "" {
		p := filepath.Join(dir, name+".bpf.o")
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("KH_TEST_BPF_DIR: %v", err)
		}
		return p
	}
	bpfBuild.once.Do(func() {
		for _, tool := range []string{"clang", "bpftool", "bash"} {
			if _, err := exec.LookPath(tool); err != nil {
				bpfBuild.err = fmt.Errorf("%s not installed", tool)
				return
			}
		}
		if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
			bpfBuild.err = fmt.Errorf("no kernel BTF: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "kh-bpf-")
		if err != nil {
			bpfBuild.err = err
			return
		}
		bpfBuild.dir = dir
		out, err := exec.Command("bash", "../testdata/bpf/build.sh", dir).CombinedOutput()
		if err != nil {
			bpfBuild.err = fmt.Errorf("build.sh: %v\n%s", err, out)
		}
	})
	if bpfBuild.err != nil {
		if strings.Contains(bpfBuild.err.Error(), "build.sh") {
			t.Fatalf("cannot build the BPF test programs: %v", bpfBuild.err)
		}
		testkernel.Skip(t, "cannot build the BPF test programs: %v", bpfBuild.err)
	}
	return filepath.Join(bpfBuild.dir, name+".bpf.o")
}

// requireBPF skips the test unless this process may load tracing programs.
func requireBPF(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testkernel.Skip(t, "loading BPF programs needs root")
	}
	if err := features.HaveProgramType(ebpf.TracePoint); err != nil {
		testkernel.Skip(t, "cannot load tracepoint programs here: %v", err)
	}
}

// faccessat calls faccessat(AT_FDCWD, path, F_OK) directly, as every
// architecture has that syscall.
func faccessat(path string) {
	p, _ := unix.BytePtrFromString(path)
	dirfd := unix.AT_FDCWD
	unix.Syscall6(unix.SYS_FACCESSAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), unix.F_OK, 0, 0, 0)
}

// traceFiles is the content of tracefs's dynamic probe lists.
type traceFiles struct{ kprobes, uprobes string }

func readTraceFiles() traceFiles {
	dir, err := tracefs.FindTraceFS()
	if err != nil {
		return traceFiles{}
	}
	k, _ := os.ReadFile(dir + "/kprobe_events")
	u, _ := os.ReadFile(dir + "/uprobe_events")
	return traceFiles{string(k), string(u)}
}

// programIDs returns the IDs of the object's programs.
func programIDs(t *testing.T, obj *Object) []ebpf.ProgramID {
	t.Helper()
	var ids []ebpf.ProgramID
	for _, p := range obj.Programs() {
		if p.ID == 0 {
			t.Fatalf("program %s has no ID", p.Name)
		}
		ids = append(ids, p.ID)
	}
	return ids
}

// linksOf returns the IDs of the links that hold one of the programs.
func linksOf(t *testing.T, ids []ebpf.ProgramID) []link.ID {
	t.Helper()
	want := map[ebpf.ProgramID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []link.ID
	var it link.Iterator
	defer it.Close()
	for it.Next() {
		info, err := it.Link.Info()
		if err == nil && want[info.Program] {
			out = append(out, it.ID)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate links: %v", err)
	}
	return out
}

// assertDetached fails unless no link holds one of the programs.
func assertDetached(t *testing.T, ids []ebpf.ProgramID) {
	t.Helper()
	if l := linksOf(t, ids); len(l) > 0 {
		t.Errorf("links %v still hold programs %v", l, ids)
	}
}

// assertGone fails unless the programs are unloaded, no link holds them
// and tracefs lists the same kprobe and uprobe events as before.
func assertGone(t *testing.T, ids []ebpf.ProgramID, before traceFiles) {
	t.Helper()
	assertDetached(t, ids)
	for _, id := range ids {
		deadline := time.Now().Add(5 * time.Second)
		for {
			p, err := ebpf.NewProgramFromID(id)
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if err == nil {
				p.Close()
			}
			if time.Now().After(deadline) {
				t.Errorf("program %d is still loaded", id)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if after := readTraceFiles(); after != before {
		t.Errorf("tracefs probe events changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// programsNamed returns the IDs of loaded programs with one of names
// (truncated to the kernel's 15 characters).
func programsNamed(names ...string) map[ebpf.ProgramID]string {
	out := map[ebpf.ProgramID]string{}
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			return out
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		info, err := p.Info()
		p.Close()
		if err != nil {
			continue
		}
		for _, n := range names {
			if info.Name == n[:min(len(n), 15)] {
				out[id] = n
			}
		}
	}
}

// assertNoNewPrograms fails if programs with these names exist now that
// did not before.
func assertNoNewPrograms(t *testing.T, before map[ebpf.ProgramID]string, names ...string) {
	t.Helper()
	for id, n := range programsNamed(names...) {
		if _, ok := before[id]; !ok {
			t.Errorf("program %s (id %d) is still loaded", n, id)
		}
	}
}

// streamUntil streams obj's events to done until done returns true,
// calling trigger every 100ms. It fails the test after 20s.
func streamUntil(t *testing.T, obj *Object, opts StreamOptions, trigger func(), done func(Event) bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var finished sync.WaitGroup
	finished.Add(1)
	var streamErr error
	opts.Sink = SinkFunc(func(e Event) error {
		if done(e) {
			cancel()
		}
		return nil
	})
	go func() {
		defer finished.Done()
		streamErr = obj.Stream(ctx, opts)
	}()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			cancel()
			finished.Wait()
			t.Fatal("timed out waiting for the expected events")
		case <-tick.C:
			trigger()
		}
	}
	finished.Wait()
	if streamErr != nil {
		t.Fatalf("Stream: %v", streamErr)
	}
}

// loadAttach loads and attaches an object, failing the test on error.
func loadAttach(t *testing.T, name string, opts LoadOptions) *Object {
	t.Helper()
	obj, err := Load(context.Background(), bpfObject(t, name), opts)
	if err != nil {
		t.Fatalf("Load %s: %v", name, err)
	}
	if err := obj.Attach(context.Background()); err != nil {
		obj.Close()
		t.Fatalf("Attach %s: %v", name, err)
	}
	return obj
}

// TestRunTracepoint runs tracepoint.bpf.o through Run and sees both its
// bpf_printk line and its ring buffer record, decoded as struct event.
func TestRunTracepoint(t *testing.T) {
	path := bpfObject(t, "tracepoint")
	requireBPF(t)
	before := programsNamed("tp_faccessat")
	files := readTraceFiles()
	target := fmt.Sprintf("/kh-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	pid := os.Getpid()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var sawPrintk, sawRecord bool
	var record Event
	sink := SinkFunc(func(e Event) error {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case EventPrintk:
			if strings.Contains(e.Printk.Text, fmt.Sprintf("kh-tp faccessat tgid=%d", pid)) {
				sawPrintk = true
			}
		case EventRecord:
			if f, ok := e.Data.(Fields); ok && f.Get("path") == target {
				sawRecord, record = true, e
			}
		}
		if sawPrintk && sawRecord {
			cancel()
		}
		return nil
	})
	go func() {
		for ctx.Err() == nil {
			faccessat(target)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	err := Run(ctx, path, RunOptions{StreamOptions: StreamOptions{Sink: sink}, Duration: 20 * time.Second})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !sawPrintk || !sawRecord {
		t.Fatalf("Run ended without the events: printk %v, record %v", sawPrintk, sawRecord)
	}
	f := record.Data.(Fields)
	if record.Map != "events" || record.MapType != "ringbuf" || record.Type != "event" {
		t.Errorf("record from %s/%s decoded as %q", record.Map, record.MapType, record.Type)
	}
	if f.Get("kind") != "KH_TRACEPOINT" || f.Get("tgid") != uint64(pid) {
		t.Errorf("record %v: want kind KH_TRACEPOINT, tgid %d", f, pid)
	}
	assertNoNewPrograms(t, before, "tp_faccessat")
	if after := readTraceFiles(); after != files {
		t.Errorf("tracefs probe events changed: %+v -> %+v", files, after)
	}
}

// wantKinds returns a done function for streamUntil that waits for one
// record of each kind from this process.
func wantKinds(t *testing.T, kinds ...any) (func(Event) bool, func() map[any]Fields) {
	pid := uint64(os.Getpid())
	seen := map[any]Fields{}
	var mu sync.Mutex
	done := func(e Event) bool {
		if e.Kind != EventRecord {
			return false
		}
		f, ok := e.Data.(Fields)
		if !ok || f.Get("tgid") != pid {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		seen[f.Get("kind")] = f
		for _, k := range kinds {
			if seen[k] == nil {
				return false
			}
		}
		return true
	}
	return done, func() map[any]Fields {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// TestRunKprobe attaches kprobe, kretprobe, ksyscall and kretsyscall
// programs and sees a record from each.
func TestRunKprobe(t *testing.T) {
	bpfObject(t, "kprobe")
	requireBPF(t)
	if !kprobesAvailable() {
		t.Skip("this kernel has no kprobes (CONFIG_KPROBES); the test kernels have them")
	}
	files := readTraceFiles()
	obj := loadAttach(t, "kprobe", LoadOptions{})
	ids := programIDs(t, obj)
	done, _ := wantKinds(t, "KH_KPROBE", "KH_KRETPROBE", "KH_KSYSCALL", "KH_KRETSYSCALL")
	streamUntil(t, obj, StreamOptions{}, func() { faccessat("/kh-test-kprobe") }, done)
	if err := obj.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, ids, files)
}

// TestRunFentry attaches fentry and fexit programs, records on a perf
// event array.
func TestRunFentry(t *testing.T) {
	bpfObject(t, "fentry")
	requireBPF(t)
	if err := doctor.LiveSystem().ProbeFentry(); err != nil {
		t.Skipf("fentry does not work on this kernel: %v", err)
	}
	files := readTraceFiles()
	obj := loadAttach(t, "fentry", LoadOptions{})
	ids := programIDs(t, obj)
	done, seen := wantKinds(t, uint64(6), uint64(7))
	streamUntil(t, obj, StreamOptions{}, func() { faccessat("/kh-test-fentry") }, done)
	if ret := seen()[uint64(7)].Get("ret"); ret != int64(-int64(unix.ENOENT)) {
		t.Errorf("fexit ret = %v, want -ENOENT", ret)
	}
	if err := obj.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, ids, files)
}

// forkSomething forks and runs this test binary, running no test: a
// program every system (also a bare guest) has.
func forkSomething() {
	exec.Command(os.Args[0], "-test.run=^$").Run()
}

// TestRunBTFTracepoints attaches tp_btf and raw_tp programs on
// sched_process_fork; records go through a perf event array and are
// decoded with struct records (named like the map).
func TestRunBTFTracepoints(t *testing.T) {
	bpfObject(t, "btf")
	requireBPF(t)
	files := readTraceFiles()
	obj := loadAttach(t, "btf", LoadOptions{})
	ids := programIDs(t, obj)
	if l := linksOf(t, ids); len(l) != 2 {
		t.Errorf("found links %v for the two attached programs: the leak check would miss leaks", l)
	}
	done, seen := wantKinds(t, uint64(8), uint64(9))
	streamUntil(t, obj, StreamOptions{PerfBufferSize: 256 << 10}, forkSomething, done)
	if id, _ := seen()[uint64(8)].Get("id").(int64); id <= 0 {
		t.Errorf("tp_btf record: child pid %v, want > 0", seen()[uint64(8)].Get("id"))
	}
	if err := obj.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, ids, files)
}

// TestRunUprobe attaches a uprobe and a uretprobe to a function of
// kh-uprobe-target, found through $PATH, and runs that program.
func TestRunUprobe(t *testing.T) {
	obj := bpfObject(t, "uprobe")
	requireBPF(t)
	target := filepath.Join(filepath.Dir(obj), "kh-uprobe-target")
	if _, err := os.Stat(target); err != nil {
		t.Skipf("no uprobe target program (build.sh links it with ld.lld; Debian: lld): %v", err)
	}
	t.Setenv("PATH", filepath.Dir(target)+string(filepath.ListSeparator)+os.Getenv("PATH"))
	files := readTraceFiles()
	o := loadAttach(t, "uprobe", LoadOptions{})
	ids := programIDs(t, o)
	var mu sync.Mutex
	pids := map[uint64]bool{}
	seen := map[[2]any]bool{}
	trigger := func() {
		cmd := exec.Command(target)
		if err := cmd.Start(); err != nil {
			t.Errorf("run %s: %v", target, err)
			return
		}
		mu.Lock()
		pids[uint64(cmd.Process.Pid)] = true
		mu.Unlock()
		cmd.Wait()
	}
	streamUntil(t, o, StreamOptions{}, trigger, func(e Event) bool {
		f, ok := e.Data.(Fields)
		if !ok || f.Get("kind") != "KH_UPROBE" {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if !pids[f.Get("tgid").(uint64)] || f.Get("comm") != "kh-uprobe-targe" {
			return false
		}
		seen[[2]any{f.Get("tgid"), f.Get("ret")}] = true
		for pid := range pids {
			if seen[[2]any{pid, int64(0)}] && seen[[2]any{pid, int64(1)}] {
				return true
			}
		}
		return false
	})
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, ids, files)
}

// kconfigRecord runs kconfig.bpf.o with opts and returns its first record.
func kconfigRecord(t *testing.T, opts LoadOptions) Fields {
	t.Helper()
	obj := loadAttach(t, "kconfig", opts)
	defer obj.Close()
	var rec Fields
	streamUntil(t, obj, StreamOptions{}, func() { faccessat("/kh-test-kconfig") }, func(e Event) bool {
		if f, ok := e.Data.(Fields); ok && e.Map == "kconfig" {
			rec = f
			return true
		}
		return false
	})
	return rec
}

// TestRunKconfig checks __kconfig externs against the running kernel's
// config and against a config file given explicitly.
func TestRunKconfig(t *testing.T) {
	bpfObject(t, "kconfig")
	requireBPF(t)

	t.Run("running", func(t *testing.T) {
		running, err := kconfig.Running(context.Background(), kconfig.Options{})
		if err != nil {
			t.Skipf("no kernel config: %v", err)
		}
		cfg := running.Map()
		var u unix.Utsname
		unix.Uname(&u)
		rec := kconfigRecord(t, LoadOptions{})
		if got, want := fmt.Sprint(rec.Get("hz")), cfg["CONFIG_HZ"]; got != want {
			t.Errorf("CONFIG_HZ = %s, want %s", got, want)
		}
		if got, want := rec.Get("version"), uint64(kernelVersionCode(unix.ByteSliceToString(u.Release[:]))); got != want {
			t.Errorf("LINUX_KERNEL_VERSION = %v, want %v", got, want)
		}
		if rec.Get("bpf_syscall") != uint64(1) || rec.Get("missing") != int64(0) {
			t.Errorf("record %v: want bpf_syscall=1 missing=0", rec)
		}
		if got, want := rec.Get("hostname"), strings.Trim(cfg["CONFIG_DEFAULT_HOSTNAME"], `"`); got != want {
			t.Errorf("CONFIG_DEFAULT_HOSTNAME = %q, want %q", got, want)
		}
	})

	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config")
		os.WriteFile(path, []byte("CONFIG_HZ=321\nCONFIG_BPF_SYSCALL=m\n# CONFIG_BPF_JIT is not set\nCONFIG_DEFAULT_HOSTNAME=\"kh-test\"\n"), 0o644)
		rec := kconfigRecord(t, LoadOptions{KConfig: path})
		want := map[string]any{"hz": int64(321), "bpf_syscall": uint64(2), "jit": uint64(0), "missing": int64(0), "hostname": "kh-test"}
		for k, v := range want {
			if rec.Get(k) != v {
				t.Errorf("%s = %#v, want %#v (record %v)", k, rec.Get(k), v, rec)
			}
		}
	})

	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config")
		os.WriteFile(path, []byte("CONFIG_BPF_SYSCALL=y\n"), 0o644)
		_, err := Load(context.Background(), bpfObject(t, "kconfig"), LoadOptions{KConfig: path})
		if err == nil || !strings.Contains(err.Error(), "CONFIG_HZ") || !strings.Contains(err.Error(), "not set") {
			t.Fatalf("Load with a config without CONFIG_HZ: %v, want an error about CONFIG_HZ", err)
		}
	})
}

// TestRunVerifierRejected loads a program the verifier rejects.
func TestRunVerifierRejected(t *testing.T) {
	path := bpfObject(t, "verifier")
	requireBPF(t)
	before := programsNamed("good", "bad_deref")
	var log bytes.Buffer
	_, err := Load(context.Background(), path, LoadOptions{VerifierLog: &log})
	var re *RejectedError
	if !errors.As(err, &re) {
		t.Fatalf("Load: %v, want a RejectedError", err)
	}
	if re.Program != "bad_deref" || re.Section != "tracepoint/syscalls/sys_enter_faccessat" {
		t.Errorf("rejected program %s (%s), want bad_deref", re.Program, re.Section)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "bad_deref") || !strings.Contains(msg, "invalid mem access") {
		t.Errorf("error %q: want one line naming bad_deref and the verifier's reason", msg)
	}
	if !strings.Contains(log.String(), "processed ") || !strings.Contains(log.String(), "bad_deref") {
		t.Errorf("verifier log writer got %q, want the full log", log.String())
	}
	assertNoNewPrograms(t, before, "good", "bad_deref")
}

// TestRunUnknownSection fails before loading anything (no root needed).
func TestRunUnknownSection(t *testing.T) {
	path := bpfObject(t, "badsection")
	_, err := Load(context.Background(), path, LoadOptions{})
	var ue *UnknownSectionError
	if !errors.As(err, &ue) {
		t.Fatalf("Load: %v, want an UnknownSectionError", err)
	}
	if ue.Program != "odd" || ue.Section != "kh_nonsense/foo" {
		t.Errorf("got program %q section %q", ue.Program, ue.Section)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, `"kh_nonsense/foo"`) {
		t.Errorf("error %q: want one line naming the section", msg)
	}
	err = Run(context.Background(), path, RunOptions{StreamOptions: StreamOptions{Sink: TextSink(&bytes.Buffer{})}})
	if !errors.As(err, &ue) {
		t.Errorf("Run: %v, want an UnknownSectionError", err)
	}
}

// TestRunPartialAttach attaches three programs, fails on the fourth, and
// checks that the three were detached.
func TestRunPartialAttach(t *testing.T) {
	path := bpfObject(t, "partial")
	requireBPF(t)
	files := readTraceFiles()
	obj, err := Load(context.Background(), path, LoadOptions{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ids := programIDs(t, obj)
	if len(ids) != 4 {
		t.Fatalf("%d programs, want 4", len(ids))
	}
	err = obj.Attach(context.Background())
	if err == nil || !strings.Contains(err.Error(), "d_missing") {
		obj.Close()
		t.Fatalf("Attach: %v, want an error naming d_missing", err)
	}
	assertDetached(t, ids) // the three that attached were detached
	if err := obj.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, ids, files)
}

// TestRunBadObject covers files that are not BPF objects.
func TestRunBadObject(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.bpf.o")
	os.WriteFile(junk, []byte("not an ELF file"), 0o644)
	empty := filepath.Join(dir, "empty.bpf.o")
	os.WriteFile(empty, nil, 0o644)
	for _, p := range []string{junk, empty, filepath.Join(dir, "missing.bpf.o"), dir} {
		_, err := Load(context.Background(), p, LoadOptions{})
		if err == nil {
			t.Errorf("Load %s: no error", p)
			continue
		}
		if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), filepath.Base(p)) {
			t.Errorf("Load %s: %q: want one line naming the file", p, err)
		}
	}
}
