// Package loader runs a compiled BPF object against the running kernel
// (kh run): it loads it with github.com/cilium/ebpf, fills __kconfig
// externs, attaches every program by its section name, streams
// bpf_printk lines and ring/perf buffer records as Events, and detaches
// everything on Close.
//
// It must not compile programs (package compile does), look for headers
// (package kheaders) or diagnose the machine (package doctor).
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
package loader
