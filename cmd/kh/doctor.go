package main

import (
	"github.com/spf13/cobra"

	"github.com/khtool/kh/doctor"
)

// doctorCmd is `kh doctor`: can tracing work here, and what is missing.
func (a *app) doctorCmd() *cobra.Command {
	var (
		output string
		fix    bool
		cf     cacheFlags
	)
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			rep, err := doctor.Run(cmd.Context(), doctor.Options{Fix: fix, CacheDir: a.cacheDir(cf), AllowDisk: cf.allowDisk})
			if err != nil {
				return err
			}
			if output == "json" {
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
		},
	}
	outputFlag(cmd, &output)
	cf.add(cmd, false)
	cmd.Flags().BoolVar(&fix, "fix", false, "mount what is missing (tracefs, debugfs, bpffs, securityfs); needs root")
	return cmd
}
