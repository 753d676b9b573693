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
//   - The cache is package cache (github.com/khtool/kh/cache): trees
//     named RELEASE-DIGEST, published atomically, reused after trust
//     checks. Fetch uses its hints (SourceKey) to make a warm fetch
//     cheap: a hint maps a source's proven identity (kernel and module
//     GNU build IDs, or a file's inode and change times) to its tree.
//     Tree, Manifest and Source are the cache's types.
//   - OpenDir: a header tree already on disk, validated and used in place.
//   - Clean: removes the trees of kernels that are not running.
//
// # Why extraction does not use os.Root
//
// os.Root (Go 1.24) confines file operations to a directory but follows
// symlinks that stay inside it. Extract is stricter: it refuses to pass
// through any symlink at all (every component is opened with O_NOFOLLOW
// relative to its parent's descriptor), so an archive's own symlinks can
// never redirect a later entry, even to a place inside the tree, and the
// checks on symlink targets are done on the archive's names, not on
// what the file system resolves.
//
// # Errors
//
// Errors are one line each and say what happened, not what to do (the
// CLI adds that); tools can tell them apart with errors.As
// (*ArchiveError, *cache.UntrustedError, *NotFoundError) and errors.Is
// (ErrNoSpace, cache.ErrNotCached, cache.ErrNotTmpfs, fs.ErrPermission).
//
// It must not print, know the CLI's flags, or decide exit statuses.
package kheaders
