package adbtest

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/internal/vmtest"
)

// The guest's Android-shaped layout.
const (
	// SystemBin holds the shell (busybox, standing in for Android's mksh
	// and toybox) and the daemon.
	SystemBin = "/system/bin"
	// ModulePath is where the device keeps kheaders.ko: a GKI module on
	// the system_dlkm partition, flat (Kleaf's build_flatten), not
	// loaded.
	ModulePath = "/system_dlkm/lib/modules/kheaders.ko"
	// GuestPort is the port the first daemon listens on in the guest;
	// daemon i listens on GuestPort+i.
	GuestPort = 5555
)

// applets are the busybox commands linked into /system/bin: what the
// device side of kh (and a test) runs, all of which Android's toybox has.
var applets = []string{"sh", "cat", "uname", "id", "stat", "sha256sum", "mkdir", "rm", "kill",
	"sleep", "find", "echo", "ls", "chmod", "head", "tail", "test", "[", "dd", "df", "mount",
	"umount", "cp", "mv", "true", "false", "env", "ps", "grep", "wc", "ln", "touch"}

var elfMachines = map[vmtest.Arch]elf.Machine{vmtest.X86_64: elf.EM_X86_64, vmtest.ARM64: elf.EM_AARCH64}

// Busybox returns a static busybox for arch: $KH_BUSYBOX_<ARCH>
// (KH_BUSYBOX_ARM64, KH_BUSYBOX_X86_64), /usr/local/lib/kh-test/<arch>/busybox
// (where .ci/run puts the arm64 one, from Debian's busybox-static:arm64),
// or /bin/busybox (Debian's busybox-static, for the host's arch). It skips
// the test if there is none.
func Busybox(t testing.TB, arch vmtest.Arch) string {
	t.Helper()
	cands := []string{
		os.Getenv("KH_BUSYBOX_" + strings.ToUpper(string(arch))),
		filepath.Join("/usr/local/lib/kh-test", string(arch), "busybox"),
		"/bin/busybox",
	}
	for _, c := range cands {
		if c == "" {
			continue
		}
		f, err := elf.Open(c)
		if err != nil {
			continue
		}
		static := true
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				static = false
			}
		}
		ok := static && f.Machine == elfMachines[arch]
		f.Close()
		if ok {
			return c
		}
	}
	testkernel.Skip(t, "no static busybox for %s (looked at %q): apt-get install busybox-static; for arm64 apt-get download busybox-static:arm64 and extract bin/busybox to /usr/local/lib/kh-test/arm64/busybox (see .ci/run)", arch, cands)
	return ""
}

// Guest is a booted guest shaped like an Android device, reachable by
// the host's adb through 127.0.0.1 only.
type Guest struct {
	VM *vmtest.VM
	// Addrs are the host addresses (127.0.0.1:PORT) forwarded to the
	// guest's GuestPort+i: the serials `adb connect` gives the daemons.
	Addrs []string
}

// GuestConfig describes a Guest.
type GuestConfig struct {
	Kernel *vmtest.Kernel
	// Daemons is how many forwarded ports to set up (1 if zero).
	Daemons int
	// Files are more initramfs files.
	Files []vmtest.File
	// NoModule leaves kheaders.ko out of /system_dlkm.
	NoModule bool
	// MemoryMB is the guest's RAM (768 if zero).
	MemoryMB int
	// Su installs /system/bin/su (package su here), setuid root: root for
	// a daemon that runs as the shell user.
	Su bool
}

