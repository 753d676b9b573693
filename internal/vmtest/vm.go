package vmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/khtool/kh/internal/atomicfile"
	"github.com/khtool/kh/internal/vmtest/vmproto"
)

// Config says what to boot.
type Config struct {
	Arch Arch
	// Kernel is the kernel to boot; nil means FindKernel(Arch). Arch may
	// be left empty when Kernel is set.
	Kernel *Kernel
	// Files are added to the initramfs, after the harness's own: /init
	// (guestinit), /bin/vmtest (its tool mode), /bin/kh, and the
	// directories /dev /proc /sys /tmp /root and the share mount point.
	Files []File
	// Programs are more main packages to cross-build and install.
	Programs []Program
	// MemoryMB is the guest RAM, 512 if zero. CPUs is the number of
	// virtual CPUs, 1 if zero (the x86_64 test kernel is uniprocessor).
	MemoryMB int
	CPUs     int
	// Cmdline is appended to the kernel command line.
	Cmdline string
	// TmpfsRoot keeps the kernel's default root file system, tmpfs. By
	// default the harness boots with rootfstype=ramfs, so that the only
	// tmpfs in the guest is one that kh (or the scenario) mounted.
	TmpfsRoot bool
	// BootTimeout bounds the time from starting qemu to the guest being
	// ready; DefaultBootTimeout if zero.
	BootTimeout time.Duration
	// QEMU overrides the qemu binary (name or path).
	QEMU string
	// Console, if set, receives a copy of the serial console as it
	// arrives (the harness keeps it in any case; see VM.Console).
	Console io.Writer
	// Shares are more host directories exported to the guest over 9p
	// (virtio), each under its own mount tag; the guest mounts them with
	// VM.Mount(t, tag, dir, "9p", "trans=virtio,version=9p2000.L").
	Shares []Share
	// QEMUArgs are appended to qemu's command line, e.g. a user-mode
	// network device ("-netdev", "user,id=n0,hostfwd=...", "-device",
	// "virtio-net-pci,netdev=n0"; the 6.12 kernels have virtio-net).
	QEMUArgs []string
}

// Share is a host directory exported to the guest over 9p.
type Share struct {
	Tag      string // the 9p mount tag; must not be vmproto.MountTag
	HostPath string
	// ReadOnly makes qemu refuse every write from the guest.
	ReadOnly bool
}

// Program is a main package built for the guest and installed in the
// initramfs.
type Program struct {
	Package string // relative to the module root, e.g. "./cmd/kh"
	Path    string // absolute guest path, e.g. "/bin/kh"
}

// Timeouts. TCG emulation runs Go code about ten times slower than the
// host, so they are generous; they exist to turn a hang into a failure.
const (
	DefaultBootTimeout    = 2 * time.Minute
	DefaultCommandTimeout = 2 * time.Minute // a command, enforced by the guest
	DefaultActionTimeout  = 2 * time.Minute // any other step, enforced by the host
)

const (
	// answerGrace is how much longer than a command's timeout the host
	// waits for the guest to report it.
	answerGrace    = 30 * time.Second
	shutdownWait   = 30 * time.Second
	pollInterval   = 10 * time.Millisecond
	consoleMax     = 8 << 20
	consoleTailLen = 40
)

// ErrVMExited is wrapped by the error of a step or boot that got no answer
// because qemu exited: the guest kernel panicked, the init died, or qemu
// failed. The error quotes the cause and the end of the console.
var ErrVMExited = errors.New("VM exited")

// VM is a running guest. Its methods run one step at a time.
type VM struct {
	Arch   Arch
	Kernel *Kernel
	// Hello is what the guest reported once booted.
	Hello vmproto.Hello
	// BootTime is the wall time from starting qemu to the guest being
	// ready.
	BootTime time.Duration

	share   string
	cmd     *exec.Cmd
	console *consoleBuffer
	exited  chan struct{}
	waitErr error // qemu's exit; read after exited is closed

	mu     sync.Mutex // serialises steps
	nextID int
	dead   error // why the VM takes no more steps
}

