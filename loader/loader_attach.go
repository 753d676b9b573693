package loader

import (
	"context"
	"errors"
	"fmt"
	"github.com/khtool/kh/internal/tracefs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// AttachKind is the kind of hook a program attaches to.
type AttachKind string

// The attach kinds kh run knows, named by their section prefix.
const (
	AttachKprobe        AttachKind = "kprobe"         // kprobe/SYMBOL[+OFFSET]
	AttachKretprobe     AttachKind = "kretprobe"      // kretprobe/SYMBOL
	AttachKsyscall      AttachKind = "ksyscall"       // ksyscall/SYSCALL: kprobe on the syscall's entry point
	AttachKretsyscall   AttachKind = "kretsyscall"    // kretsyscall/SYSCALL
	AttachTracepoint    AttachKind = "tracepoint"     // tracepoint/CATEGORY/NAME or tp/CATEGORY/NAME
	AttachRawTracepoint AttachKind = "raw_tracepoint" // raw_tracepoint/NAME or raw_tp/NAME
	AttachFentry        AttachKind = "fentry"         // fentry/FUNCTION
	AttachFexit         AttachKind = "fexit"          // fexit/FUNCTION
	AttachTpBTF         AttachKind = "tp_btf"         // tp_btf/NAME
	AttachUprobe        AttachKind = "uprobe"         // uprobe/PATH:SYMBOL[+OFFSET]
	AttachUretprobe     AttachKind = "uretprobe"      // uretprobe/PATH:SYMBOL[+OFFSET]
)

// sectionHelp lists the section forms, for error messages.
const sectionHelp = "kh run attaches kprobe/SYM, kretprobe/SYM, ksyscall/NAME, kretsyscall/NAME, tracepoint/CAT/NAME, tp/CAT/NAME, raw_tracepoint/NAME, raw_tp/NAME, fentry/SYM, fexit/SYM, tp_btf/NAME, uprobe/PATH:SYM, uretprobe/PATH:SYM"

// AttachPoint says where a program attaches, as parsed from its section.
type AttachPoint struct {
	Kind AttachKind `json:"kind"`
	// Target is the kernel symbol (kprobes, fentry/fexit), the syscall
	// name (ksyscall), "CATEGORY/NAME" (tracepoint), the tracepoint name
	// (raw_tracepoint, tp_btf) or the symbol in Path (uprobes).
	Target string `json:"target"`
	// Path is the executable or library of a uprobe.
	Path string `json:"path,omitempty"`
	// Offset is added to the symbol's address (kprobe, uprobe).
	Offset uint64 `json:"offset,omitempty"`
}

// ParseSection parses a program's ELF section name into its attach
// point. It fails for sections kh run cannot attach.
func ParseSection(section string) (AttachPoint, error) {
	prefix, rest, _ := strings.Cut(section, "/")
	kind, ok := map[string]AttachKind{
		"kprobe": AttachKprobe, "kretprobe": AttachKretprobe,
		"ksyscall": AttachKsyscall, "kretsyscall": AttachKretsyscall,
		"tracepoint": AttachTracepoint, "tp": AttachTracepoint,
		"raw_tracepoint": AttachRawTracepoint, "raw_tp": AttachRawTracepoint,
		"fentry": AttachFentry, "fexit": AttachFexit, "tp_btf": AttachTpBTF,
		"uprobe": AttachUprobe, "uretprobe": AttachUretprobe,
	}[prefix]
	if !ok {
		return AttachPoint{}, fmt.Errorf("unknown section: %s", sectionHelp)
	}
	ap := AttachPoint{Kind: kind}
	if rest == "" {
		return ap, fmt.Errorf("%s section without a target (want %s/TARGET)", prefix, prefix)
	}
	switch kind {
	case AttachKprobe, AttachKretprobe:
		sym, off, err := splitOffset(rest)
		if err != nil {
			return ap, err
		}
		if kind == AttachKretprobe && off != 0 {
			return ap, errors.New("a kretprobe cannot have an offset")
		}
		ap.Target, ap.Offset = sym, off
	case AttachTracepoint:
		cat, name, ok := strings.Cut(rest, "/")
		if !ok || cat == "" || name == "" || strings.Contains(name, "/") {
			return ap, fmt.Errorf("want %s/CATEGORY/NAME", prefix)
		}
		ap.Target = rest
	case AttachUprobe, AttachUretprobe:
		i := strings.LastIndex(rest, ":")
		if i <= 0 || i == len(rest)-1 {
			return ap, fmt.Errorf("want %s/PATH:SYMBOL[+OFFSET], e.g. %s//usr/bin/bash:readline", prefix, prefix)
		}
		sym, off, err := splitOffset(rest[i+1:])
		if err != nil {
			return ap, err
		}
		ap.Path, ap.Target, ap.Offset = rest[:i], sym, off
	default:
		if strings.Contains(rest, "/") {
			return ap, fmt.Errorf("want %s/NAME", prefix)
		}
		ap.Target = rest
	}
	return ap, nil
}

// splitOffset splits "SYMBOL+OFFSET" (decimal or 0x hex).
func splitOffset(s string) (string, uint64, error) {
	sym, off, ok := strings.Cut(s, "+")
	if sym == "" {
		return "", 0, fmt.Errorf("empty symbol in %q", s)
	}
	if !ok {
		return sym, 0, nil
	}
	n, err := strconv.ParseUint(off, 0, 64)
	if err != nil {
		return "", 0, fmt.Errorf("bad offset in %q", s)
	}
	return sym, n, nil
}

// traceFSPrefix names the kprobe and uprobe events cilium/ebpf creates
// through tracefs on kernels without the perf kprobe PMU, so that any
// leftover is recognisable as kh's.
const traceFSPrefix = "kh"

// Attach attaches every program where its section says, in name order.
// It mounts tracefs first when a tracepoint needs it and none is
// mounted. If one program fails to attach, the ones already attached are
// detached again and the error names the program.
func (o *Object) Attach(ctx context.Context) error {
	if o.coll == nil {
		return errors.New("attach: object is closed")
	}
	if len(o.links) > 0 {
		return errors.New("attach: already attached")
	}
	for _, p := range o.progs {
		if p.Attach.Kind == AttachTracepoint {
			if _, _, err := tracefs.EnsureTraceFS(o.logger); err != nil {
				return fmt.Errorf("attach program %s (%s): %w", p.Name, p.Section, err)
			}
			break
		}
	}
	for _, p := range o.progs {
		if err := ctx.Err(); err != nil {
			o.Detach()
			return err
		}
		l, err := o.attachOne(p)
		if err != nil && isKprobe(p.Attach.Kind) && !kprobesAvailable() {
			err = errNoKprobes
		}
		if err != nil && isTrampoline(p.Attach.Kind) && errors.Is(err, ebpf.ErrNotSupported) {
			err = fmt.Errorf("%w: this kernel cannot attach %s programs (no BPF trampoline for this architecture or kernel); use kprobes or tracepoints", err, p.Attach.Kind)
		}
		if err != nil {
			o.Detach()
			return fmt.Errorf("attach program %s (%s): %w", p.Name, p.Section, err)
		}
		o.links = append(o.links, attachedLink{prog: p, link: l})
		o.logger.Debug("attached", "program", p.Name, "section", p.Section)
	}
	return nil
}

// errNoKprobes explains a failed kprobe on a kernel without kprobes.
var errNoKprobes = errors.New("this kernel has no kprobes (no kprobe PMU, no kprobe_events: built without CONFIG_KPROBES?); use fentry/SYM or a tracepoint instead")

func isTrampoline(k AttachKind) bool {
	return k == AttachFentry || k == AttachFexit
}

func isKprobe(k AttachKind) bool {
	return k == AttachKprobe || k == AttachKretprobe || k == AttachKsyscall || k == AttachKretsyscall
}

// kprobesAvailable reports whether the running kernel offers kprobes,
// through the perf kprobe PMU or tracefs kprobe_events.
func kprobesAvailable() bool {
	if _, err := os.Stat("/sys/bus/event_source/devices/kprobe/type"); err == nil {
		return true
	}
	if dir, err := tracefs.FindTraceFS(); err == nil {
		if _, err := os.Stat(dir + "/kprobe_events"); err == nil {
			return true
		}
	}
	return false
}

// attachOne attaches one program.
func (o *Object) attachOne(p *Program) (link.Link, error) {
	ap := p.Attach
	switch ap.Kind {
	case AttachKprobe:
		return link.Kprobe(ap.Target, p.prog, &link.KprobeOptions{Offset: ap.Offset, TraceFSPrefix: traceFSPrefix})
	case AttachKretprobe:
		return link.Kretprobe(ap.Target, p.prog, &link.KprobeOptions{TraceFSPrefix: traceFSPrefix})
	case AttachKsyscall, AttachKretsyscall:
		ks, err := o.kernelSymbols()
		if err != nil {
			return nil, err
		}
		sym, err := ks.syscallSymbol(ap.Target)
		if err != nil {
			return nil, err
		}
		if ap.Kind == AttachKretsyscall {
			return link.Kretprobe(sym, p.prog, &link.KprobeOptions{TraceFSPrefix: traceFSPrefix})
		}
		return link.Kprobe(sym, p.prog, &link.KprobeOptions{TraceFSPrefix: traceFSPrefix})
	case AttachTracepoint:
		cat, name, _ := strings.Cut(ap.Target, "/")
		return link.Tracepoint(cat, name, p.prog, nil)
	case AttachRawTracepoint:
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: ap.Target, Program: p.prog})
	case AttachFentry, AttachFexit, AttachTpBTF:
		// The target was bound at load time from the section name.
		return link.AttachTracing(link.TracingOptions{Program: p.prog})
	case AttachUprobe, AttachUretprobe:
		path, err := resolveBinary(ap.Path)
		if err != nil {
			return nil, err
		}
		ex, err := link.OpenExecutable(path)
		if err != nil {
			return nil, err
		}
		opts := &link.UprobeOptions{Offset: ap.Offset, TraceFSPrefix: traceFSPrefix}
		if ap.Kind == AttachUretprobe {
			return ex.Uretprobe(ap.Target, p.prog, opts)
		}
		return ex.Uprobe(ap.Target, p.prog, opts)
	}
	return nil, fmt.Errorf("unsupported attach kind %q", ap.Kind)
}

