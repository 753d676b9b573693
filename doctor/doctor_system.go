package doctor

import (
	"errors"
	"fmt"
	"github.com/khtool/kh/cache"
	"github.com/khtool/kh/internal/caps"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/kernel"
)

// Uname is the part of uname(2) the checks use.
type Uname struct {
	Release string // uname -r, e.g. "6.1.192"
	Version string // uname -v
	Machine string // uname -m, e.g. "x86_64", "aarch64"
}

// System is what Run asks the kernel directly, rather than through
// files below its root directory. LiveSystem is the running system;
// tests substitute a fake.
type System interface {
	// Uname returns the kernel's release and machine.
	Uname() (Uname, error)
	// EUID is the effective user ID.
	EUID() int
	// Capabilities returns the effective capability set (bit n is
	// capability n, as capget(2) reports it).
	Capabilities() (uint64, error)
	// Statfs describes the file system holding path.
	Statfs(path string) (unix.Statfs_t, error)
	// Mount mounts a pseudo file system of type fstype on dir.
	Mount(fstype, dir string) error
	// ProbeProgramType returns nil when programs of type t load.
	ProbeProgramType(t ebpf.ProgramType) error
	// ProbeFentry returns nil when an fentry program loads and attaches.
	ProbeFentry() error
	// DefaultCacheDir is kh's cache directory when none is given, and
	// whether that location is on disk by design (Android).
	DefaultCacheDir() (dir string, ondisk bool)
}

// LiveSystem returns the running system.
func LiveSystem() System { return liveSystem{} }

type liveSystem struct{}

func (liveSystem) Uname() (Uname, error) {
	u, err := kernel.Running()
	return Uname(u), err
}
func (liveSystem) EUID() int { return os.Geteuid() }
func (liveSystem) DefaultCacheDir() (string, bool) {
	return cache.DefaultDir()
}

func (liveSystem) Capabilities() (uint64, error) { return caps.Effective() }

func (liveSystem) Statfs(path string) (unix.Statfs_t, error) {
	var st unix.Statfs_t
	err := unix.Statfs(path, &st)
	return st, err
}

func (liveSystem) Mount(fstype, dir string) error {
	if err := unix.Mount(fstype, dir, fstype, 0, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, dir, err)
	}
	return nil
}

func (liveSystem) ProbeProgramType(t ebpf.ProgramType) error { return features.HaveProgramType(t) }

// ProbeFentry loads an empty fentry program on a kernel function that
// every kernel has and attaches it, then detaches and unloads it.
func (liveSystem) ProbeFentry() error {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return fmt.Errorf("no kernel BTF: %w", err)
	}
	target := ""
	for _, name := range []string{"vfs_read", "do_faccessat", "ksys_read", "schedule"} {
		var fn *btf.Func
		if spec.TypeByName(name, &fn) == nil {
			target = name
			break
		}
	}
	if target == "" {
		return errors.New("no known kernel function in BTF to probe with")
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:       ebpf.Tracing,
		AttachType: ebpf.AttachTraceFEntry,
		AttachTo:   target,
		License:    "GPL",
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
	})
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("the kernel refused an fentry program on %s (%w)", target, unix.EPERM)
	}
	if err != nil {
		return fmt.Errorf("load fentry/%s: %w", target, err)
	}
	defer prog.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		return fmt.Errorf("attach fentry/%s: %w", target, err)
	}
	return l.Close()
}