// Start builds the initramfs for cfg in dir (which the caller owns and
// removes), boots qemu and waits for the guest to be ready. Errors about
// missing qemu or kernels wrap ErrUnavailable. On error nothing is left
// running.
func (h *Harness) Start(ctx context.Context, cfg Config, dir string) (*VM, error) {
	k := cfg.Kernel
	if k == nil {
		var err error
		if k, err = FindKernel(ctx, cfg.Arch); err != nil {
			return nil, err
		}
	} else if cfg.Arch != "" && cfg.Arch != k.Arch {
		return nil, fmt.Errorf("config asks for %s but its kernel is %s", cfg.Arch, k.Arch)
	}
	m, err := k.Arch.machine()
	if err != nil {
		return nil, err
	}
	qemuName := cfg.QEMU
	if qemuName == "" {
		qemuName = m.qemu
	}
	qemu, err := exec.LookPath(qemuName)
	if err != nil {
		return nil, fmt.Errorf("%s (Debian package %s): %w: %w", qemuName, m.pkg, ErrUnavailable, err)
	}
	files, err := h.guestFiles(ctx, k.Arch, cfg)
	if err != nil {
		return nil, err
	}
	initrd := filepath.Join(dir, "initramfs.cpio.gz")
	if err := writeInitramfs(initrd, files); err != nil {
		return nil, err
	}
	share := filepath.Join(dir, "share")
	if err := os.MkdirAll(share, 0o755); err != nil {
		return nil, fmt.Errorf("vmtest share: %w", err)
	}
	mem, cpus := cfg.MemoryMB, cfg.CPUs
	if mem == 0 {
		mem = 512
	}
	if cpus == 0 {
		cpus = 1
	}
	cmdline := "console=" + m.console + " panic=-1 quiet"
	if m.cmdline != "" {
		cmdline += " " + m.cmdline
	}
	if !cfg.TmpfsRoot {
		cmdline += " rootfstype=ramfs"
	}
	if cfg.Cmdline != "" {
		cmdline += " " + cfg.Cmdline
	}
	args := append(append([]string{}, m.args...),
		"-accel", "tcg", "-m", fmt.Sprint(mem), "-smp", fmt.Sprint(cpus),
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", k.Image(), "-initrd", initrd,
		// In qemu option lists a comma is written twice.
		"-virtfs", "local,path="+strings.ReplaceAll(share, ",", ",,")+",mount_tag="+vmproto.MountTag+",security_model=none",
		"-append", cmdline)
	for _, sh := range cfg.Shares {
		if sh.Tag == "" || sh.Tag == vmproto.MountTag || strings.Contains(sh.Tag, ",") {
			return nil, fmt.Errorf("vmtest share %q: bad mount tag", sh.Tag)
		}
		opt := "local,path=" + strings.ReplaceAll(sh.HostPath, ",", ",,") + ",mount_tag=" + sh.Tag + ",security_model=none"
		if sh.ReadOnly {
			opt += ",readonly=on"
		}
		args = append(args, "-virtfs", opt)
	}
	args = append(args, cfg.QEMUArgs...)
	vm := &VM{
		Arch:    k.Arch,
		Kernel:  k,
		share:   share,
		console: &consoleBuffer{tee: cfg.Console},
		exited:  make(chan struct{}),
	}
	vm.cmd = exec.Command(qemu, args...)
	vm.cmd.Stdout = vm.console
	vm.cmd.Stderr = vm.console
	// Should the test binary die, take qemu with it.
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := vm.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", qemuName, err)
	}
	go func() {
		vm.waitErr = vm.cmd.Wait()
		close(vm.exited)
	}()
	boot := cfg.BootTimeout
	if boot == 0 {
		boot = DefaultBootTimeout
	}
	b, err := vm.await(ctx, vmproto.ReadyName, boot, "boot")
	if err == nil {
		err = json.Unmarshal(b, &vm.Hello)
	}
	if err != nil {
		vm.kill()
		return nil, fmt.Errorf("%s: %w", k.Arch, err)
	}
	vm.BootTime = time.Since(start)
	return vm, nil
}

// guestFiles builds the programs and lists the initramfs contents.
func (h *Harness) guestFiles(ctx context.Context, arch Arch, cfg Config) ([]File, error) {
	progs := append([]Program{{initPackage, "/init"}, {khPackage, "/bin/kh"}}, cfg.Programs...)
	files := []File{
		{Path: "/bin/vmtest", Symlink: "/init"},
		{Path: "/proc", Dir: true},
		{Path: "/sys", Dir: true},
		{Path: "/tmp", Dir: true, Mode: 0o777 | os.ModeSticky},
		{Path: "/root", Dir: true, Mode: 0o700},
		{Path: vmproto.Mountpoint, Dir: true},
	}
	for _, p := range progs {
		bin, err := h.Build(ctx, p.Package, arch)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: p.Path, HostPath: bin, Mode: 0o755})
	}
	return append(files, cfg.Files...), nil
}

// Console returns the serial console output so far (kernel messages and
// anything the init printed), trimmed at the front if it grew huge.
func (vm *VM) Console() string { return vm.console.String() }

// Running reports whether qemu is still running.
func (vm *VM) Running() bool {
	select {
	case <-vm.exited:
		return false
	default:
		return true
	}
}

