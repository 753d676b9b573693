// Package kheaders gives a tracing tool the headers of a Linux kernel.
//
// The kernel can carry its own headers: CONFIG_IKHEADERS exposes them as
// /sys/kernel/kheaders.tar.xz (built in, or once the kheaders module is
// loaded), and kheaders.ko carries the same archive between the symbols
// kernel_headers_data and kernel_headers_data_end. This package finds the
// best source for a kernel, reads the archive (treating it as hostile),
// and unpacks it into a cache that is safe, atomic and keyed by the
// archive's content, then returns the tree's path and manifest.
package kheaders
