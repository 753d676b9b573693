package doctor

import (
	"context"
	"errors"
	"fmt"
	"github.com/khtool/kh/internal/caps"
	"github.com/khtool/kh/internal/mountinfo"
	"github.com/khtool/kh/internal/tracefs"
	"github.com/khtool/kh/kconfig"
	"github.com/khtool/kh/kheaders"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/kmod"
)

// DefaultChecks returns kh doctor's checks, in report order. The
// essential ones are kernel, kernel-types, bpf, lockdown and attach.
func DefaultChecks() []Check {
	return []Check{
		{Name: "kernel", Essential: true, Probe: probeKernel},
		{Name: "kheaders", Probe: probeKheaders},
		{Name: "build-headers", Probe: probeBuildHeaders},
		{Name: "btf", Probe: probeBTF},
		{Name: "btf-modules", Probe: probeModuleBTF},
		{Name: "kernel-types", Essential: true, Probe: probeKernelTypes},
		{Name: "config", Probe: probeConfig},
		{Name: "tracefs", Probe: probeTraceFS, Fix: fixMount("tracefs", tracefs.TraceFSDir)},
		{Name: "debugfs", Probe: probeMount("debugfs", tracefs.DebugFSDir, "older tools read tracing files there"), Fix: fixMount("debugfs", tracefs.DebugFSDir)},
		{Name: "bpffs", Probe: probeMount("bpf", tracefs.BPFFSDir, "needed to pin programs and maps (bpftool)"), Fix: fixMount("bpf", tracefs.BPFFSDir)},
		{Name: "bpf", Essential: true, Probe: probeBPF},
		{Name: "perf-event-paranoid", Probe: probePerfParanoid},
		{Name: "kptr-restrict", Probe: probeKptrRestrict},
		{Name: "lockdown", Essential: true, Probe: probeLockdown, Fix: fixMount("securityfs", SecurityFSDir)},
		{Name: "selinux", Probe: probeSELinux},
		{Name: "bpf-jit", Probe: probeJIT},
		{Name: "kprobes", Probe: probeKprobes},
		{Name: "tracepoints", Probe: probeTracepoints},
		{Name: "fentry", Probe: probeFentry},
		{Name: "attach", Essential: true, Probe: probeAttach},
		{Name: "cache", Probe: probeCache},
	}
}

// SecurityFSDir is where securityfs (which shows the lockdown mode) is mounted.
const SecurityFSDir = "/sys/kernel/security"

func ok(format string, args ...any) Finding {
	return Finding{Status: StatusOK, Value: fmt.Sprintf(format, args...)}
}

func warn(value, fix string) Finding { return Finding{Status: StatusWarn, Value: value, Fix: fix} }

// warnInstead is a warning whose fix may add "or use" the named checks:
// Run names those of them that passed, and only those.
func warnInstead(value, fix string, instead ...string) Finding {
	return Finding{Status: StatusWarn, Value: value, Fix: fix, Instead: instead}
}
func fail(value, fix string) Finding { return Finding{Status: StatusFail, Value: value, Fix: fix} }

func probeKernel(_ context.Context, env *Target) Finding {
	if env.Uname.Release == "" {
		return fail("unknown release", "")
	}
	return ok("%s, %s (arch %s)", env.Uname.Release, env.Uname.Machine, kernel.SrcArch(env.Uname.Machine))
}

// Header sources, evaluated by the kheaders package exactly as kh fetch
// would: module vermagic, and the filesystem headers' release and
// configuration, are checked.

// headerSources returns the running kernel's header sources, evaluated
// once per report.
func headerSources(ctx context.Context, env *Target) []kheaders.Candidate {
	if env.headers == nil {
		c, err := kheaders.Sources(ctx, kheaders.Options{Root: env.Root, Release: env.Uname.Release})
		if err != nil {
			c = []kheaders.Candidate{}
		}
		env.headers = c
	}
	return env.headers
}

