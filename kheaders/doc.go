// Package kheaders gives a tracing tool the headers of a Linux kernel.
//
// The kernel can carry its own headers: CONFIG_IKHEADERS exposes them as
// /sys/kernel/kheaders.tar.xz (built in, or once the kheaders module is
// loaded), and kheaders.ko carries the same archive between the symbols
// kernel_headers_data and kernel_headers_data_end. This package finds the
// best source for a kernel, reads the archive (treating it as hostile),
// unpacks it into a cache that is safe, atomic and keyed by the archive's
// content, and returns the tree's path and manifest.
//
// # Three lines
//
//	tree, err := kheaders.Fetch(ctx, kheaders.Options{})
//	if err != nil { ... }
//	// tree.Path is ready for BCC_KERNEL_SOURCE or clang -I
//
// # The pieces
//
//   - Fetch: the whole job, with the sources in order (Options.From, the
//     sysfs file, the kheaders module on disk, matching filesystem
//     headers) and a log line for each source considered.
//   - ReadArchive: an archive file, or the archive inside a kheaders
//     module file (.ko, .ko.xz, .ko.zst, .ko.gz), read without loading it.
//   - Extract: safe extraction of an archive into a private directory,
//     within Limits; an *ArchiveError for anything corrupt or hostile.
//   - OpenCache and Cache.Publish: the cache. Trees are named
//     RELEASE-DIGEST (the first 16 hex digits of the archive's SHA-256),
//     built in a private staging directory, published with one rename,
//     and reused only after trust checks (owner, mode, manifest). A lock
//     per digest makes concurrent callers, in any process, build once.
//     Cache.FromHint and SourceKey make a warm fetch cheap: a hint maps a
//     source's proven identity (kernel and module GNU build IDs, or a
//     file's inode and change times) to its tree.
//   - OpenDir: a header tree already on disk, validated and used in place.
//   - Clean: removes the trees of kernels that are not running.
//
// Errors are one line each; tools can tell them apart with errors.As
// (*ArchiveError, *UntrustedError, *NotFoundError) and errors.Is
// (ErrNoSpace, ErrNotCached).
package kheaders
