// Package tracing makes eBPF tracing work with a kernel header tree (a
// kheaders.Tree): the environment BCC and bpftrace read (kh env, kh exec),
// the clang flags and a compiler driver for BPF programs (kh cflags,
// kh build), a loader that runs a compiled program against the running
// kernel (kh run), and a doctor that says whether tracing can work on a
// machine and what is missing (kh doctor).
//
// # Running a BPF object
//
// Run (or Load, Object.Attach, Object.Stream and Object.Close, for finer
// control) takes a BPF object compiled with `clang -target bpf -O2 -g`
// and does what libbpf's skeletons do, with github.com/cilium/ebpf:
//
//   - Load relocates the programs (CO-RE) against the running kernel's
//     BTF or a BTF file (LoadOptions.BTF), fills __kconfig externs from
//     the kernel config with libbpf's rules (LoadOptions.KConfig; __weak
//     externs that are unset read as zero; LINUX_KERNEL_VERSION,
//     LINUX_HAS_SYSCALL_WRAPPER and LINUX_HAS_BPF_COOKIE are computed),
//     and loads maps and programs. A program the verifier rejects gives a
//     *RejectedError naming it, with the verifier's last lines.
//   - Attach attaches every program by its section name, as libbpf does:
//     kprobe/SYM[+OFF], kretprobe/SYM, ksyscall/NAME, kretsyscall/NAME,
//     tracepoint/CAT/NAME (or tp/), raw_tracepoint/NAME (or raw_tp/),
//     fentry/SYM, fexit/SYM, tp_btf/NAME, uprobe/PATH:SYM[+OFF] and
//     uretprobe/PATH:SYM[+OFF] (so uprobe//usr/bin/bash:readline). Any
//     other section is an *UnknownSectionError, reported before anything
//     is loaded. If one program fails to attach, those attached before it
//     are detached.
//   - Stream sends Events to a Sink until its context ends: bpf_printk
//     lines from tracefs trace_pipe (tracefs is mounted on
//     /sys/kernel/tracing when missing and kh is root) and the records
//     of every BPF_MAP_TYPE_RINGBUF and BPF_MAP_TYPE_PERF_EVENT_ARRAY map.
//   - Close detaches and unloads everything: no program, link or kprobe
//     event stays behind.
//
// Records are decoded through the object's BTF when a record type is
// known, else given as raw bytes. The type of map M's records is the
// first of: StreamOptions.RecordTypes[M]; a struct or union named M; a
// struct or union named "event". The type must appear in the object's
// BTF; a global such as `struct event *unused_event __attribute__((unused));`
// puts it there. TextSink and JSONSink print events for people and
// programs; see Event.String and Event.MarshalJSON for the formats.
//
// # Doctor
//
// Doctor runs a list of Checks (DefaultChecks) and returns a Report:
// kernel, header sources, BTF, kernel config, mounted file systems,
// permission to use bpf(), sysctls and security settings that restrict
// tracing, kprobe/tracepoint/fentry support and the kh cache. Each check
// is data (a name, a probe, an optional fix) and reads files below a
// root directory through a System, so tests can run it on a fake root.
// A Report is OK (tracing can work) unless an essential check fails; see
// Report.OK for the rule.
//
// # Environment for BCC and bpftrace
//
// EnvVars returns the variables, in a fixed order, that make BCC and
// bpftrace use a tree instead of /lib/modules/$(uname -r):
//
//   - BCC_KERNEL_SOURCE: libbcc (checked: Debian's 0.26) compiles with
//     -I flags relative to this directory, which it chdir(2)s into, and
//     uses it only if include/linux/kconfig.h exists; otherwise it falls
//     back to unpacking /sys/kernel/kheaders.tar.xz itself.
//   - BPFTRACE_KERNEL_SOURCE and BPFTRACE_KERNEL_BUILD: bpftrace
//     (checked: 0.17) takes the source and generated include directories
//     from them and always adds -include SOURCE/include/linux/kconfig.h.
//     kh sets both to the tree, so a stale BPFTRACE_KERNEL_BUILD cannot
//     mix two kernels.
//   - KH_HEADERS, KH_KIND, KH_RELEASE, KH_ARCH: the tree, for scripts.
//
// A BTF tree (kheaders.KindBTF: vmlinux.h and kconfig.h) is no use to
// either tool: BCC needs real headers, and bpftrace 0.17 fails on every
// program when BPFTRACE_KERNEL_SOURCE lacks include/linux/kconfig.h. For
// such a tree the tools' variables are unset (Var.Unset), bpftrace reads
// kernel types from the kernel's own BTF, and EnvWarnings says so.
//
// FormatEnv renders variables as sh or fish commands for eval, quoted so
// that any path survives; Environ applies them to an environment list;
// Command and Exec run a program with them.
//
// # Compiling BPF programs
//
// CFlags returns the clang flags that compile a BPF C program against a
// tree, with absolute paths only. For a header tree they follow the
// kernel's own include order for the tree's architecture and target
// that architecture (--target=aarch64-linux-gnu for an arm64 tree, on
// any host): kernel headers hold the architecture's inline assembly,
// which clang rejects for -target bpf, so the program is compiled to
// LLVM IR for the kernel's architecture and then lowered to BPF with
// llc, as the kernel's samples/bpf do. For a BTF tree the flags are
// -target bpfel (or bpfeb) with the tree's vmlinux.h and kconfig.h, for
// CO-RE programs.
//
// Build runs that pipeline (clang, then llc for a header tree) and
// writes the object atomically: a failed build leaves no output file.
// Compiler diagnostics go to BuildOptions.Stderr and a *CompileError
// sums them up.
package tracing