// firstSource returns the first candidate of a kind that is usable, else
// the first of that kind.
func firstSource(cands []kheaders.Candidate, kind kheaders.SourceKind) (kheaders.Candidate, bool) {
	var first *kheaders.Candidate
	for i, c := range cands {
		if c.Source.Kind != kind {
			continue
		}
		if c.Usable {
			return c, true
		}
		if first == nil {
			first = &cands[i]
		}
	}
	if first == nil {
		return kheaders.Candidate{}, false
	}
	return *first, false
}

// haveHeaders reports whether kh fetch would find a real header tree.
func haveHeaders(cands []kheaders.Candidate) bool {
	for _, c := range cands {
		if c.Usable && c.Source.Kind != kheaders.SourceBTF {
			return true
		}
	}
	return false
}

func probeKheaders(ctx context.Context, env *Target) Finding {
	cands := headerSources(ctx, env)
	if c, usable := firstSource(cands, kheaders.SourceSysfs); usable {
		return ok("built in or loaded: %s", c.Source.Location)
	}
	mod, modOK := firstSource(cands, kheaders.SourceModule)
	if modOK {
		return ok("module on disk: %s (kh reads it without loading it)", mod.Source.Location)
	}
	if _, buildOK := firstSource(cands, kheaders.SourceDir); buildOK {
		return ok("absent (the build headers serve instead)")
	}
	if mod.Why != "" && !strings.HasPrefix(mod.Why, "not found") {
		return warn(fmt.Sprintf("module %s unusable: %s", mod.Source.Location, mod.Why),
			"install the kheaders module built with this kernel")
	}
	return warn("absent: no /sys/kernel/kheaders.tar.xz and no kheaders module on disk",
		"build the kernel with CONFIG_IKHEADERS=y (or =m and install kheaders.ko); until then BCC has no headers")
}

func probeBuildHeaders(ctx context.Context, env *Target) Finding {
	cands := headerSources(ctx, env)
	rel := env.Uname.Release
	install := fmt.Sprintf("install the headers of %s (Debian/Ubuntu: apt install linux-headers-%s)", rel, rel)
	c, usable := firstSource(cands, kheaders.SourceDir)
	switch {
	case usable:
		return ok("%s (release and configuration match)", c.Source.Location)
	case c.Why == "absent" && haveHeaders(cands):
		return ok("absent (kheaders serve instead)")
	case c.Why == "absent":
		return warn(fmt.Sprintf("absent: no /lib/modules/%s/build", rel), install)
	}
	return warn(fmt.Sprintf("%s: %s", c.Source.Location, c.Why), install+"; tools would compile against the wrong headers")
}

func probeBTF(_ context.Context, env *Target) Finding {
	fi, err := os.Stat(env.Path("/sys/kernel/btf/vmlinux"))
	if err != nil {
		return warn("absent: no /sys/kernel/btf/vmlinux", "build the kernel with CONFIG_DEBUG_INFO_BTF=y: CO-RE programs, fentry and bpftrace need it")
	}
	return ok("/sys/kernel/btf/vmlinux (%d KiB)", fi.Size()>>10)
}

func probeModuleBTF(_ context.Context, env *Target) Finding {
	entries, err := os.ReadDir(env.Path("/sys/kernel/btf"))
	if err != nil {
		return ok("none (no kernel BTF)")
	}
	n := 0
	for _, e := range entries {
		if e.Name() != "vmlinux" {
			n++
		}
	}
	loaded := 0
	if b, err := os.ReadFile(env.Path("/proc/modules")); err == nil {
		loaded = strings.Count(string(b), "\n")
	}
	if n == 0 && loaded > 0 {
		return warn(fmt.Sprintf("none for %d loaded modules", loaded), "build with CONFIG_DEBUG_INFO_BTF_MODULES=y to trace module functions with BTF")
	}
	return ok("%d modules with BTF, %d modules loaded", n, loaded)
}

