package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/khtool/kh/loader"
)

// runCmd is `kh run`: load a BPF object, attach it, stream its output.
func (a *app) runCmd() *cobra.Command {
	var (
		output   string
		duration time.Duration
		btfFile  string
		kconfig  string
		records  []string
		af       adbFlags
	)
	cmd := &cobra.Command{
		Use:   "run PROG.bpf.o",
		Short: "Load a BPF object, attach its programs and print what they produce",
		Long: `Load a BPF object built with clang -target bpf -O2 -g, relocate it (CO-RE)
against the running kernel's BTF, fill its __kconfig externs, attach every
program where its section says (kprobe/SYM, kretprobe/SYM, ksyscall/NAME,
tracepoint/CAT/NAME, raw_tp/NAME, fentry/SYM, fexit/SYM, tp_btf/NAME,
uprobe/PATH:SYM, ...) and print what the programs produce: bpf_printk lines
from tracefs trace_pipe and the records of ring buffers and perf event
arrays, decoded through BTF when the object has a struct named like the map
or "event". Runs until interrupted or --duration ends, then detaches
everything. Needs root (or CAP_BPF and CAP_PERFMON).`,
		Example: `  kh run opensnoop.bpf.o
  kh run -o json --duration 10s trace.bpf.o
  kh run --btf /sys/kernel/btf/vmlinux --record events=event trace.bpf.o`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if duration < 0 {
				return usagef("--duration must not be negative")
			}
			types := map[string]string{}
			for _, r := range records {
				m, t, ok := strings.Cut(r, "=")
				if !ok || m == "" || t == "" {
					return usagef("--record %q: want MAP=TYPE", r)
				}
				types[m] = t
			}
			if af.on() {
				if btfFile != "" || kconfig != "" {
					return usagef("--adb runs against the device's own BTF and configuration: not with --btf or --kconfig")
				}
				dargs := []string{"run", "-o", output}
				if duration > 0 {
					dargs = append(dargs, "--duration", duration.String())
				}
				for _, r := range records {
					dargs = append(dargs, "--record", r)
				}
				dargs = append(dargs, filepath.Base(args[0]))
				return a.runOnDevice(cmd.Context(), &af, true, []string{args[0]}, dargs)
			}
			sink := loader.TextSink(a.stdout)
			if output == "json" {
				sink = loader.JSONSink(a.stdout)
			}
			var verifierLog io.Writer
			if a.verbose {
				verifierLog = a.stderr
			}
			err := loader.Run(cmd.Context(), args[0], loader.RunOptions{
				LoadOptions: loader.LoadOptions{
					BTF:         btfFile,
					KConfig:     kconfig,
					Logger:      a.logger(),
					VerifierLog: verifierLog,
				},
				StreamOptions: loader.StreamOptions{Sink: sink, RecordTypes: types},
				Duration:      duration,
			})
			var re *loader.RejectedError
			if errors.As(err, &re) && !a.verbose {
				return fmt.Errorf("%w (kh -v run prints the full verifier log)", err)
			}
			return err
		},
	}
	outputFlag(cmd, &output)
	af.add(cmd, true)
	f := cmd.Flags()
	f.DurationVar(&duration, "duration", 0, "stop after this long (e.g. 10s); default: until interrupted")
	f.StringVar(&btfFile, "btf", "", "kernel BTF to relocate against: raw BTF or an ELF file with .BTF (default: the running kernel's)")
	f.StringVar(&kconfig, "kconfig", "", "kernel config for __kconfig externs, plain or gzip (default: /proc/config.gz, then /boot/config-RELEASE)")
	f.StringArrayVar(&records, "record", nil, "decode the records of map MAP as BTF type TYPE (MAP=TYPE, repeatable)")
	return cmd
}
