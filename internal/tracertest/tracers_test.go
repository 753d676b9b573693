package tracertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/internal/vmtest"
)

// The Debian root the tracing tools run from inside the guest: /usr comes
// read-only over 9p, the rest is built in the initramfs under sysroot.
const (
	sysroot   = "/sysroot"
	usrTag    = "usr"
	khInRoot  = "/opt/kh/bin/kh"
	rootPATH  = "PATH=/opt/kh/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	markerDir = "/etc/kh-marker"
)

// tracingRoot is a booted guest with a Debian root for BCC and bpftrace
// at sysroot.
type tracingRoot struct {
	vm  *vmtest.VM
	k   *vmtest.Kernel
	usr string // host directory shared as the root's /usr
}

// multiarch is the Debian multiarch tuple of a guest architecture.
func multiarch(a vmtest.Arch) string {
	if a == vmtest.ARM64 {
		return "aarch64-linux-gnu"
	}
	return "x86_64-linux-gnu"
}

// hostUsr returns the host's /usr when it holds BCC and bpftrace for the
// guest's architecture (the host's own), skipping the test otherwise.
func hostUsr(t *testing.T, k *vmtest.Kernel) string {
	t.Helper()
	if k.Arch != vmtest.X86_64 || hostArch() != "x86_64" {
		testkernel.Skip(t, "the host's /usr is not for %s", k.Arch)
	}
	for _, f := range []string{"/usr/sbin/opensnoop-bpfcc", "/usr/bin/bpftrace", "/usr/bin/python3", "/usr/lib/python3/dist-packages/bcc/__init__.py"} {
		if _, err := os.Stat(f); err != nil {
			testkernel.Skip(t, "%s: BCC and bpftrace are not installed (Debian: bpfcc-tools python3-bpfcc bpftrace)", f)
		}
	}
	return "/usr"
}