func probeKernelTypes(ctx context.Context, env *Target) Finding {
	btfOK := env.exists("/sys/kernel/btf/vmlinux")
	headers := haveHeaders(headerSources(ctx, env))
	switch {
	case btfOK && headers:
		return ok("BTF and headers: CO-RE, bpftrace and BCC can work")
	case btfOK:
		return ok("BTF only: CO-RE programs and bpftrace work; BCC needs headers")
	case headers:
		return ok("headers only: BCC and bpftrace with headers work; CO-RE programs need BTF")
	}
	return fail("no BTF and no kernel headers", "build the kernel with CONFIG_DEBUG_INFO_BTF=y or CONFIG_IKHEADERS, or install its headers")
}

func probeConfig(_ context.Context, env *Target) Finding {
	// kconfig.Running's order: the same files, then the module.
	files := kconfig.RunningFiles(env.Uname.Release)
	for _, f := range files {
		if env.exists(f) {
			return ok("%s", f)
		}
	}
	boot := files[len(files)-1]
	if m := kmod.Find(env.Root, env.Uname.Release, "configs"); len(m) > 0 {
		return warn("absent: /proc/config.gz appears once the configs module is loaded", "modprobe configs (as root)")
	}
	return warn("absent: no /proc/config.gz, no "+boot, "build the kernel with CONFIG_IKCONFIG_PROC=y; __kconfig externs and BCC need the config")
}

// mounted returns the mount point of the first fstype mount, or "".
func mounted(env *Target, fstype string) (string, error) {
	mounts, err := mountinfo.Read(env.Root)
	if err != nil {
		return "", err
	}
	if m, ok := mountinfo.First(mounts, fstype); ok {
		return m.Dir, nil
	}
	return "", nil
}

// supportedFS reports whether /proc/filesystems lists fstype.
func supportedFS(env *Target, fstype string) bool {
	b, err := os.ReadFile(env.Path("/proc/filesystems"))
	if err != nil {
		return true // unknown: assume so, mounting will tell
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == fstype {
			return true
		}
	}
	return false
}

// probeMount checks that a pseudo file system is mounted somewhere.
func probeMount(fstype, dir, purpose string) func(context.Context, *Target) Finding {
	return func(_ context.Context, env *Target) Finding {
		at, err := mounted(env, fstype)
		if err != nil {
			return warn("unknown: "+oneLineErr(err), "")
		}
		if at != "" {
			return ok("mounted on %s", at)
		}
		if !supportedFS(env, fstype) {
			return warn("not supported by this kernel ("+purpose+")", "")
		}
		return warn("not mounted ("+purpose+")", fmt.Sprintf("mount -t %s %s %s (kh doctor --fix does it)", fstype, fstype, dir))
	}
}

func probeTraceFS(ctx context.Context, env *Target) Finding {
	r := probeMount("tracefs", tracefs.TraceFSDir, "bpf_printk output and tracepoints need it")(ctx, env)
	if r.Status == StatusWarn && strings.HasPrefix(r.Value, "not supported") {
		r.Status = StatusFail
		r.Fix = "build the kernel with CONFIG_FTRACE (tracefs)"
		r.Instead = []string{"kprobes", "fentry"}
	}
	if r.Status == StatusWarn && strings.HasPrefix(r.Value, "not mounted") {
		r.Fix += "; kh run mounts it when needed"
	}
	return r
}

// fixMount returns a Fix that mounts fstype on dir unless it is mounted.
func fixMount(fstype, dir string) func(context.Context, *Target) (string, error) {
	return func(_ context.Context, env *Target) (string, error) {
		at, err := mounted(env, fstype)
		if err != nil {
			return "", err
		}
		if at != "" {
			return "", nil
		}
		if !supportedFS(env, fstype) {
			return "", fmt.Errorf("the kernel does not support %s", fstype)
		}
		if err := env.Sys.Mount(fstype, env.Path(dir)); err != nil {
			return "", err
		}
		return fmt.Sprintf("mounted %s on %s", fstype, dir), nil
	}
}

// readInt reads an integer sysctl below Root.
func readInt(env *Target, abs string) (int, error) {
	s, err := env.readTrim(abs)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}

