// Package tracertest holds only tests: the kheaders RFC's promise, shown
// with the real tools. Debian's BCC (bpfcc-tools, python3-bpfcc) and
// bpftrace run inside the freshly booted test kernels (Linux 6.1 and
// 6.12, x86_64, under qemu; see package vmtest), from a Debian root that
// reaches the guest read-only over 9p and is entered with chroot, with kh
// as the only source of kernel headers: kheaders.ko is on disk, not
// loaded, and there is no /lib/modules/R/build and no headers package.
//
// TestTracersInGuests runs, in each guest, the tools without kh (the
// "before"), BCC tools of different attach types and bpftrace scripts
// through `kh exec`, each until it reports an event the test triggers,
// then stops it with SIGINT; and kh exec with the other kernel's headers,
// which kh warns about before the tool runs. TestTracerHeaderCompat
// shows on the host why two of them cannot work on Linux 6.12 with
// Debian 12's tool versions.
//
// The guests need qemu-system-x86, the test kernels ($KH_TESTKERNEL) and,
// on the host, bpfcc-tools, python3-bpfcc, bpftrace and kmod, whose /usr
// is the guests' /usr. KH_TRACERS_ALL=1 runs every tool on every kernel
// and BCC's own kheaders extraction, beyond CI's time budget.
package tracertest