// resolveBinary finds the file a uprobe section names. A name with a
// slash is a path. Otherwise, as libbpf does, a shared library (a name
// containing ".so") is looked up in $LD_LIBRARY_PATH and the standard
// library directories, and a program in $PATH.
func resolveBinary(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	if strings.Contains(name, ".so") {
		var dirs []string
		if v := os.Getenv("LD_LIBRARY_PATH"); v != "" {
			dirs = append(dirs, strings.Split(v, ":")...)
		}
		dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib",
			"/lib/"+libTriplet(), "/usr/lib/"+libTriplet(), "/system/lib64", "/system/lib", "/apex/com.android.runtime/lib64/bionic")
		for _, d := range dirs {
			if d == "" {
				continue
			}
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
		return "", fmt.Errorf("shared library %s not found in LD_LIBRARY_PATH or the standard library directories", name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("program %s not found in $PATH (give a path: uprobe//PATH/TO/%s:SYMBOL)", name, name)
	}
	return filepath.Abs(p)
}

// libTriplet is Debian's multiarch directory name for this architecture.
func libTriplet() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64-linux-gnu"
	case "arm64":
		return "aarch64-linux-gnu"
	case "386":
		return "i386-linux-gnu"
	case "arm":
		return "arm-linux-gnueabihf"
	case "riscv64":
		return "riscv64-linux-gnu"
	case "s390x":
		return "s390x-linux-gnu"
	case "ppc64le":
		return "powerpc64le-linux-gnu"
	}
	return runtime.GOARCH + "-linux-gnu"
}

// Detach detaches every attached program, last attached first. The
// programs stay loaded until Close.
func (o *Object) Detach() error {
	var errs []error
	for i := len(o.links) - 1; i >= 0; i-- {
		l := o.links[i]
		if err := l.link.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach program %s: %w", l.prog.Name, err))
		}
	}
	o.links = nil
	return errors.Join(errs...)
}
