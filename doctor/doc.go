// Package doctor says whether eBPF tracing can work on a machine and what
// is missing (kh doctor), and with Options.Fix mounts the pseudo file
// systems tracing needs.
//
// It must not fetch or extract headers, load tracing programs other than
// its feature probes, or decide exit statuses: the CLI does.
//
// # Doctor
//
// Run runs a list of Checks (DefaultChecks) and returns a Report:
// kernel, header sources, BTF, kernel config, mounted file systems,
// permission to use bpf(), sysctls and security settings that restrict
// tracing, kprobe/tracepoint/fentry support and the kh cache. Each check
// is data (a name, a probe, an optional fix) and reads files below a
// root directory through a System (the one abstraction of the machine; LiveSystem
// is the running one), so tests can run it on a fake root.
// A Report is OK (tracing can work) unless an essential check fails; see
// Report.OK for the rule.
//
// # Causes and advice
//
// A probe that fails reports its first cause: a permission kh lacks
// ("denied (permission)", fix: run as root), then a security policy that
// refuses kh although it has the privilege (lockdown, SELinux enforcing,
// an LSM or seccomp: "denied (security policy)"), and only then a
// missing kernel feature (fix: a kernel option). A fix that suggests
// another check instead (kprobes for fentry) names it only if that check
// passed (Finding.Instead). SELinux's mode is reported wherever
// /sys/fs/selinux/enforce exists, "mode unknown" when kh may not read it.
package doctor