func hostArch() string {
	out, err := exec.Command("uname", "-m").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// bootTracingRoot boots k with usr as the /usr of a root at sysroot that
// holds kh, the kernel's kheaders.ko (on disk, not loaded) and nothing
// else of the kernel's: no /lib/modules/R/build, no headers package. It
// mounts proc, sysfs, devtmpfs, tracefs, debugfs and a tmpfs /tmp inside
// the root.
func bootTracingRoot(t *testing.T, k *vmtest.Kernel, usr string, extra ...vmtest.File) *tracingRoot {
	t.Helper()
	kh, err := harness.Build(t.Context(), "./cmd/kh", k.Arch)
	if err != nil {
		t.Fatal(err)
	}
	ma := multiarch(k.Arch)
	files := []vmtest.File{
		{Path: sysroot + "/bin", Symlink: "usr/bin"},
		{Path: sysroot + "/sbin", Symlink: "usr/sbin"},
		{Path: sysroot + "/lib/" + ma, Symlink: "../usr/lib/" + ma},
		{Path: sysroot + khInRoot, HostPath: kh, Mode: 0o755},
		{Path: sysroot + "/etc/hostname", Data: []byte("guest\n")},
		{Path: sysroot + markerDir + "/opened", Data: []byte("kh\n")},
		{Path: sysroot + "/run", Dir: true},
		{Path: sysroot + "/root", Dir: true, Mode: 0o700},
		{Path: sysroot + k.KheadersModulePath(), HostPath: k.File("kheaders.ko")},
	}
	if k.Arch == vmtest.X86_64 {
		files = append(files, vmtest.File{Path: sysroot + "/lib64", Symlink: "usr/lib64"})
	} else {
		files = append(files, vmtest.File{Path: sysroot + "/lib/ld-linux-aarch64.so.1", Symlink: ma + "/ld-linux-aarch64.so.1"})
	}
	files = append(files, extra...)
	vm := harness.Boot(t, vmtest.Config{
		Kernel:   k,
		Files:    files,
		MemoryMB: tracingMemoryMB,
		Shares:   []vmtest.Share{{Tag: usrTag, HostPath: usr, ReadOnly: true}},
	})
	start := time.Now()
	vm.Mount(t, usrTag, sysroot+"/usr", "9p", "trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144")
	vm.Mount(t, "proc", sysroot+"/proc", "proc", "")
	vm.Mount(t, "sysfs", sysroot+"/sys", "sysfs", "")
	vm.Mount(t, "devtmpfs", sysroot+"/dev", "devtmpfs", "")
	vm.Mount(t, "tracefs", sysroot+"/sys/kernel/tracing", "tracefs", "")
	vm.Mount(t, "debugfs", sysroot+"/sys/kernel/debug", "debugfs", "")
	vm.Mount(t, "tmpfs", sysroot+"/tmp", "tmpfs", "mode=1777")
	t.Logf("%s %s: root mounted in %v", k.Arch, k.Release, time.Since(start).Round(time.Millisecond))
	return &tracingRoot{vm: vm, k: k, usr: usr}
}

// cmd is a command run inside the root.
func (r *tracingRoot) cmd(timeout time.Duration, args ...string) vmtest.Command {
	return vmtest.Command{
		Args:    append([]string{"vmtest", "chroot", sysroot}, args...),
		Env:     []string{rootPATH, "HOME=/root", "TERM=dumb", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"},
		Timeout: timeout,
	}
}

// run runs args inside the root and logs how it went.
func (r *tracingRoot) run(t *testing.T, timeout time.Duration, args ...string) *vmtest.Result {
	t.Helper()
	res := r.vm.RunCommand(t, r.cmd(timeout, args...))
	t.Logf("%s %s: %s", r.k.Arch, r.k.Release, res)
	return res
}

// watchResult is what vmtest watch measured.
type watchResult struct {
	*vmtest.Result
	// Ready, Event and Exit are seconds of the guest's clock from the
	// start, -1 if not reached (the guest clock can lag the host's
	// under emulation: Wall is the host's time for the whole step).
	Ready, Event, Exit float64
	Status             string
	Interrupts         int
	Wall               time.Duration
}

var watchLine = regexp.MustCompile(`(?m)^watch: ready=(\S+) event=(\S+) exit=(\S+) status=(\S+) interrupts=(\d+)$`)

// watch runs tool (argv inside the root) with vmtest watch: once its
// stdout has a line containing ready, trigger runs every second inside
// the root until a line contains want; then the tool gets SIGINT.
func (r *tracingRoot) watch(t *testing.T, ready, want string, timeout time.Duration, tool []string, trigger ...string) *watchResult {
	t.Helper()
	args := []string{"vmtest", "watch", "-ready", ready, "-want", want, "-timeout", fmt.Sprint(timeout.Seconds()), "--",
		"vmtest", "chroot", sysroot}
	args = append(args, tool...)
	if len(trigger) > 0 {
		args = append(append(args, "--trigger", "vmtest", "chroot", sysroot), trigger...)
	}
	c := r.cmd(timeout+time.Minute, "unused")
	c.Args = args
	start := time.Now()
	res := r.vm.RunCommand(t, c)
	w := &watchResult{Result: res, Ready: -1, Event: -1, Exit: -1, Wall: time.Since(start)}
	if m := watchLine.FindStringSubmatch(string(res.Stderr)); m != nil {
		w.Ready, _ = strconv.ParseFloat(m[1], 64)
		w.Event, _ = strconv.ParseFloat(m[2], 64)
		w.Exit, _ = strconv.ParseFloat(m[3], 64)
		w.Status = m[4]
		w.Interrupts, _ = strconv.Atoi(m[5])
	}
	t.Logf("%s %s: %s: ready after %.1fs, event %q after %.1fs, stopped after %.1fs (status %s, %d SIGINT) (guest clock); host: %v\nstdout:\n%s\nstderr:\n%s",
		r.k.Arch, r.k.Release, path.Base(tool[len(tool)-1]), w.Ready, want, w.Event, w.Exit, w.Status, w.Interrupts, w.Wall.Round(100*time.Millisecond),
		tail(string(res.Stdout), 1500), tail(string(res.Stderr), 3000))
	return w
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// tracingMemoryMB is the guest RAM for the tracing tools: LLVM and the
// unpacked headers need more than the default 512 MB (see
// TestTracersInGuests).
const tracingMemoryMB = 1536

// The bpftrace scripts of TestTracersInGuests.
const (
	// vfsOpenHeaders reads a struct field through kernel headers.
	vfsOpenHeaders = `#include <linux/fs.h>
#include <linux/path.h>
#include <linux/dcache.h>
kprobe:vfs_open { $p = (struct path *)arg0; printf("vfs_open %s\n", str($p->dentry->d_name.name)); }
`
	// vfsOpenBTF is the same with the types from BTF alone.
	vfsOpenBTF = `kprobe:vfs_open { $p = (struct path *)arg0; printf("vfs_open %s\n", str($p->dentry->d_name.name)); }
`
	// openat2Sched is the first try's script: <linux/sched.h> and
	// <linux/fs.h>, a kprobe on do_sys_openat2.
	openat2Sched = `#include <linux/sched.h>
#include <linux/fs.h>
kprobe:do_sys_openat2 { printf("openat2 %s by %s\n", str(uptr(arg1)), ((struct task_struct *)curtask)->comm); }
`
)

// other returns the other test kernel generation, whose headers are the
// wrong tree for v.
func other(v vmtest.Version) vmtest.Version {
	if v == vmtest.V6_1 {
		return vmtest.V6_12
	}
	return vmtest.V6_1
}

// TestTracersInGuests is the kheaders RFC's promise, literally: Debian's
// BCC and bpftrace run inside the freshly booted test kernels with kh as
// the only source of headers. The guest has the kernel's kheaders.ko on
// disk (not loaded), no /lib/modules/R/build and no headers package; the
// tools come from a Debian root (the host's /usr, read-only over 9p) that
// the test chroots into. Each tool compiles against the tree kh unpacks,
// loads, attaches and reports an event the test triggers with a known
// value; then it gets SIGINT and must exit cleanly. The same tools
// without kh are the "before".
func TestTracersInGuests(t *testing.T) {
	for _, v := range vmtest.Versions() {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			k := vmtest.KernelVersionFor(t, vmtest.X86_64, v)
			wrong := vmtest.KernelVersionFor(t, vmtest.X86_64, other(v))
			r := bootTracingRoot(t, k, hostUsr(t, k),
				vmtest.File{Path: sysroot + "/root/wrong-kheaders.tar.xz", HostPath: wrong.File("kheaders.tar.xz")},
				vmtest.File{Path: sysroot + "/root/vfs_open.bt", Data: []byte(vfsOpenHeaders)},
				vmtest.File{Path: sysroot + "/root/vfs_open_btf.bt", Data: []byte(vfsOpenBTF)},
				vmtest.File{Path: sysroot + markerDir + "/opened", Data: []byte("kh\n")},
				vmtest.File{Path: sysroot + markerDir + "/late", Data: []byte("kh\n")},
			)
			r.vm.Run(t, "vmtest", "ifup").OK(t)
			t.Logf("%s: clocksource %s", k.Release, strings.TrimSpace(string(r.vm.ReadFile(t, "/sys/devices/system/clocksource/clocksource0/current_clocksource"))))
			r.checkRoot(t)
			t.Run("before", r.before)
			t.Run("bcc", r.bcc)
			t.Run("bpftrace", r.bpftrace)
			t.Run("wrong-tree", func(t *testing.T) { r.wrongTree(t, wrong) })
			if v == vmtest.V6_12 {
				t.Run("opensnoop-duration", r.opensnoopDuration)
			}
			if allTracers() {
				t.Run("bcc-own-extraction", r.bccOwnExtraction)
			}
		})
	}
}

// allTracers reports whether KH_TRACERS_ALL=1 asks TestTracersInGuests
// to run every BCC tool on every kernel, and BCC's own extraction: more
// than CI's time budget, which gets a subset that covers each attach
// type and each kernel.
func allTracers() bool { return os.Getenv("KH_TRACERS_ALL") == "1" }

// checkRoot checks the premise: no headers anywhere but in kheaders.ko.
func (r *tracingRoot) checkRoot(t *testing.T) {
	for _, p := range []string{
		sysroot + r.k.ModuleDir() + "/build", sysroot + r.k.ModuleDir() + "/source", sysroot + "/usr/src/linux-headers-" + r.k.Release,
		sysroot + r.k.ModuleDir() + "/modules.dep", "/sys/kernel/kheaders.tar.xz",
	} {
		if r.vm.Stat(t, p).Exists {
			t.Errorf("%s exists in the guest", p)
		}
	}
	if st := r.vm.Stat(t, sysroot+r.k.KheadersModulePath()); !st.Exists {
		t.Errorf("%s is missing", r.k.KheadersModulePath())
	}
}

// before runs the tools without kh in the same guest.
func (r *tracingRoot) before(t *testing.T) {
	// BCC looks for /lib/modules/R/build, then runs `modprobe kheaders`
	// (to unpack it with tar and xz into /tmp): kheaders.ko is on disk
	// but, as on Android, not in an index modprobe reads.
	res := r.run(t, 2*time.Minute, "opensnoop-bpfcc")
	out := string(res.Stdout) + string(res.Stderr)
	for _, want := range []string{"Unable to find kernel headers", "modprobe: FATAL: Module kheaders not found", "Failed to compile BPF module"} {
		if res.ExitCode == 0 || !strings.Contains(out, want) {
			t.Errorf("opensnoop-bpfcc without kh: want a failure with %q, got %s\n%s", want, res, out)
		}
	}
	t.Logf("BEFORE %s: opensnoop-bpfcc without kh: exit %d after %v:\n%s", r.k.Release, res.ExitCode, res.Elapsed.Round(100*time.Millisecond), tail(out, 1500))
	if r.vm.Stat(t, "/sys/kernel/kheaders.tar.xz").Exists {
		t.Error("BCC loaded kheaders")
	}

	// bpftrace 0.17 does not extract kheaders at all; it finds the
	// C library's UAPI copy of <linux/fs.h> and no <linux/path.h>.
	res = r.run(t, 2*time.Minute, "bpftrace", "/root/vfs_open.bt")
	out = string(res.Stdout) + string(res.Stderr)
	if res.ExitCode == 0 || !strings.Contains(out, "'linux/path.h' file not found") {
		t.Errorf("bpftrace without kh: want \"'linux/path.h' file not found\" and a failure, got %s", res)
	}
	t.Logf("BEFORE %s: bpftrace vfs_open.bt without kh: exit %d after %v:\n%s", r.k.Release, res.ExitCode, res.Elapsed.Round(100*time.Millisecond), tail(out, 1500))
}

// bcc runs BCC tools of different attach types through kh exec.
func (r *tracingRoot) bcc(t *testing.T) {
	res := r.run(t, 2*time.Minute, "kh", "exec", "-v", "--", "sh", "-c", `echo "$BCC_KERNEL_SOURCE"`).OK(t)
	src := strings.TrimSpace(string(res.Stdout))
	if !strings.HasPrefix(src, "/run/kh/"+r.k.Release+"-") || !strings.Contains(string(res.Stderr), "source=module path="+r.k.KheadersModulePath()) {
		t.Errorf("kh exec: BCC_KERNEL_SOURCE=%q, stderr %s", src, res.Stderr)
	}
	if r.vm.Stat(t, "/sys/kernel/kheaders.tar.xz").Exists {
		t.Error("kh loaded kheaders")
	}
	tools := []struct {
		name, attach string
		ready, want  string
		trigger      []string
		// on lists the kernels that run the tool in CI (all of them
		// with KH_TRACERS_ALL=1, but where skip612 says why not).
		on      []vmtest.Version
		skip612 string
	}{
		{name: "opensnoop-bpfcc", attach: "fentry (kfunc) on the open syscalls", ready: "PID", want: markerDir + "/opened",
			trigger: []string{"cat", markerDir + "/opened"}, on: []vmtest.Version{vmtest.V6_1}}, // 6.12: opensnoopDuration
		{name: "execsnoop-bpfcc", attach: "kprobe+kretprobe on execve; <linux/sched.h> <linux/fs.h>", ready: "PCOMM", want: "/usr/bin/true kh-exec-marker",
			trigger: []string{"sh", "-c", "exec true kh-exec-marker"}, on: []vmtest.Version{vmtest.V6_1, vmtest.V6_12}},
		{name: "exitsnoop-bpfcc", attach: "tracepoint sched:sched_process_exit; <linux/sched.h>", ready: "PCOMM", want: "code 7",
			trigger: []string{"sh", "-c", "exit 7"}, on: []vmtest.Version{vmtest.V6_12}},
		{name: "tcpconnect-bpfcc", attach: "kprobe+kretprobe on tcp_v4_connect; <net/sock.h> and what it includes", ready: "PID", want: "4242",
			trigger: []string{"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/4242 || true"}, on: []vmtest.Version{vmtest.V6_1},
			skip612: "BCC 0.26 cannot compile <net/sock.h> of Linux >= 6.4: TestTracerHeaderCompat"},
	}
	for _, tool := range tools {
		if r.k.Version == vmtest.V6_12 && tool.skip612 != "" {
			t.Logf("%s does not run on %s: %s", tool.name, r.k.Release, tool.skip612)
			continue
		}
		if !allTracers() && !slices.Contains(tool.on, r.k.Version) {
			t.Logf("CI runs %s on %v only (KH_TRACERS_ALL=1 runs it on %s too)", tool.name, tool.on, r.k.Release)
			continue
		}
		t.Run(tool.name, func(t *testing.T) {
			w := r.watch(t, tool.ready, tool.want, 4*time.Minute, []string{"kh", "exec", "--", tool.name}, tool.trigger...)
			if w.Event < 0 || w.Status != "0" || w.Ready < 0 {
				t.Fatalf("%s did not report %q and exit 0 on SIGINT: %s", tool.name, tool.want, w.Result)
			}
			t.Logf("RESULT %s %s kh exec -- %s (%s): ready (compiled, loaded, attached) at %.1fs, event %q at %.1fs, exit 0 on SIGINT (%d) at %.1fs of the guest clock; %v host time",
				r.k.Release, r.k.Arch, tool.name, tool.attach, w.Ready, tool.want, w.Event, w.Interrupts, w.Exit, w.Wall.Round(100*time.Millisecond))
		})
	}
}

// bpftrace runs a bpftrace script that includes kernel headers through kh
// exec, and one that takes its types from BTF alone.
func (r *tracingRoot) bpftrace(t *testing.T) {
	for _, s := range []struct {
		name, script string
		khExec       bool
	}{{"headers", "/root/vfs_open.bt", true}, {"btf", "/root/vfs_open_btf.bt", false}} {
		t.Run(s.name, func(t *testing.T) {
			argv := []string{"bpftrace", s.script}
			if s.khExec {
				argv = append([]string{"kh", "exec", "--"}, argv...)
			}
			const want = "vfs_open opened"
			w := r.watch(t, "Attaching", want, 3*time.Minute, argv, "cat", markerDir+"/opened")
			if w.Event < 0 || w.Status != "0" {
				t.Fatalf("bpftrace %s did not print %q and exit 0 on SIGINT: %s", s.script, want, w.Result)
			}
			t.Logf("RESULT %s %s %s: attached at %.1fs, %q at %.1fs, exit 0 on SIGINT (%d) at %.1fs of the guest clock; %v host time",
				r.k.Release, r.k.Arch, strings.Join(argv, " "), w.Ready, want, w.Event, w.Interrupts, w.Exit, w.Wall.Round(100*time.Millisecond))
		})
	}
}

// wrongTree gives kh exec the other test kernel's headers: kh warns
// before the tool runs, and still runs it.
func (r *tracingRoot) wrongTree(t *testing.T, wrong *vmtest.Kernel) {
	res := r.run(t, 2*time.Minute, "kh", "exec", "--from", "/root/wrong-kheaders.tar.xz", "--",
		"sh", "-c", `echo "tool ran with BCC_KERNEL_SOURCE=$BCC_KERNEL_SOURCE" >&2`).OK(t)
	stderr := string(res.Stderr)
	warn := fmt.Sprintf("the tree is for kernel %s, not the running %s", wrong.Release, r.k.Release)
	wi, ti := strings.Index(stderr, warn), strings.Index(stderr, "tool ran with BCC_KERNEL_SOURCE=/run/kh/"+wrong.Release+"-")
	if wi < 0 || ti < 0 || wi > ti {
		t.Errorf("want kh's warning %q before the tool's line, got:\n%s", warn, stderr)
	}
	t.Logf("RESULT %s wrong tree: %s", r.k.Release, strings.TrimSpace(stderr))
}

// bccOwnExtraction is BCC's own kheaders path at its best, for
// comparison: with the module indexed (depmod), BCC runs modprobe, tar
// and xz itself and unpacks into /tmp/kheaders-R.
func (r *tracingRoot) bccOwnExtraction(t *testing.T) {
	r.run(t, 2*time.Minute, "depmod", r.k.Release).OK(t)
	defer r.vm.Remove(t, sysroot+r.k.ModuleDir()+"/modules.dep")
	w := r.watch(t, "PID", markerDir+"/opened", 4*time.Minute, []string{"opensnoop-bpfcc"}, "cat", markerDir+"/opened")
	if w.Event < 0 || w.Status != "0" {
		t.Fatalf("opensnoop-bpfcc with BCC's own extraction: %s", w.Result)
	}
	if st := r.vm.Stat(t, sysroot+"/tmp/kheaders-"+r.k.Release); !st.Exists {
		t.Errorf("BCC did not unpack into /tmp/kheaders-%s", r.k.Release)
	}
	loaded := r.vm.Stat(t, "/sys/kernel/kheaders.tar.xz").Exists
	t.Logf("BEFORE %s: with depmod run, BCC itself runs modprobe kheaders, tar -xf (xz) into /tmp/kheaders-%s and rmmod (module still loaded: %v): opensnoop-bpfcc ready at %.1fs of the guest clock, %v host time",
		r.k.Release, r.k.Release, loaded, w.Ready, w.Wall.Round(100*time.Millisecond))
}

// opensnoopDuration is why the first try's `kh exec -- opensnoop-bpfcc
// -d 40` never ended: opensnoop checks -d only after perf_buffer_poll()
// returns, which it does only for an event, and an idle guest opens
// nothing. Started with -d 5, it is still running 25 s after it is ready
// (the shell waits with builtins, which open nothing, and one sleep),
// and ends at the next open (the shell's 2>/dev/null, or cat).
func (r *tracingRoot) opensnoopDuration(t *testing.T) {
	script := `out=/tmp/opensnoop.out
kh exec -- opensnoop-bpfcc -d 5 >$out 2>&1 & p=$!
until [ -s $out ]; do kill -0 $p || { cat $out; exit 3; }; sleep 0.5; done
echo READY
sleep 25
kill -0 $p && echo "RUNNING 25s after ready"
while kill -0 $p 2>/dev/null; do cat ` + markerDir + `/late >/dev/null; sleep 1; done
wait $p; echo "EXIT $?"
cat $out
`
	res := r.run(t, 4*time.Minute, "sh", "-c", script)
	out := string(res.Stdout)
	if res.Err() != nil || !strings.Contains(out, "READY\nRUNNING 25s after ready\nEXIT 0\nPID ") || !regexp.MustCompile(`(?m)^\d+\s+(sh|cat)\s`).MatchString(out) {
		t.Errorf("opensnoop-bpfcc -d 5: want it still running 25 s after ready, then an open by the shell or cat and exit 0: %s\n%s", res, out)
	}
	t.Logf("RESULT %s %s kh exec -- opensnoop-bpfcc -d 5 (fentry): still running 25 s after ready, ended by itself at the next open; %v of the guest clock in all",
		r.k.Release, r.k.Arch, res.Elapsed.Round(100*time.Millisecond))
}

// TestTracerHeaderCompat shows, on the host, the two incompatibilities
// between Debian 12's tools and Linux 6.12's headers that keep
// TestTracersInGuests from running them there; they are the tools', not
// the tree's: the same files compile with clang 14 and kh cflags. The
// 6.1 tree is the control.
//
//   - BCC 0.26 replaces the UAPI <linux/bpf.h> with its own copy (Linux
//     6.0's), so <net/sock.h> of Linux >= 6.4, whose bpf.h uses the newer
//     struct bpf_rb_root and friends, does not compile: tcpconnect,
//     tcplife and every tool including <net/sock.h> fail.
//   - bpftrace 0.17 cannot parse Linux 6.12's <linux/sched.h> (unknown
//     type name '__aligned_u64', undeclared 'true'), with either
//     kernel's BTF.
func TestTracerHeaderCompat(t *testing.T) {
	if os.Geteuid() != 0 {
		testkernel.Skip(t, "BCC and bpftrace need root")
	}
	for _, tool := range []string{"tcpconnect-bpfcc", "bpftrace"} {
		if _, err := exec.LookPath(tool); err != nil {
			testkernel.Skip(t, "%s not installed (Debian: bpfcc-tools python3-bpfcc bpftrace)", tool)
		}
	}
	if hostArch() != "x86_64" {
		testkernel.Skip(t, "the host is not x86_64")
	}
	kh, err := harness.Build(t.Context(), "./cmd/kh", vmtest.X86_64)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "openat2_sched.bt")
	if err := os.WriteFile(script, []byte(openat2Sched), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	for _, v := range vmtest.Versions() {
		t.Run(string(v), func(t *testing.T) {
			k := vmtest.KernelVersionFor(t, vmtest.X86_64, v)
			out, err := exec.Command(kh, "fetch", "--cache-dir", cache, "--allow-disk", "--from", k.File("kheaders.tar.xz")).Output()
			if err != nil {
				t.Fatalf("kh fetch: %v", err)
			}
			tree := strings.TrimSpace(string(out))

			// BCC compiles, then loads and attaches in the host's kernel
			// (which may refuse): only the compilation is looked at.
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			bcc := exec.CommandContext(ctx, "tcpconnect-bpfcc")
			bcc.Env = append(os.Environ(), "BCC_KERNEL_SOURCE="+tree)
			b, _ := bcc.CombinedOutput()
			const bccErr = "incomplete type 'struct bpf_rb_root'"
			compileFailed := strings.Contains(string(b), "Failed to compile BPF module")
			if v == vmtest.V6_12 != (compileFailed && strings.Contains(string(b), bccErr)) || v == vmtest.V6_1 && compileFailed {
				t.Errorf("BCC tcpconnect with the %s tree: want the compile error %q only for 6.12, got:\n%s", k.Release, bccErr, tail(string(b), 2000))
			}
			t.Logf("RESULT host BCC tcpconnect-bpfcc, %s tree: compile failed: %v", k.Release, compileFailed)

			elf := filepath.Join(t.TempDir(), "prog.elf")
			bt := exec.CommandContext(ctx, "bpftrace", "--emit-elf", elf, script)
			bt.Env = append(os.Environ(), "BPFTRACE_KERNEL_SOURCE="+tree, "BPFTRACE_KERNEL_BUILD="+tree, "BPFTRACE_BTF="+k.File("vmlinux.btf"))
			b, _ = bt.CombinedOutput()
			_, statErr := os.Stat(elf)
			const btErr = "unknown type name '__aligned_u64'"
			if v == vmtest.V6_1 && statErr != nil || v == vmtest.V6_12 && (statErr == nil || !strings.Contains(string(b), btErr)) {
				t.Errorf("bpftrace --emit-elf with the %s tree: want an ELF for 6.1 and %q for 6.12, got ELF: %v\n%s", k.Release, btErr, statErr == nil, tail(string(b), 2000))
			}
			t.Logf("RESULT host bpftrace <linux/sched.h> script, %s tree: compiled: %v", k.Release, statErr == nil)
		})
	}
}
