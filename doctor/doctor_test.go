package doctor

import (
	"github.com/khtool/kh/internal/caps"
	"github.com/khtool/kh/internal/testkernel"

	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// fakeSystem is a System for a fake root directory.
type fakeSystem struct {
	root      string
	release   string
	euid      int
	caps      uint64
	fsType    int64
	free      uint64
	progErr   error
	kprobeErr error
	fentryErr error
	cacheDir  string
	ondisk    bool
	mounted   []string
}

func (f *fakeSystem) Uname() (Uname, error) {
	return Uname{Release: f.release, Machine: "aarch64"}, nil
}
func (f *fakeSystem) EUID() int                       { return f.euid }
func (f *fakeSystem) Capabilities() (uint64, error)   { return f.caps, nil }
func (f *fakeSystem) DefaultCacheDir() (string, bool) { return f.cacheDir, f.ondisk }
func (f *fakeSystem) ProbeFentry() error              { return f.fentryErr }

func (f *fakeSystem) ProbeProgramType(t ebpf.ProgramType) error {
	if t == ebpf.Kprobe && f.kprobeErr != nil {
		return f.kprobeErr
	}
	return f.progErr
}

func (f *fakeSystem) Statfs(path string) (unix.Statfs_t, error) {
	if !strings.HasPrefix(path, f.root) {
		return unix.Statfs_t{}, fmt.Errorf("statfs outside the fake root: %s", path)
	}
	return unix.Statfs_t{Type: f.fsType, Bsize: 4096, Bavail: f.free / 4096}, nil
}

// Mount records the mount in the fake root's mountinfo.
func (f *fakeSystem) Mount(fstype, dir string) error {
	if !strings.HasPrefix(dir, f.root) {
		return fmt.Errorf("mount outside the fake root: %s", dir)
	}
	inside := strings.TrimPrefix(dir, f.root)
	f.mounted = append(f.mounted, fstype+" "+inside)
	mi, err := os.OpenFile(filepath.Join(f.root, "proc/self/mountinfo"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer mi.Close()
	_, err = fmt.Fprintf(mi, "%d 1 0:%d / %s rw - %s %s rw\n", 100+len(f.mounted), 100+len(f.mounted), inside, fstype, fstype)
	return err
}

const fakeRelease = "6.1.192-kh"

// fakeRoot writes files below a new directory; contents maps a path to
// its content.
func gzipString(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func fakeRoot(t *testing.T, contents map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range contents {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// goodRoot is a system where everything tracing needs is present.
func goodRoot(t *testing.T) (string, *fakeSystem) {
	root := fakeRoot(t, map[string]string{
		"proc/self/mountinfo": "22 1 0:21 / /sys rw - sysfs sysfs rw\n" +
			"30 22 0:12 / /sys/kernel/tracing rw - tracefs tracefs rw\n" +
			"31 22 0:7 / /sys/kernel/debug rw - debugfs debugfs rw\n" +
			"32 22 0:8 / /sys/fs/bpf rw - bpf bpf rw\n" +
			"33 22 0:9 / /sys/kernel/security rw - securityfs securityfs rw\n",
		"proc/filesystems": "nodev\tsysfs\nnodev\ttracefs\nnodev\tdebugfs\nnodev\tbpf\nnodev\tsecurityfs\n",
		"proc/config.gz":   gzipString("CONFIG_BPF=y\nCONFIG_KPROBES=y\n"),
		"proc/modules":     "kheaders 4096 0 - Live 0x0\n",
		"proc/sys/kernel/unprivileged_bpf_disabled":                                "2\n",
		"proc/sys/kernel/perf_event_paranoid":                                      "2\n",
		"proc/sys/kernel/kptr_restrict":                                            "0\n",
		"proc/sys/net/core/bpf_jit_enable":                                         "1\n",
		"sys/kernel/kheaders.tar.xz":                                               "x",
		"sys/kernel/btf/vmlinux":                                                   "x",
		"sys/kernel/btf/kheaders":                                                  "x",
		"sys/kernel/security/lockdown":                                             "[none] integrity confidentiality\n",
		"sys/bus/event_source/devices/kprobe/type":                                 "6\n",
		"sys/kernel/tracing/kprobe_events":                                         "",
		"sys/kernel/tracing/events/syscalls/enable":                                "0\n",
		"lib/modules/" + fakeRelease + "/build/include/generated/utsrelease.h":     `#define UTS_RELEASE "` + fakeRelease + `"` + "\n",
		"lib/modules/" + fakeRelease + "/build/include/generated/autoconf.h":       "#define CONFIG_BPF 1\n#define CONFIG_KPROBES 1\n",
		"lib/modules/" + fakeRelease + "/build/include/linux/kconfig.h":            "\n",
		"lib/modules/" + fakeRelease + "/build/arch/x86/include/generated/asm/x.h": "\n",
		"run/.keep": "",
	})
	sys := &fakeSystem{root: root, release: fakeRelease, caps: 1<<caps.SysAdmin | 1<<caps.BPF | 1<<caps.Perfmon | 1<<caps.Syslog,
		fsType: tmpfsMagic, free: 8 << 30, cacheDir: "/run/kh"}
	return root, sys
}

// statuses returns name -> status of a report.
func statuses(r *Report) map[string]Status {
	out := map[string]Status{}
	for _, c := range r.Checks {
		out[c.Name] = c.Status
	}
	return out
}

func check(r *Report, name string) CheckResult {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return CheckResult{}
}

func TestDoctorGoodRoot(t *testing.T) {
	root, sys := goodRoot(t)
	rep, err := Run(context.Background(), Options{Root: root, System: sys})
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range statuses(rep) {
		if st != StatusOK {
			t.Errorf("%s: %s %q (fix %q)", name, st, check(rep, name).Value, check(rep, name).Fix)
		}
	}
	if !rep.OK || len(rep.Failed()) != 0 {
		t.Errorf("OK %v, failed %v", rep.OK, rep.Failed())
	}
	if rep.Kernel.Release != fakeRelease || rep.Kernel.Arch != "arm64" || rep.Schema != Schema {
		t.Errorf("kernel %+v schema %d", rep.Kernel, rep.Schema)
	}
	if v := check(rep, "cache").Value; !strings.HasPrefix(v, "/run/kh (will be created)") || !strings.Contains(v, "tmpfs") {
		t.Errorf("cache: %q", v)
	}
	if v := check(rep, "attach").Value; v != "kprobes, tracepoints, fentry" {
		t.Errorf("attach: %q", v)
	}
	if len(rep.Checks) != len(DefaultChecks()) {
		t.Errorf("%d results for %d checks", len(rep.Checks), len(DefaultChecks()))
	}
}

func TestDoctorBareRoot(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"proc/self/mountinfo":           "22 1 0:21 / /sys rw - sysfs sysfs rw\n",
		"proc/filesystems":              "nodev\tsysfs\nnodev\tsecurityfs\n",
		"proc/sys/kernel/kptr_restrict": "2\n",
	})
	sys := &fakeSystem{root: root, release: fakeRelease, euid: 1000, progErr: unix.EPERM,
		fentryErr: ebpf.ErrNotSupported, fsType: 0xef53, free: 1 << 30,
		cacheDir: "/run/user/1000/kh"}
	rep, err := Run(context.Background(), Options{Root: root, System: sys})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{
		"kernel": StatusOK, "kheaders": StatusWarn, "build-headers": StatusWarn, "btf": StatusWarn,
		"btf-modules": StatusOK, "kernel-types": StatusFail, "config": StatusWarn, "tracefs": StatusFail,
		"debugfs": StatusWarn, "bpffs": StatusWarn, "bpf": StatusFail, "perf-event-paranoid": StatusWarn,
		"kptr-restrict": StatusWarn, "lockdown": StatusWarn, "selinux": StatusOK, "bpf-jit": StatusWarn,
		"kprobes": StatusWarn, "tracepoints": StatusWarn, "fentry": StatusWarn, "attach": StatusFail, "cache": StatusWarn,
	}
	got := statuses(rep)
	for name, st := range want {
		if got[name] != st {
			c := check(rep, name)
			t.Errorf("%s: %s %q, want %s", name, got[name], c.Value, st)
		}
	}
	for _, c := range rep.Checks {
		if c.Status != StatusOK && c.Fix == "" && c.Name != "debugfs" && c.Name != "bpffs" {
			t.Errorf("%s: %s without a fix", c.Name, c.Status)
		}
	}
	if rep.OK {
		t.Error("OK on a system without BPF")
	}
	if f := strings.Join(rep.Failed(), ","); f != "kernel-types,bpf,attach" {
		t.Errorf("failed essentials: %s", f)
	}
	for _, name := range []string{"bpf", "kprobes", "tracepoints"} {
		if c := check(rep, name); !strings.HasPrefix(c.Value, DeniedPermission+": ") || c.Fix != rootFix {
			t.Errorf("%s: %q, fix %q", name, c.Value, c.Fix)
		}
	}
	if v := check(rep, "cache").Value; !strings.HasPrefix(v, "/run/user/1000/kh (will be created)") || !strings.Contains(v, "not on tmpfs") {
		t.Errorf("cache: %q", v)
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "tracing cannot work here: kernel-types, bpf, attach failed") {
		t.Errorf("verdict missing:\n%s", b.String())
	}
}

func TestDoctorRootChecks(t *testing.T) {
	t.Run("lockdown-confidentiality", func(t *testing.T) {
		root, sys := goodRoot(t)
		os.WriteFile(filepath.Join(root, "sys/kernel/security/lockdown"), []byte("none integrity [confidentiality]\n"), 0o644)
		rep, _ := Run(context.Background(), Options{Root: root, System: sys})
		if c := check(rep, "lockdown"); c.Status != StatusFail || rep.OK {
			t.Errorf("lockdown %s %q, OK %v", c.Status, c.Value, rep.OK)
		}
	})
	t.Run("headers-mismatch", func(t *testing.T) {
		root, sys := goodRoot(t)
		os.Remove(filepath.Join(root, "sys/kernel/kheaders.tar.xz"))
		os.WriteFile(filepath.Join(root, "lib/modules", fakeRelease, "build/include/generated/utsrelease.h"), []byte(`#define UTS_RELEASE "6.1.0-old"`), 0o644)
		rep, _ := Run(context.Background(), Options{Root: root, System: sys})
		if c := check(rep, "build-headers"); c.Status != StatusWarn || !strings.Contains(c.Value, "6.1.0-old") {
			t.Errorf("build-headers %s %q", c.Status, c.Value)
		}
		if c := check(rep, "kheaders"); c.Status != StatusWarn {
			t.Errorf("kheaders %s %q", c.Status, c.Value)
		}
		if c := check(rep, "kernel-types"); c.Status != StatusOK || !strings.HasPrefix(c.Value, "BTF only") {
			t.Errorf("kernel-types %s %q", c.Status, c.Value)
		}
	})
	t.Run("kheaders-module", func(t *testing.T) {
		// The test kernel's real kheaders.ko, first on a kernel it was
		// not built for (vermagic 6.1.192), then on its own.
		kodata, err := os.ReadFile(testkernel.File(t, "x86_64", "kheaders.ko"))
		if err != nil {
			t.Fatal(err)
		}
		root, sys := goodRoot(t)
		os.Remove(filepath.Join(root, "sys/kernel/kheaders.tar.xz"))
		os.RemoveAll(filepath.Join(root, "lib/modules", fakeRelease, "build"))
		for _, rel := range []string{fakeRelease, "6.1.192"} {
			ko := filepath.Join(root, "lib/modules", rel, "kernel/kernel/kheaders.ko")
			os.MkdirAll(filepath.Dir(ko), 0o755)
			os.WriteFile(ko, kodata, 0o644)
		}
		rep, _ := Run(context.Background(), Options{Root: root, System: sys})
		if c := check(rep, "kheaders"); c.Status != StatusWarn || !strings.Contains(c.Value, "built for 6.1.192, not the running "+fakeRelease) {
			t.Errorf("kheaders for another kernel: %s %q", c.Status, c.Value)
		}
		sys.release = "6.1.192"
		rep, _ = Run(context.Background(), Options{Root: root, System: sys})
		if c := check(rep, "kheaders"); c.Status != StatusOK || !strings.Contains(c.Value, "/lib/modules/6.1.192/kernel/kernel/kheaders.ko") {
			t.Errorf("kheaders %s %q", c.Status, c.Value)
		}
		if c := check(rep, "build-headers"); c.Status != StatusOK {
			t.Errorf("build-headers %s %q", c.Status, c.Value)
		}
	})
	t.Run("no-kprobes-no-fentry", func(t *testing.T) {
		root, sys := goodRoot(t)
		os.RemoveAll(filepath.Join(root, "sys/bus/event_source/devices/kprobe"))
		os.Remove(filepath.Join(root, "sys/kernel/tracing/kprobe_events"))
		sys.fentryErr = unix.EPERM
		rep, _ := Run(context.Background(), Options{Root: root, System: sys})
		if c := check(rep, "kprobes"); c.Status != StatusWarn {
			t.Errorf("kprobes %s %q", c.Status, c.Value)
		}
		if c := check(rep, "attach"); c.Status != StatusOK || c.Value != "tracepoints" || !rep.OK {
			t.Errorf("attach %s %q, OK %v", c.Status, c.Value, rep.OK)
		}
	})
	t.Run("cache-override", func(t *testing.T) {
		root, sys := goodRoot(t)
		sys.cacheDir = "/run"
		sys.free = 1 << 20
		rep, _ := Run(context.Background(), Options{Root: root, System: sys})
		if c := check(rep, "cache"); c.Status != StatusWarn || !strings.HasPrefix(c.Value, "/run (exists)") || !strings.Contains(c.Value, "short of space") {
			t.Errorf("cache %s %q", c.Status, c.Value)
		}
		rep, _ = Run(context.Background(), Options{Root: root, System: sys, CacheDir: "/run/other"})
		if c := check(rep, "cache"); !strings.HasPrefix(c.Value, "/run/other (will be created)") {
			t.Errorf("--cache-dir: %q", c.Value)
		}
		// Off tmpfs: fine for root (kh mounts a tmpfs) and with
		// --allow-disk, refused for users, tolerated on Android.
		sys.free, sys.fsType = 8<<30, 0xef53
		for _, c := range []struct {
			euid         int
			allow, disk  bool
			status       Status
			valueContain string
		}{
			{0, false, false, StatusOK, "kh mounts a private tmpfs"},
			{1000, true, false, StatusOK, "allowed by --allow-disk"},
			{1000, false, false, StatusWarn, "kh refuses it"},
			{1000, false, true, StatusWarn, "on disk"},
		} {
			sys.euid, sys.ondisk = c.euid, c.disk
			rep, _ = Run(context.Background(), Options{Root: root, System: sys, AllowDisk: c.allow})
			if r := check(rep, "cache"); r.Status != c.status || !strings.Contains(r.Value, c.valueContain) {
				t.Errorf("%+v: %s %q", c, r.Status, r.Value)
			}
		}
		// A directory root names gets no tmpfs unless --mount-tmpfs.
		sys.euid, sys.ondisk = 0, false
		rep, _ = Run(context.Background(), Options{Root: root, System: sys, CacheDir: "/run/other"})
		if r := check(rep, "cache"); r.Status != StatusWarn || !strings.Contains(r.Value, "kh refuses it") || !strings.Contains(r.Fix, "--mount-tmpfs") {
			t.Errorf("root, named directory on disk: %s %q %q", r.Status, r.Value, r.Fix)
		}
	})
}

func TestDoctorFix(t *testing.T) {
	root, sys := goodRoot(t)
	os.WriteFile(filepath.Join(root, "proc/self/mountinfo"), []byte("22 1 0:21 / /sys rw - sysfs sysfs rw\n"), 0o644)
	os.RemoveAll(filepath.Join(root, "sys/kernel/security"))

	sys.euid = 1000
	if _, err := Run(context.Background(), Options{Root: root, System: sys, Fix: true}); err == nil {
		t.Fatal("--fix as a user: no error")
	}
	sys.euid = 0

	rep, err := Run(context.Background(), Options{Root: root, System: sys})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"tracefs", "debugfs", "bpffs", "lockdown"} {
		if c := check(rep, n); c.Status != StatusWarn || !strings.Contains(c.Fix, "kh doctor --fix") {
			t.Errorf("before --fix: %s %s %q fix %q", n, c.Status, c.Value, c.Fix)
		}
	}
	if len(sys.mounted) != 0 {
		t.Fatalf("mounted without --fix: %v", sys.mounted)
	}

	rep, err = Run(context.Background(), Options{Root: root, System: sys, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "tracefs /sys/kernel/tracing,debugfs /sys/kernel/debug,bpf /sys/fs/bpf,securityfs /sys/kernel/security"
	if got := strings.Join(sys.mounted, ","); got != want {
		t.Errorf("mounted %s\nwant    %s", got, want)
	}
	for _, n := range []string{"tracefs", "debugfs", "bpffs"} {
		if c := check(rep, n); c.Status != StatusOK || !strings.HasPrefix(c.Fixed, "mounted ") {
			t.Errorf("after --fix: %s %s %q fixed %q", n, c.Status, c.Value, c.Fixed)
		}
	}
	// The fake securityfs has no lockdown file: "no lockdown LSM".
	if c := check(rep, "lockdown"); c.Status != StatusOK || c.Fixed == "" {
		t.Errorf("lockdown after --fix: %s %q fixed %q", c.Status, c.Value, c.Fixed)
	}

	// Idempotent: nothing more to mount.
	rep, err = Run(context.Background(), Options{Root: root, System: sys, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sys.mounted) != 4 {
		t.Errorf("second --fix mounted again: %v", sys.mounted)
	}
	for _, c := range rep.Checks {
		if c.Fixed != "" || c.FixError != "" {
			t.Errorf("second --fix: %s fixed %q error %q", c.Name, c.Fixed, c.FixError)
		}
	}

	// A file system the kernel lacks cannot be mounted: a fix error.
	root2, sys2 := goodRoot(t)
	os.WriteFile(filepath.Join(root2, "proc/self/mountinfo"), nil, 0o644)
	os.WriteFile(filepath.Join(root2, "proc/filesystems"), []byte("nodev\ttracefs\n"), 0o644)
	rep, _ = Run(context.Background(), Options{Root: root2, System: sys2, Fix: true})
	if c := check(rep, "bpffs"); c.FixError == "" || c.Status != StatusWarn {
		t.Errorf("bpffs without kernel support: %+v", c)
	}
}

func TestDoctorText(t *testing.T) {
	root, sys := goodRoot(t)
	os.Remove(filepath.Join(root, "sys/kernel/btf/vmlinux"))
	rep, err := Run(context.Background(), Options{Root: root, System: sys})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	lines := strings.Split(b.String(), "\n")
	row := regexp.MustCompile(`^(ok|warn|fail) +(\S+) +(\S.*)$`)
	col := -1
	rows := 0
	for _, l := range lines {
		m := row.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		rows++
		if col == -1 {
			col = m[6]
		} else if m[6] != col {
			t.Errorf("value column %d, want %d: %q", m[6], col, l)
		}
	}
	if rows != len(DefaultChecks()) {
		t.Errorf("%d check rows, want %d:\n%s", rows, len(DefaultChecks()), b.String())
	}
	if !strings.Contains(b.String(), strings.Repeat(" ", col)+"fix: build the kernel with CONFIG_DEBUG_INFO_BTF=y") {
		t.Errorf("fix line not aligned under the value:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "\ntracing can work here (") {
		t.Errorf("verdict missing:\n%s", b.String())
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	json.Unmarshal(js, &back)
	for _, k := range []string{"schema", "kernel", "ok", "checks"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, js)
		}
	}
}

// TestDoctorHost runs the real checks on this machine.
func TestDoctorHost(t *testing.T) {
	rep, err := Run(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var u unix.Utsname
	unix.Uname(&u)
	if rep.Kernel.Release != unix.ByteSliceToString(u.Release[:]) {
		t.Errorf("release %q", rep.Kernel.Release)
	}
	_, btfErr := os.Stat("/sys/kernel/btf/vmlinux")
	if got := check(rep, "btf").Status; (btfErr == nil) != (got == StatusOK) {
		t.Errorf("btf: %s, but stat says %v", got, btfErr)
	}
	_, cfgErr := os.Stat("/proc/config.gz")
	if got := check(rep, "config"); cfgErr == nil && got.Value != "/proc/config.gz" {
		t.Errorf("config: %q", got.Value)
	}
	bpfOK := check(rep, "bpf").Status == StatusOK
	if os.Geteuid() == 0 && bpfOK != (ebpfLoads() == nil) {
		t.Errorf("bpf check %v disagrees with loading a program: %v", bpfOK, ebpfLoads())
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	t.Logf("\n%s", b.String())
}

// ebpfLoads loads a trivial tracepoint program.
func ebpfLoads() error {
	return LiveSystem().ProbeProgramType(ebpf.TracePoint)
}

// TestDoctorAdvice is issue 14 item 4: each check's cause is the first
// thing that failed (permission, then lockdown or an LSM, then a missing
// feature), and no fix points at a check the doctor found broken.
func TestDoctorAdvice(t *testing.T) {
	run := func(t *testing.T, root string, sys *fakeSystem) *Report {
		t.Helper()
		rep, err := Run(context.Background(), Options{Root: root, System: sys})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	t.Run("non-root", func(t *testing.T) {
		root, sys := goodRoot(t)
		sys.euid, sys.caps = 1000, 0
		sys.progErr, sys.fentryErr = unix.EPERM, fmt.Errorf("the kernel refused an fentry program on vfs_read (%w)", unix.EPERM)
		rep := run(t, root, sys)
		for _, name := range []string{"bpf", "kprobes", "tracepoints", "fentry"} {
			c := check(rep, name)
			if !strings.HasPrefix(c.Value, DeniedPermission+": ") || !strings.HasPrefix(c.Fix, rootFix) || strings.Contains(c.Fix, "CONFIG_") {
				t.Errorf("%s: %s %q, fix %q", name, c.Status, c.Value, c.Fix)
			}
		}
	})
	t.Run("root, no kprobes, fentry refused", func(t *testing.T) {
		// This host: kprobes are not built in, fentry is refused.
		root, sys := goodRoot(t)
		os.Remove(filepath.Join(root, "sys/bus/event_source/devices/kprobe/type"))
		os.Remove(filepath.Join(root, "sys/kernel/tracing/kprobe_events"))
		sys.fentryErr = fmt.Errorf("the kernel refused an fentry program on vfs_read (%w)", unix.EPERM)
		rep := run(t, root, sys)
		kp, fe := check(rep, "kprobes"), check(rep, "fentry")
		if kp.Status != StatusWarn || strings.Contains(kp.Fix, "fentry") || !strings.Contains(kp.Fix, "or use tracepoints") {
			t.Errorf("kprobes: %s %q, fix %q", kp.Status, kp.Value, kp.Fix)
		}
		if fe.Status != StatusWarn || strings.Contains(fe.Fix, "kprobes") || !strings.Contains(fe.Fix, "tracepoints") || !strings.HasPrefix(fe.Value, DeniedPolicy) {
			t.Errorf("fentry: %s %q, fix %q", fe.Status, fe.Value, fe.Fix)
		}
	})
	t.Run("lockdown", func(t *testing.T) {
		root, sys := goodRoot(t)
		os.WriteFile(filepath.Join(root, "sys/kernel/security/lockdown"), []byte("none integrity [confidentiality]\n"), 0o644)
		sys.progErr = unix.EPERM
		rep := run(t, root, sys)
		if c := check(rep, "bpf"); !strings.HasPrefix(c.Value, DeniedPolicy) || !strings.Contains(c.Value, "lockdown=confidentiality") || c.Fix != lockdownFix {
			t.Errorf("bpf: %q, fix %q", c.Value, c.Fix)
		}
		if c := check(rep, "kprobes"); !strings.Contains(c.Value, "lockdown=confidentiality") || strings.Contains(c.Fix, "CONFIG_") {
			t.Errorf("kprobes: %q, fix %q", c.Value, c.Fix)
		}
	})
	t.Run("selinux", func(t *testing.T) {
		root, sys := goodRoot(t)
		os.MkdirAll(filepath.Join(root, "sys/fs/selinux"), 0o755)
		os.WriteFile(filepath.Join(root, "sys/fs/selinux/enforce"), []byte("1"), 0o644)
		sys.progErr = unix.EACCES
		rep := run(t, root, sys)
		if c := check(rep, "selinux"); c.Status != StatusWarn || !strings.HasPrefix(c.Value, "enforcing") {
			t.Errorf("selinux: %s %q", c.Status, c.Value)
		}
		if c := check(rep, "bpf"); !strings.Contains(c.Value, "SELinux enforcing") || !strings.Contains(c.Fix, "avc") {
			t.Errorf("bpf: %q, fix %q", c.Value, c.Fix)
		}
		os.WriteFile(filepath.Join(root, "sys/fs/selinux/enforce"), []byte("0"), 0o644)
		if c := check(run(t, root, sys), "selinux"); c.Status != StatusOK || c.Value != "permissive" {
			t.Errorf("selinux permissive: %s %q", c.Status, c.Value)
		}
		// The file exists but cannot be read (Android, not root).
		os.Remove(filepath.Join(root, "sys/fs/selinux/enforce"))
		os.Mkdir(filepath.Join(root, "sys/fs/selinux/enforce"), 0o755)
		if c := check(run(t, root, sys), "selinux"); c.Status != StatusWarn || !strings.Contains(c.Value, "mode unknown") || c.Value == "not enabled" {
			t.Errorf("selinux unreadable: %s %q", c.Status, c.Value)
		}
	})
	t.Run("missing feature", func(t *testing.T) {
		root, sys := goodRoot(t)
		sys.kprobeErr = fmt.Errorf("%w", ebpf.ErrNotSupported)
		rep := run(t, root, sys)
		if c := check(rep, "kprobes"); !strings.Contains(c.Fix, "CONFIG_KPROBES") || !strings.Contains(c.Fix, "or use tracepoints or fentry") {
			t.Errorf("kprobes: %q, fix %q", c.Value, c.Fix)
		}
	})
}
