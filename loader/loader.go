package loader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/khtool/kh/internal/caps"
	"github.com/khtool/kh/internal/fsutil"
	"github.com/khtool/kh/internal/logx"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// MaxObjectSize caps the size of a BPF object file that Load reads.
const MaxObjectSize = 256 << 20

// ErrNotPermitted means the kernel refused to load BPF: kh needs root, or
// CAP_BPF with CAP_PERFMON, and kernel.unprivileged_bpf_disabled does not
// help unprivileged users with tracing programs.
var ErrNotPermitted = errors.New("no permission to load BPF programs (this needs root, or CAP_BPF and CAP_PERFMON)")

// LoadOptions control how Load reads, relocates and loads an object.
type LoadOptions struct {
	// BTF is a file with the kernel BTF to relocate the programs against
	// (CO-RE): raw BTF such as /sys/kernel/btf/vmlinux, or an ELF file
	// with a .BTF section. Empty means the running kernel's BTF. The
	// attach targets of fentry/fexit/tp_btf programs are always looked up
	// in the running kernel.
	BTF string
	// KConfig is the kernel configuration (plain or gzip) that fills
	// __kconfig externs. Empty means /proc/config.gz, then
	// /boot/config-RELEASE.
	KConfig string
	// Logger receives progress messages at debug and info level; nil
	// discards them.
	Logger *slog.Logger
	// VerifierLog, when not nil, receives the complete verifier log of a
	// program the kernel rejects.
	VerifierLog io.Writer
}

// Program is one program of a loaded object.
type Program struct {
	Name    string         // function name in the object
	Section string         // ELF section name, which says where it attaches
	Attach  AttachPoint    // the attach point parsed from Section
	ID      ebpf.ProgramID // kernel program ID
	Type    ebpf.ProgramType

	prog *ebpf.Program
}

// Object is a BPF object loaded into the kernel. Close it to unload it;
// Close also detaches whatever Attach attached.
type Object struct {
	// Path is the object file it was loaded from.
	Path string

	spec     *ebpf.CollectionSpec
	coll     *ebpf.Collection
	progs    []*Program
	links    []attachedLink
	logger   *slog.Logger
	printk   bool
	kallsyms *kallsyms
}

// attachedLink is a link and the program it belongs to.
type attachedLink struct {
	prog *Program
	link link.Link
}

// Load reads the BPF object at path, fills its __kconfig externs, checks
// that kh can attach every program (by section name), relocates it
// against the kernel's BTF and loads its maps and programs. Nothing is
// attached yet: call Attach. A rejected program gives a *RejectedError,
// missing privileges ErrNotPermitted, an unknown section an
// *UnknownSectionError.
func Load(ctx context.Context, path string, opts LoadOptions) (*Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logger := logx.OrDiscard(opts.Logger)
	data, err := readObject(path)
	if err != nil {
		return nil, err
	}
	data, kcfg := hideKconfig(data)
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not a usable BPF object: %w", path, err)
	}
	o := &Object{Path: path, spec: spec, logger: logger}
	if err := o.planPrograms(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if kcfg != nil {
		if err := o.fillKconfig(kcfg, opts.KConfig); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	var progOpts ebpf.ProgramOptions
	if opts.BTF != "" {
		kt, err := btf.LoadSpec(opts.BTF)
		if err != nil {
			return nil, fmt.Errorf("load kernel BTF %s: %w", opts.BTF, err)
		}
		progOpts.KernelTypes = kt
		logger.Debug("relocating against BTF", "file", opts.BTF)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		logger.Debug("cannot raise RLIMIT_MEMLOCK", "err", err)
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: progOpts})
	if err != nil {
		return nil, o.loadError(err, opts.VerifierLog)
	}
	o.coll = coll
	for _, p := range o.progs {
		p.prog = coll.Programs[p.Name]
		if p.prog == nil {
			coll.Close()
			return nil, fmt.Errorf("%s: program %s was not loaded", path, p.Name)
		}
		if info, err := p.prog.Info(); err == nil {
			p.ID, _ = info.ID()
		}
		logger.Debug("loaded program", "name", p.Name, "section", p.Section, "id", p.ID)
	}
	return o, nil
}

// readObject reads a BPF object file, refusing anything that is not a
// regular file of sane size.
func readObject(path string) ([]byte, error) {
	data, err := fsutil.ReadRegular(path, MaxObjectSize)
	if err != nil {
		return nil, fmt.Errorf("BPF object: %w", err)
	}
	return data, nil
}

