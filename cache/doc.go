// Package cache is kh's content-addressed store of trees (kernel header
// trees and BTF trees): where it lives and the tmpfs kh mounts there
// (location.go), the checks that decide whether an entry can be trusted
// (trust.go), the atomic, locked publish of a new tree (publish.go), the
// hints that let a warm lookup skip hashing its source (hints.go), and
// listing and removal (maintenance.go).
//
// A tree's name is a release and the first 16 hex digits of the SHA-256
// of what it was made from ("6.1.192-b39c262a18360de1"); its manifest
// (ManifestName, at its root) must agree with that name. A tree is reused
// only if it and its manifest are owned by the caller or root and
// writable by no one else; otherwise an *UntrustedError says why.
// Publish builds a tree in a private staging directory and renames it
// into place with renameat2(RENAME_NOREPLACE) under a per-digest flock,
// so concurrent processes build it once and a killed run leaves only a
// staging directory, which the next Open sweeps away.
//
// Trust covers the path, not just the directory: Open walks from "/" one
// directory at a time (O_NOFOLLOW), requiring each to be owned by root or
// the caller (or, on Android, the system user) and writable by no one
// else unless sticky, then keeps the cache directory open and does
// everything relative to that descriptor (walk.go). CheckTree applies
// the same rule, recursively, to a tree used in place (inplace.go).
//
// Locks: a per-digest lock file is re-verified after flock (the name must
// still lead to the locked file), so a holder may unlink it (Sweep does)
// without ever letting two holders in. Remove renames a tree to a trash
// name under that lock, so a Lookup sees the whole tree or none, and
// keeps a tree that a process holds with HoldTree (a shared flock on the
// tree directory, which a command can inherit).
//
// Errors callers branch on: ErrNotCached, ErrNotTmpfs (a *NotTmpfsError),
// ErrNoSpace, ErrInUse (an *InUseError), *UntrustedError (ErrNotTrusted),
// and fs.ErrPermission for a cache the caller cannot write.
//
// It must not know what a tree holds or where its contents come from
// (package kheaders does: archives, modules, BTF), and its errors name no
// command-line flags: the CLI turns them into advice.
package cache