// capsNames describes the tracing-relevant capabilities in caps.
func capsNames(have uint64) string {
	var names []string
	for _, c := range []struct {
		n    int
		name string
	}{{caps.SysAdmin, "CAP_SYS_ADMIN"}, {caps.BPF, "CAP_BPF"}, {caps.Perfmon, "CAP_PERFMON"}} {
		if caps.Has(have, c.n) {
			names = append(names, c.name)
		}
	}
	if len(names) == 0 {
		return "no CAP_SYS_ADMIN, CAP_BPF or CAP_PERFMON"
	}
	return strings.Join(names, ", ")
}

func probeBPF(_ context.Context, env *Target) Finding {
	have, err := env.Sys.Capabilities()
	if err != nil {
		return fail("unknown: "+oneLineErr(err), "")
	}
	unpriv := "unprivileged_bpf_disabled=?"
	if n, err := readInt(env, "/proc/sys/kernel/unprivileged_bpf_disabled"); err == nil {
		unpriv = fmt.Sprintf("unprivileged_bpf_disabled=%d", n)
	}
	what := capsNames(have) + "; " + unpriv
	err = env.Sys.ProbeProgramType(ebpf.TracePoint)
	if err == nil {
		return ok("tracing programs load (%s)", what)
	}
	if d, denied := denial(env, "bpf() refused a tracing program", err, StatusFail); denied {
		d.Value += "; " + unpriv
		return d
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fail("the kernel cannot load tracing programs ("+oneLineErr(err)+")", "build the kernel with CONFIG_BPF_SYSCALL and CONFIG_BPF_EVENTS")
	}
	return fail("bpf() failed: "+oneLineErr(err), "")
}

func probePerfParanoid(_ context.Context, env *Target) Finding {
	n, err := readInt(env, "/proc/sys/kernel/perf_event_paranoid")
	if isDenied(err) {
		return readDenied("/proc/sys/kernel/perf_event_paranoid", StatusWarn)
	}
	if err != nil {
		return warn("unknown: no /proc/sys/kernel/perf_event_paranoid", "build the kernel with CONFIG_PERF_EVENTS: kprobes, tracepoints and perf buffers use perf events")
	}
	have, _ := env.Sys.Capabilities()
	if caps.Has(have, caps.Perfmon) || caps.Has(have, caps.SysAdmin) {
		return ok("%d (kh has CAP_PERFMON or CAP_SYS_ADMIN, so it does not apply)", n)
	}
	if n > 1 {
		return warn(fmt.Sprintf("%d: unprivileged users cannot trace the kernel", n), "run as root, or sysctl -w kernel.perf_event_paranoid=1")
	}
	return ok("%d", n)
}

func probeKptrRestrict(_ context.Context, env *Target) Finding {
	n, err := readInt(env, "/proc/sys/kernel/kptr_restrict")
	if isDenied(err) {
		return readDenied("/proc/sys/kernel/kptr_restrict", StatusWarn)
	}
	if err != nil {
		return ok("unknown (no /proc/sys/kernel/kptr_restrict)")
	}
	have, _ := env.Sys.Capabilities()
	switch {
	case n == 0:
		return ok("0")
	case n == 1 && caps.Has(have, caps.Syslog):
		return ok("1 (kh has CAP_SYSLOG and sees kernel addresses)")
	case n == 1:
		return warn("1: /proc/kallsyms shows zero addresses without CAP_SYSLOG", "run as root to resolve kernel symbols")
	}
	return warn(fmt.Sprintf("%d: /proc/kallsyms shows zero addresses to everyone; kernel stacks cannot be symbolized", n), "sysctl -w kernel.kptr_restrict=1 (as root)")
}

var lockdownMode = regexp.MustCompile(`\[(\w+)\]`)