// BootGuest boots k with the daemon at /system/bin/adbd, busybox as
// /system/bin/sh and its applets, kheaders.ko at ModulePath (unless
// cfg.NoModule), /data/local/tmp, and a user-mode NIC whose only way in
// is hostfwd from 127.0.0.1 (restrict=on: the guest reaches nothing
// outside). It brings up eth0 but starts no daemon (see StartDaemon).
func BootGuest(t testing.TB, h *vmtest.Harness, cfg GuestConfig) *Guest {
	t.Helper()
	k := cfg.Kernel
	bb := Busybox(t, k.Arch)
	n := cfg.Daemons
	if n == 0 {
		n = 1
	}
	files := []vmtest.File{
		{Path: SystemBin + "/busybox", HostPath: bb, Mode: 0o755},
		{Path: "/data/local/tmp", Dir: true, Mode: os.ModeSticky | 0o777},
	}
	for _, a := range applets {
		files = append(files, vmtest.File{Path: SystemBin + "/" + a, Symlink: "busybox"})
	}
	if !cfg.NoModule {
		files = append(files, vmtest.File{Path: ModulePath, HostPath: k.File("kheaders.ko")})
	}
	if cfg.Su {
		files = append(files, vmtest.File{Path: SystemBin + "/su", HostPath: buildSu(t, k.Arch), Mode: os.ModeSetuid | 0o755})
	}
	files = append(files, cfg.Files...)
	fwd := "user,id=n0,restrict=on"
	g := &Guest{}
	for i := range n {
		port := FreePort(t)
		fwd += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", port, GuestPort+i)
		g.Addrs = append(g.Addrs, Addr(port))
	}
	mem := cfg.MemoryMB
	if mem == 0 {
		mem = 768
	}
	g.VM = h.Boot(t, vmtest.Config{
		Kernel:   k,
		Files:    files,
		Programs: []vmtest.Program{{Package: "./internal/adbd/cmd/adbd", Path: SystemBin + "/adbd"}},
		QEMUArgs: []string{"-netdev", fwd, "-device", "virtio-net-pci,netdev=n0"},
		MemoryMB: mem,
		// On a loaded host, TCG can miss the x86 IO-APIC timer check
		// at boot ("IO-APIC + timer doesn't work!", a panic): skip it,
		// as virtual machines usually do.
		Cmdline: "no_timer_check",
	})
	g.VM.Run(t, "vmtest", "ifup", "eth0", "10.0.2.15/24").OK(t)
	return g
}

// buildSu cross-builds the su of this package for arch.
func buildSu(t testing.TB, arch vmtest.Arch) string {
	t.Helper()
	goTool := testkernel.NeedTool(t, "go")
	goarch := map[vmtest.Arch]string{vmtest.X86_64: "amd64", vmtest.ARM64: "arm64"}[arch]
	out := filepath.Join(t.TempDir(), "su")
	c := exec.Command(goTool, "build", "-o", out, "github.com/khtool/kh/internal/vmtest/adbtest/su")
	c.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build su: %v: %s", err, b)
	}
	return out
}

// StartDaemon starts daemon i (listening on GuestPort+i) with extra
// adbd flags and returns its guest PID. Its commands run with
// PATH=/system/bin and /system/bin/sh.
func (g *Guest) StartDaemon(t testing.TB, i int, flags ...string) int {
	t.Helper()
	args := append([]string{"/bin/vmtest", "spawn", fmt.Sprintf("/tmp/adbd%d.log", i), SystemBin + "/adbd",
		"-listen", fmt.Sprintf(":%d", GuestPort+i), "-shell", SystemBin + "/sh", "-v"}, flags...)
	r := g.VM.RunCommand(t, vmtest.Command{Args: args, Env: []string{"PATH=" + SystemBin}}).OK(t)
	pid, err := strconv.Atoi(strings.TrimSpace(string(r.Stdout)))
	if err != nil {
		t.Fatalf("spawn adbd: %q", r.Stdout)
	}
	return pid
}

// StopDaemon kills a daemon started by StartDaemon (and so every command
// it runs: the host sees the device go away).
func (g *Guest) StopDaemon(t testing.TB, pid int) {
	t.Helper()
	g.VM.RunCommand(t, vmtest.Command{Args: []string{SystemBin + "/kill", "-9", strconv.Itoa(pid)}}).OK(t)
}

// DaemonLog is daemon i's log.
func (g *Guest) DaemonLog(t testing.TB, i int) string {
	t.Helper()
	return string(g.VM.ReadFile(t, fmt.Sprintf("/tmp/adbd%d.log", i)))
}