// planPrograms parses every program's section into an attach point, so an
// object kh cannot attach fails before anything is loaded.
func (o *Object) planPrograms() error {
	for _, name := range slices.Sorted(maps.Keys(o.spec.Programs)) {
		ps := o.spec.Programs[name]
		ap, err := ParseSection(ps.SectionName)
		if err != nil {
			return &UnknownSectionError{Program: name, Section: ps.SectionName, Err: err}
		}
		o.progs = append(o.progs, &Program{Name: name, Section: ps.SectionName, Attach: ap, Type: ps.Type})
		for _, ins := range ps.Instructions {
			if ins.IsBuiltinCall() && (ins.Constant == int64(asm.FnTracePrintk) || ins.Constant == int64(asm.FnTraceVprintk)) {
				o.printk = true
			}
		}
	}
	if len(o.progs) == 0 {
		return errors.New("the object has no programs")
	}
	return nil
}

// UnknownSectionError means a program's section does not say where kh
// should attach it.
type UnknownSectionError struct {
	Program string
	Section string
	Err     error
}

func (e *UnknownSectionError) Error() string {
	return fmt.Sprintf("program %s: section %q: %v", e.Program, e.Section, e.Err)
}

func (e *UnknownSectionError) Unwrap() error { return e.Err }

// RejectedError means the verifier rejected a program.
type RejectedError struct {
	Program string   // program name
	Section string   // its section
	Log     []string // the complete verifier log, one line per element
	Err     error    // the error from the loader
}

// Error gives the program and the last meaningful lines of the verifier
// log, on one line.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("program %s (%s) rejected by the verifier: %s", e.Program, e.Section, strings.Join(verifierSummary(e.Log), ": "))
}

func (e *RejectedError) Unwrap() error { return e.Err }

// verifierSummary returns the last lines of a verifier log that explain
// the rejection, without the trailing statistics.
func verifierSummary(log []string) []string {
	var lines []string
	for _, l := range log {
		l = strings.TrimSpace(l)
		if l != "" {
			lines = append(lines, l)
		}
	}
	for len(lines) > 0 {
		last := lines[len(lines)-1]
		if strings.HasPrefix(last, "processed ") || strings.HasPrefix(last, "verification time") ||
			strings.HasPrefix(last, "stack depth") || strings.HasPrefix(last, "-- END PROG LOAD LOG --") {
			lines = lines[:len(lines)-1]
			continue
		}
		break
	}
	if len(lines) > 2 {
		lines = lines[len(lines)-2:]
	}
	if len(lines) == 0 {
		return []string{"no verifier log"}
	}
	return lines
}

// loadError turns an error from NewCollection into one line that names
// the failing program.
func (o *Object) loadError(err error, verifierLog io.Writer) error {
	o.logger.Debug("load failed", "err", err)
	prog := o.failedProgram(err)
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) && len(ve.Log) > 0 {
		re := &RejectedError{Log: ve.Log, Err: err}
		if prog != nil {
			re.Program, re.Section = prog.Name, prog.Section
		} else {
			re.Program, re.Section = "?", "?"
		}
		if verifierLog != nil {
			fmt.Fprintf(verifierLog, "verifier log of program %s (%s):\n%s\n", re.Program, re.Section, strings.Join(ve.Log, "\n"))
		}
		return fmt.Errorf("%s: %w", o.Path, re)
	}
	if errors.Is(err, unix.EPERM) {
		where, kind := o.Path, "these"
		if prog != nil {
			where = fmt.Sprintf("%s: program %s (%s)", o.Path, prog.Name, prog.Section)
			kind = string(prog.Attach.Kind)
		}
		if have, cerr := caps.Effective(); cerr == nil && caps.CanTrace(have) {
			return fmt.Errorf("%s: the kernel refused it (%w) although kh has CAP_BPF and CAP_PERFMON: a security policy (lockdown, an LSM) or the kernel's build forbids %s programs here", where, unix.EPERM, kind)
		}
		return fmt.Errorf("%s: %w", where, ErrNotPermitted)
	}
	return fmt.Errorf("%s: load: %w", o.Path, err)
}

// failedProgram finds the program an error from NewCollection is about
// ("program NAME: ...").
func (o *Object) failedProgram(err error) *Program {
	msg := err.Error()
	for _, p := range o.progs {
		if strings.HasPrefix(msg, "program "+p.Name+":") || strings.Contains(msg, "program "+p.Name+":") {
			return p
		}
	}
	return nil
}

// Programs returns the object's programs, sorted by name.
func (o *Object) Programs() []*Program { return append([]*Program(nil), o.progs...) }

// Maps returns the object's maps by name.
func (o *Object) Maps() map[string]*ebpf.Map {
	if o.coll == nil {
		return nil
	}
	return o.coll.Maps
}

// Types returns the object's own BTF: the types its programs were
// compiled with.
func (o *Object) Types() *btf.Spec { return o.spec.Types }

// UsesPrintk reports whether a program calls bpf_trace_printk (bpf_printk),
// whose output Stream reads from trace_pipe.
func (o *Object) UsesPrintk() bool { return o.printk }

// Close detaches every program and unloads the object. It is safe to call
// more than once.
func (o *Object) Close() error {
	err := o.Detach()
	if o.coll != nil {
		o.coll.Close()
		o.coll = nil
	}
	return err
}
