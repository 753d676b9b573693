package main

import (
	"context"
	"github.com/spf13/cobra"

	"github.com/khtool/kh/doctor"
)

// doctorCmd is `kh doctor`: can tracing work here, and what is missing.
func (a *app) doctorCmd() *cobra.Command {
	var o doctorOptions
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check whether eBPF tracing can work here and say what is missing",
		Long: `Check the kernel and the system for what eBPF tracing needs: header sources
(kheaders, /lib/modules/RELEASE/build), BTF, the kernel config, tracefs,
debugfs and bpffs mounts, permission to use bpf(), sysctls and security
settings that restrict tracing (perf_event_paranoid, kptr_restrict, lockdown,
SELinux, the BPF JIT), kprobe, tracepoint and fentry support, and the kh
cache. Each problem comes with a fix.

--fix (as root) mounts what is missing: tracefs, debugfs, bpffs and
securityfs. It is idempotent.

Exit status: 0 when tracing can work, 1 when an essential check fails
(kernel, kernel-types, bpf, lockdown, attach: marked * in the table).`,
		Example: `  kh doctor
  kh doctor -o json
  sudo kh doctor --fix`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDoctor(cmd.Context(), &o) },
	}
	outputFlag(cmd, &o.output)
	o.cache.add(cmd, false)
	o.adb.add(cmd, true)
	cmd.Flags().BoolVar(&o.fix, "fix", false, "mount what is missing (tracefs, debugfs, bpffs, securityfs); needs root")
	return cmd
}

// doctorOptions are the flags of `kh doctor`.
type doctorOptions struct {
	cache  cacheFlags
	output string
	fix    bool
	// checks replaces doctor.DefaultChecks (tests); nil means the defaults.
	checks []doctor.Check
	// adb runs the doctor on an Android device instead (--adb).
	adb adbFlags
}

// runDoctor is `kh doctor` once its command line is parsed.
func (a *app) runDoctor(ctx context.Context, o *doctorOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	if o.adb.on() {
		args := []string{"doctor", "-o", o.output}
		if o.fix {
			args = append(args, "--fix")
		}
		return a.runOnDevice(ctx, &o.adb, false, nil, args)
	}
	rep, err := doctor.Run(ctx, doctor.Options{Fix: o.fix, CacheDir: a.cacheDir(o.cache), AllowDisk: o.cache.allowDisk, Checks: o.checks})
	if err != nil {
		return err
	}
	if o.output == "json" {
		err = a.printJSON(rep)
	} else {
		err = rep.WriteText(a.stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return &exitError{code: exitFailure}
	}
	return nil
}