func probeLockdown(_ context.Context, env *Target) Finding {
	s, err := env.readTrim(SecurityFSDir + "/lockdown")
	if isDenied(err) {
		return readDenied(SecurityFSDir+"/lockdown", StatusWarn)
	}
	if err != nil {
		if at, _ := mounted(env, "securityfs"); at != "" {
			return ok("no lockdown LSM")
		}
		if !supportedFS(env, "securityfs") {
			return ok("no securityfs, so no lockdown LSM to report")
		}
		return warn("unknown: securityfs is not mounted", fmt.Sprintf("mount -t securityfs securityfs %s (kh doctor --fix does it)", SecurityFSDir))
	}
	m := lockdownMode.FindStringSubmatch(s)
	if m == nil {
		return warn("unknown: "+s, "")
	}
	switch m[1] {
	case "none":
		return ok("none")
	case "integrity":
		return warn("integrity: bpf_probe_write_user and debugfs are restricted; tracing works", "boot with lockdown=none if a tool needs them")
	}
	return fail(m[1]+": reading kernel memory from BPF, kprobes, perf and tracefs are blocked", lockdownFix)
}

func probeSELinux(_ context.Context, env *Target) Finding {
	switch selinuxMode(env) {
	case "":
		return ok("not enabled")
	case "enforcing":
		return warn("enforcing: the policy may deny bpf() and perf_event_open to your domain", "check the audit log for avc denials (Android: use a root shell: adb root or su)")
	case "permissive":
		return ok("permissive")
	}
	return warn("enabled, mode unknown: "+DeniedPermission+" to read /sys/fs/selinux/enforce", "run getenforce, or kh doctor as root (Android: su -c or adb root)")
}

func probeJIT(_ context.Context, env *Target) Finding {
	n, err := readInt(env, "/proc/sys/net/core/bpf_jit_enable")
	if isDenied(err) {
		return readDenied("/proc/sys/net/core/bpf_jit_enable", StatusWarn)
	}
	if err != nil {
		return warn("no BPF JIT: programs run interpreted, fentry/fexit are unavailable", "build the kernel with CONFIG_BPF_JIT")
	}
	switch n {
	case 1:
		return ok("enabled")
	case 2:
		return warn("enabled with debug output to the kernel log", "sysctl -w net.core.bpf_jit_enable=1")
	}
	return warn("disabled: programs run interpreted, fentry/fexit are unavailable", "sysctl -w net.core.bpf_jit_enable=1")
}

// traceFSDir returns the tracefs directory below Root, or "".
func traceFSDir(env *Target) string {
	at, _ := mounted(env, "tracefs")
	return at
}

func probeKprobes(_ context.Context, env *Target) Finding {
	if err := env.Sys.ProbeProgramType(ebpf.Kprobe); err != nil {
		if d, denied := denial(env, "kprobe programs do not load", err, StatusWarn); denied {
			return d
		}
		return warnInstead("kprobe programs do not load: "+oneLineErr(err), "build the kernel with CONFIG_KPROBES and CONFIG_BPF_EVENTS", "tracepoints", "fentry")
	}
	var via []string
	if env.exists("/sys/bus/event_source/devices/kprobe/type") {
		via = append(via, "kprobe PMU")
	}
	if dir := traceFSDir(env); dir != "" && env.exists(dir+"/kprobe_events") {
		via = append(via, dir+"/kprobe_events")
	}
	if len(via) == 0 {
		if traceFSDir(env) == "" && !env.exists("/sys/bus/event_source/devices") {
			return warn("unknown: no kprobe PMU and tracefs is not mounted", "mount tracefs (kh doctor --fix)")
		}
		return warnInstead("unavailable: no kprobe PMU and no kprobe_events", "build the kernel with CONFIG_KPROBES", "fentry", "tracepoints")
	}
	return ok("available (%s)", strings.Join(via, ", "))
}

func probeTracepoints(_ context.Context, env *Target) Finding {
	if err := env.Sys.ProbeProgramType(ebpf.TracePoint); err != nil {
		if d, denied := denial(env, "tracepoint programs do not load", err, StatusWarn); denied {
			return d
		}
		return warnInstead("tracepoint programs do not load: "+oneLineErr(err), "build the kernel with CONFIG_BPF_EVENTS", "kprobes", "fentry")
	}
	dir := traceFSDir(env)
	if dir == "" {
		return warn("supported, but tracefs is not mounted (tracepoint IDs are read from it)", "mount tracefs (kh doctor --fix; kh run mounts it itself)")
	}
	if !env.exists(dir + "/events/syscalls") {
		return ok("available; no syscall tracepoints (CONFIG_FTRACE_SYSCALLS is off)")
	}
	return ok("available, with syscall tracepoints")
}

