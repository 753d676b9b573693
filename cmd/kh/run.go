package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/khtool/kh/loader"
)

// runOptions are the arguments and flags of `kh run`.
type runOptions struct {
	object   string // the BPF object
	output   string // -o
	duration time.Duration
	btfFile  string   // --btf
	kconfig  string   // --kconfig
	records  []string // --record MAP=TYPE
	af       adbFlags
}

// runCmd is `kh run`: load a BPF object, attach it, stream its output.
func (a *app) runCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run PROG.bpf.o",
		Short: "Load a BPF object, attach its programs and print what they produce",
		Long: `Load a BPF object built with clang -target bpf -O2 -g, relocate it (CO-RE)
against the running kernel's BTF, fill its __kconfig externs, attach every
program where its section says (kprobe/SYM, kretprobe/SYM, ksyscall/NAME,
tracepoint/CAT/NAME, raw_tp/NAME, fentry/SYM, fexit/SYM, tp_btf/NAME,
uprobe/PATH:SYM, ...) and print what the programs produce: bpf_printk lines
from tracefs trace_pipe and the records of ring buffers and perf event
arrays. Runs until interrupted or --duration ends, then detaches
everything; once attached it says on stderr what it attached and how to
stop. Needs root (or CAP_BPF and CAP_PERFMON).

Records are decoded through BTF when the object has a struct named like the
map or "event"; else they print as hex, with a warning. The usual pattern,
struct event *e = bpf_ringbuf_reserve(...), leaves the struct out of the
object's BTF (clang records the types of globals, not of locals): declare a
global of the type (struct event *unused __attribute__((unused));) or name
a type that is in the BTF with --record MAP=TYPE. --record must name a ring
buffer or perf event array of the object.`,
		Example: `  kh run opensnoop.bpf.o
  kh run -o json --duration 10s trace.bpf.o
  kh run --btf /sys/kernel/btf/vmlinux --record events=event trace.bpf.o`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.object = args[0]
			return a.runRun(cmd.Context(), &o)
		},
	}
	outputFlag(cmd, &o.output)
	o.af.add(cmd, true)
	f := cmd.Flags()
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (e.g. 10s); default: until interrupted")
	f.StringVar(&o.btfFile, "btf", "", "kernel BTF to relocate against: raw BTF or an ELF file with .BTF (default: the running kernel's)")
	f.StringVar(&o.kconfig, "kconfig", "", "kernel config for __kconfig externs, plain or gzip (default: /proc/config.gz, then /boot/config-RELEASE)")
	f.StringArrayVar(&o.records, "record", nil, "decode the records of map MAP as BTF type TYPE (MAP=TYPE, repeatable)")
	return cmd
}

// runRun is `kh run` once its command line is parsed.
func (a *app) runRun(ctx context.Context, o *runOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	if o.duration < 0 {
		return usagef("--duration must not be negative")
	}
	types := map[string]string{}
	for _, r := range o.records {
		m, t, ok := strings.Cut(r, "=")
		if !ok || m == "" || t == "" {
			return usagef("--record %q: want MAP=TYPE", r)
		}
		types[m] = t
	}
	if o.af.on() {
		if o.btfFile != "" || o.kconfig != "" {
			return usagef("--adb runs against the device's own BTF and configuration: not with --btf or --kconfig")
		}
		dargs := []string{"run", "-o", o.output}
		if o.duration > 0 {
			dargs = append(dargs, "--duration", o.duration.String())
		}
		for _, r := range o.records {
			dargs = append(dargs, "--record", r)
		}
		dargs = append(dargs, filepath.Base(o.object))
		return a.runOnDevice(ctx, &o.af, true, []string{o.object}, dargs)
	}
	sink := loader.TextSink(a.stdout)
	if o.output == "json" {
		sink = loader.JSONSink(a.stdout)
	}
	var verifierLog io.Writer
	if a.verbose {
		verifierLog = a.stderr
	}
	err := loader.Run(ctx, o.object, loader.RunOptions{
		LoadOptions: loader.LoadOptions{
			BTF:         o.btfFile,
			KConfig:     o.kconfig,
			Logger:      a.logger(),
			VerifierLog: verifierLog,
		},
		StreamOptions: loader.StreamOptions{
			Sink:        sink,
			RecordTypes: types,
			Undecoded: func(m string) {
				a.logger().Warn(fmt.Sprintf("records of map %s print as hex: %s; declare a global of the record's type (struct event *unused __attribute__((unused));) or name a type of the object's BTF with --record %s=TYPE", m, loader.UndecodedWhy, m))
			},
		},
		Duration: o.duration,
		Attached: func(progs []*loader.Program) { a.noteAttached(progs, o.duration) },
	})
	var re *loader.RejectedError
	if errors.As(err, &re) && !a.verbose {
		return fmt.Errorf("%w (kh -v run prints the full verifier log)", err)
	}
	var rm *loader.RecordMapError
	if errors.As(err, &rm) {
		return usagef("--record %s=...: %v", rm.Map, err)
	}
	return err
}

// noteAttached says on stderr what kh run attached and how it stops.
func (a *app) noteAttached(progs []*loader.Program, d time.Duration) {
	var names []string
	for _, p := range progs {
		names = append(names, p.Section+" ("+p.Name+")")
	}
	stop := "until Ctrl-C"
	if d > 0 {
		stop = "for " + d.String() + " (Ctrl-C stops sooner)"
	}
	a.notef("attached %d program(s): %s; printing their output %s", len(progs), strings.Join(names, ", "), stop)
}
