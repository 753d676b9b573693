package xz

import "golang.org/x/sys/unix"

// adviseHugePages asks the kernel to back a large window with
// transparent huge pages where it is configured for them on request
// (/sys/kernel/mm/transparent_hugepage/enabled = madvise). The window is
// read at random offsets up to the dictionary size back; with 4 KiB
// pages an 8 MiB dictionary spans 2048 pages and the lookups miss the
// TLB. It is only advice: errors are ignored.
func adviseHugePages(b []byte) {
	const huge = 2 << 20
	if len(b) < 2*huge {
		return
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
}