// Close shuts the guest down and waits for qemu to exit, killing it if it
// does not within 30 seconds (an error). A step still running in another
// goroutine is not waited for: qemu is killed.
func (vm *VM) Close() error {
	if !vm.mu.TryLock() {
		vm.kill()
		return nil
	}
	defer vm.mu.Unlock()
	if !vm.Running() {
		vm.setDead(errors.New("VM closed"))
		return nil
	}
	var err error
	if vm.dead == nil {
		vm.nextID++
		err = vm.writeRequest(vmproto.Step{ID: vm.nextID, Op: vmproto.OpShutdown})
		if err == nil {
			select {
			case <-vm.exited:
			case <-time.After(shutdownWait):
				err = fmt.Errorf("%s guest did not shut down within %v; qemu killed", vm.Arch, shutdownWait)
			}
		}
	}
	vm.kill()
	vm.setDead(errors.New("VM closed"))
	return err
}

func (vm *VM) setDead(err error) {
	if vm.dead == nil {
		vm.dead = err
	}
}

// kill ends qemu and waits for it (briefly: a SIGKILLed process goes fast).
func (vm *VM) kill() {
	if !vm.Running() {
		return
	}
	vm.cmd.Process.Kill()
	select {
	case <-vm.exited:
	case <-time.After(10 * time.Second):
	}
}

// writeRequest publishes a request in the share, atomically: the guest
// polls for the name and must never read a partial file.
func (vm *VM) writeRequest(s vmproto.Step) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(vm.share, vmproto.RequestName(s.ID)), 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// await waits for the guest to publish the share file name and returns
// its contents. It gives up when qemu exits, ctx ends or timeout passes;
// in the last two cases it kills qemu, since the guest is in an unknown
// state.
func (vm *VM) await(ctx context.Context, name string, timeout time.Duration, what string) ([]byte, error) {
	p := filepath.Join(vm.share, name)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(p); err == nil {
			return b, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		select {
		case <-tick.C:
		case <-vm.exited:
			if b, err := os.ReadFile(p); err == nil {
				return b, nil
			}
			err := vm.exitError(what)
			vm.setDead(err)
			return nil, err
		case <-timer.C:
			vm.kill()
			err := fmt.Errorf("%s: no answer from the guest within %v; qemu killed\n%s", what, timeout, vm.consoleTail())
			vm.setDead(err)
			return nil, err
		case <-ctx.Done():
			vm.kill()
			err := fmt.Errorf("%s: %w; qemu killed", what, context.Cause(ctx))
			vm.setDead(err)
			return nil, err
		}
	}
}

// exitError explains why qemu exited while the host waited for what.
func (vm *VM) exitError(what string) error {
	log := vm.console.String()
	var reason string
	switch {
	case strings.Contains(log, vmproto.FatalPrefix):
		reason = "guest init failed: " + lineAt(log, strings.LastIndex(log, vmproto.FatalPrefix))
	case strings.Contains(log, "Kernel panic"):
		reason = "guest kernel panicked: " + lineAt(log, strings.Index(log, "Kernel panic"))
	case vm.waitErr != nil:
		reason = "qemu failed: " + vm.waitErr.Error()
	default:
		reason = "qemu exited without an answer (guest rebooted?)"
	}
	return fmt.Errorf("%s: %w: %s\n%s", what, ErrVMExited, reason, vm.consoleTail())
}

// lineAt returns the console line containing byte offset i.
func lineAt(s string, i int) string {
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		return strings.TrimSpace(s[start:])
	}
	return strings.TrimSpace(s[start : i+end])
}

func (vm *VM) consoleTail() string {
	lines := strings.Split(strings.TrimRight(vm.console.String(), "\n"), "\n")
	if len(lines) > consoleTailLen {
		lines = lines[len(lines)-consoleTailLen:]
	}
	return fmt.Sprintf("--- %s console, last %d lines ---\n%s\n--- end of console ---", vm.Arch, len(lines), strings.Join(lines, "\n"))
}

// consoleBuffer keeps qemu's output: the serial console plus qemu's own
// messages. Past consoleMax it drops the oldest half.
type consoleBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped int
	tee     io.Writer
}

func (c *consoleBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	if len(c.buf) > consoleMax {
		cut := len(c.buf) - consoleMax/2
		c.dropped += cut
		c.buf = append([]byte(nil), c.buf[cut:]...)
	}
	if c.tee != nil {
		c.tee.Write(p)
	}
	return len(p), nil
}

func (c *consoleBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Serial consoles end lines with \r\n.
	s := strings.ReplaceAll(string(c.buf), "\r\n", "\n")
	if c.dropped > 0 {
		s = fmt.Sprintf("[... %d bytes dropped ...]\n", c.dropped) + s
	}
	return s
}

// guestPath checks that p is an absolute guest path.
func guestPath(p string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("guest path %q is not absolute", p)
	}
	return nil
}