func probeFentry(_ context.Context, env *Target) Finding {
	if err := env.Sys.ProbeFentry(); err != nil {
		if d, denied := denial(env, "the kernel refused an fentry program", err, StatusWarn); denied {
			d.Instead = []string{"kprobes", "tracepoints"}
			return d
		}
		return warnInstead("unavailable: "+oneLineErr(err), "fentry needs BTF (CONFIG_DEBUG_INFO_BTF) and a JIT with BPF trampolines", "kprobes", "tracepoints")
	}
	return ok("available")
}

func probeAttach(_ context.Context, env *Target) Finding {
	var have []string
	for _, name := range []string{"kprobes", "tracepoints", "fentry"} {
		if r, found := env.Finding(name); found && r.Status == StatusOK {
			have = append(have, name)
		}
	}
	if tp, _ := env.Finding("tracepoints"); len(have) == 0 && tp.Status == StatusWarn && strings.HasPrefix(tp.Value, "supported") {
		have = append(have, "tracepoints (once tracefs is mounted)")
	}
	if len(have) == 0 {
		return fail("no kprobes, tracepoints or fentry", "see the kprobes, tracepoints and fentry lines above")
	}
	return ok("%s", strings.Join(have, ", "))
}

// cacheMinFree is the free space a cache needs for an unpacked kheaders
// tree with room to spare.
const cacheMinFree = 256 << 20

// tmpfsMagic is statfs's f_type of tmpfs. (ramfs does not count: it has
// no size limit, and kheaders treats it as disk.)
const tmpfsMagic = 0x01021994

func probeCache(_ context.Context, env *Target) Finding {
	dir, ondisk := env.CacheDir, false
	if dir == "" {
		dir, ondisk = env.Sys.DefaultCacheDir()
	}
	// The directory may not exist yet: judge the nearest existing parent.
	at, state := dir, "exists"
	for {
		if _, err := os.Stat(env.Path(at)); err == nil {
			break
		}
		parent := filepath.Dir(at)
		if parent == at {
			return warn(dir+": no existing parent directory", "set KH_CACHE_DIR or --cache-dir to a directory on tmpfs")
		}
		at, state = parent, "will be created"
	}
	st, err := env.Sys.Statfs(env.Path(at))
	if err != nil {
		return warn(fmt.Sprintf("%s (%s): %s", dir, state, oneLineErr(err)), "set KH_CACHE_DIR or --cache-dir to a directory on tmpfs")
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	desc := fmt.Sprintf("%s (%s), %s free", dir, state, humanBytes(free))
	onTmpfs := int64(st.Type) == tmpfsMagic
	switch {
	case onTmpfs && free < cacheMinFree:
		return warn(desc+", on tmpfs but short of space", fmt.Sprintf("free at least %s there, or set KH_CACHE_DIR elsewhere", humanBytes(cacheMinFree)))
	case onTmpfs:
		return ok("%s, tmpfs", desc)
	case env.AllowDisk:
		return ok("%s, not tmpfs (allowed by --allow-disk)", desc)
	case env.Sys.EUID() == 0 && env.CacheDir == "":
		return ok("%s, not tmpfs: kh mounts a private tmpfs there", desc)
	case env.Sys.EUID() == 0:
		// kh mounts nothing over a directory the user named, unless asked.
		return warn(desc+", not on tmpfs: kh refuses it", "pass --mount-tmpfs (on an empty directory) or --allow-disk, or choose a tmpfs directory")
	case ondisk:
		return warn(desc+", on disk (no tmpfs location here); trees stay keyed by content", "run kh as root to get a private tmpfs")
	}
	return warn(desc+", not on tmpfs: kh refuses it", "set KH_CACHE_DIR or --cache-dir to a tmpfs directory, or pass --allow-disk")
}

// humanBytes formats a size as B, KiB, MiB, GiB or TiB.
func humanBytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}
