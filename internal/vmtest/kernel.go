package vmtest

import (
	"github.com/khtool/kh/internal/testkernel"

	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// ErrUnavailable marks errors about something the host lacks (qemu, the
// test kernels, the go command): tests skip on it rather than fail.
var ErrUnavailable = errors.New("not available on this host")

// Arch is a guest architecture, named like the test kernel directories.
type Arch string

// The architectures the test kernels are built for.
const (
	X86_64 Arch = "x86_64"
	ARM64  Arch = "arm64"
)

// Arches returns every supported architecture.
func Arches() []Arch { return []Arch{X86_64, ARM64} }

// GOARCH is the Go architecture of binaries for a guest of this arch.
func (a Arch) GOARCH() string {
	switch a {
	case X86_64:
		return "amd64"
	case ARM64:
		return "arm64"
	}
	return ""
}

// machine describes how qemu boots a guest of one arch.
type machine struct {
	qemu    string   // binary
	pkg     string   // Debian package providing it
	args    []string // machine-specific arguments
	image   string   // kernel image file in the kernel directory
	console string   // serial console device
	cmdline string   // machine-specific kernel arguments
}

func (a Arch) machine() (machine, error) {
	switch a {
	case X86_64:
		// no_timer_check: under TCG on a loaded host the kernel's check
		// that the IO-APIC delivers timer interrupts can miss its
		// window and panic ("IO-APIC + timer doesn't work!"); the check
		// is for broken BIOSes, not qemu.
		return machine{"qemu-system-x86_64", "qemu-system-x86", nil, "bzImage", "ttyS0", "no_timer_check"}, nil
	case ARM64:
		return machine{"qemu-system-aarch64", "qemu-system-arm", []string{"-M", "virt", "-cpu", "cortex-a57"}, "Image", "ttyAMA0", ""}, nil
	}
	return machine{}, fmt.Errorf("unknown arch %q (want x86_64 or arm64)", a)
}

// Kernel is one test kernel directory (see /work/shared/testkernel's
// README): the image plus kheaders.ko, kheaders.tar.xz, config,
// vmlinux.btf and release.
type Kernel struct {
	Arch    Arch
	Dir     string
	Release string // uname -r
	// Version is the kernel generation, V6_1 or V6_12 ("" for a kernel
	// loaded from elsewhere with LoadKernel).
	Version Version
}

// Version names a generation of the test kernels.
type Version string

// The test kernel generations (../shared/testkernel/README.md).
const (
	V6_1  Version = "6.1"  // x86_64/, arm64/: Android 14's GKI generation
	V6_12 Version = "6.12" // 6.12/x86_64, 6.12/arm64: Android 16's; virtio-net, arm64 fentry
)

// Versions lists the test kernel generations, oldest first.
func Versions() []Version { return []Version{V6_1, V6_12} }

// FindKernel locates the Linux 6.1 test kernel for arch where
// testkernel.Root finds the test kernels ($KH_TESTKERNEL,
// ../shared/testkernel). A missing kernel is an ErrUnavailable error.
func FindKernel(ctx context.Context, arch Arch) (*Kernel, error) {
	return FindKernelVersion(ctx, arch, V6_1)
}

// FindKernelVersion locates the test kernel of generation v for arch.
func FindKernelVersion(ctx context.Context, arch Arch, v Version) (*Kernel, error) {
	base, err := testkernel.Root()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	dir := filepath.Join(base, string(arch))
	switch v {
	case V6_1:
	case V6_12:
		dir = filepath.Join(base, "6.12", string(arch))
	default:
		return nil, fmt.Errorf("unknown test kernel version %q (want 6.1 or 6.12)", v)
	}
	k, err := LoadKernel(dir, arch)
	if err != nil {
		return nil, err
	}
	k.Version = v
	return k, nil
}

// LoadKernel reads the test kernel directory dir, built for arch.
func LoadKernel(dir string, arch Arch) (*Kernel, error) {
	m, err := arch.machine()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, m.image)); err != nil {
		return nil, fmt.Errorf("test kernel %s (set KH_TESTKERNEL): %w: %w", arch, ErrUnavailable, err)
	}
	rel, err := os.ReadFile(filepath.Join(dir, "release"))
	if err != nil {
		return nil, fmt.Errorf("test kernel %s: %w: %w", arch, ErrUnavailable, err)
	}
	return &Kernel{Arch: arch, Dir: dir, Release: strings.TrimSpace(string(rel))}, nil
}

// File returns the host path of a file of the kernel directory, e.g.
// File("kheaders.tar.xz").
func (k *Kernel) File(name string) string { return filepath.Join(k.Dir, name) }

// Image returns the host path of the kernel image.
func (k *Kernel) Image() string {
	m, _ := k.Arch.machine()
	return k.File(m.image)
}

// ModuleDir is the guest's /lib/modules/RELEASE.
func (k *Kernel) ModuleDir() string { return path.Join("/lib/modules", k.Release) }

// KheadersModulePath is where the kernel build installs kheaders.ko in the
// guest: /lib/modules/RELEASE/kernel/kernel/kheaders.ko.
func (k *Kernel) KheadersModulePath() string {
	return path.Join(k.ModuleDir(), "kernel", "kernel", "kheaders.ko")
}

// KheadersModule is the initramfs file that installs this kernel's
// kheaders.ko at KheadersModulePath (not loaded).
func (k *Kernel) KheadersModule() File {
	return File{Path: k.KheadersModulePath(), HostPath: k.File("kheaders.ko")}
}

// moduleRoot returns the directory of the go.mod of the module being
// tested.
func moduleRoot(ctx context.Context) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go command: %w: %w", ErrUnavailable, err)
	}
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(mod), nil
}
