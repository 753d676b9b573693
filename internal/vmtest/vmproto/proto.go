// Package vmproto is the wire protocol between the vmtest harness on the
// host and its init program (guestinit) inside a qemu guest, plus the tree
// digest both sides compute.
//
// The two sides talk through a directory shared over 9p (virtio): the host
// writes one request per step as a JSON file (RequestName), the guest
// executes it and answers with a JSON response file (ResponseName). Bulk
// data never travels inside the JSON: stdin, file contents, stdout, stderr
// and copied files are separate files in the share, named in the request
// or response. Both sides write requests and responses under a temporary
// name and rename them into place (internal/atomicfile), so the reader,
// which polls for the final name, never sees a partial file; the data
// files they name are complete before the request or response appears.
package vmproto

import (
	"fmt"
	"time"
)

// MountTag is the 9p mount tag of the shared directory, and Mountpoint is
// where the guest mounts it.
const (
	MountTag   = "vmtest"
	Mountpoint = "/vmtest"
)

// ReadyName is the file the guest writes into the share once it has
// mounted its file systems and is waiting for requests. It holds a Hello.
const ReadyName = "ready.json"

// FatalPrefix starts the console line the guest init prints when it
// cannot go on (before it reboots), so the host can quote it.
const FatalPrefix = "vmtest-init: fatal: "

// RequestName is the share file holding request id.
func RequestName(id int) string { return fmt.Sprintf("req-%06d.json", id) }

// ResponseName is the share file holding the response to request id.
func ResponseName(id int) string { return fmt.Sprintf("resp-%06d.json", id) }

// DataName is a share file carrying bulk data for request id; what names
// it ("stdin-0", "stdout-1", "write", "read", ...) says what it holds.
func DataName(id int, what string) string { return fmt.Sprintf("data-%06d-%s", id, what) }

// Hello is what the guest reports once it is ready.
type Hello struct {
	Release string `json:"release"` // uname -r
	Machine string `json:"machine"` // uname -m
	// RootFSMagic is statfs("/").f_type: RAMFS_MAGIC when the harness
	// booted with rootfstype=ramfs, TMPFS_MAGIC otherwise.
	RootFSMagic int64 `json:"rootfs_magic"`
	// Uptime is the guest's uptime when it became ready.
	Uptime time.Duration `json:"uptime"`
}

// Op is the kind of a Step.
type Op string

// The steps the guest init understands.
const (
	// OpRun starts Commands at the same moment and waits for all of them.
	OpRun Op = "run"
	// OpWrite creates or replaces Path with the share file Data, mode
	// Mode, creating missing parent directories (0755).
	OpWrite Op = "write"
	// OpMkdir creates Path and missing parents with mode Mode.
	OpMkdir Op = "mkdir"
	// OpSymlink creates the symbolic link Path pointing to Target.
	OpSymlink Op = "symlink"
	// OpRemove removes Path and anything under it; a missing Path is not
	// an error.
	OpRemove Op = "remove"
	// OpRename renames Path to Target (rename(2)).
	OpRename Op = "rename"
	// OpStat reports on Path without following a final symlink.
	OpStat Op = "stat"
	// OpDigest reports the digest of Path: the SHA-256 of its contents for
	// a regular file, the TreeDigest for a directory (skipping Exclude).
	OpDigest Op = "digest"
	// OpRead copies the contents of Path into the share file Data.
	OpRead Op = "read"
	// OpMount mounts Source on Target (created if missing) with file
	// system type FSType and mount data Options.
	OpMount Op = "mount"
	// OpLoadModule loads the module file Path with finit_module(2) and the
	// parameter string Options.
	OpLoadModule Op = "load-module"
	// OpUnloadModule unloads the module named Path with delete_module(2).
	OpUnloadModule Op = "unload-module"
	// OpShutdown syncs and reboots the guest, which ends qemu
	// (-no-reboot). There is no response.
	OpShutdown Op = "shutdown"
	// OpCrash makes the init exit without answering or rebooting, so the
	// kernel panics ("Attempted to kill init") and qemu exits. It exists to
	// test how the host handles a guest that dies during a step.
	OpCrash Op = "crash"
)

// Step is one request from the host.
type Step struct {
	ID       int       `json:"id"`
	Op       Op        `json:"op"`
	Commands []Command `json:"commands,omitempty"`
	Path     string    `json:"path,omitempty"`
	Target   string    `json:"target,omitempty"`
	Source   string    `json:"source,omitempty"`
	FSType   string    `json:"fstype,omitempty"`
	Options  string    `json:"options,omitempty"`
	Mode     uint32    `json:"mode,omitempty"`
	Exclude  []string  `json:"exclude,omitempty"`
	// Data names the share file holding the data of OpWrite, or the share
	// file OpRead must fill.
	Data string `json:"data,omitempty"`
}

// Command is one process for OpRun.
type Command struct {
	Args []string `json:"args"`
	// Env holds KEY=VALUE pairs added to (and overriding) DefaultEnv.
	Env []string `json:"env,omitempty"`
	// Dir is the working directory, "/" when empty.
	Dir string `json:"dir,omitempty"`
	// Stdin names the share file read as standard input; empty means
	// /dev/null.
	Stdin string `json:"stdin,omitempty"`
	// Stdout and Stderr name the share files the guest writes the
	// process's output to.
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// Timeout is how long the process may run before the guest kills its
	// process group; zero means no limit inside the guest.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Cred, if set, runs the process as that user instead of root.
	Cred *Cred `json:"cred,omitempty"`
}

// Cred is the identity a command runs as: user and group IDs and the
// supplementary groups (none if empty).
type Cred struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
}

// DefaultEnv returns the environment of every command before Command.Env.
func DefaultEnv() []string {
	return []string{"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/root", "LANG=C"}
}

// CommandResult is how one Command ended.
type CommandResult struct {
	// ExitCode is the exit status, -1 when the process did not exit
	// normally (never started, or killed by a signal).
	ExitCode int `json:"exit_code"`
	// Signal names the signal that killed the process, if one did.
	Signal string `json:"signal,omitempty"`
	// TimedOut is set when the guest killed the process because it ran
	// past Command.Timeout.
	TimedOut bool `json:"timed_out,omitempty"`
	// StartErr is why the process could not be started (e.g. the binary
	// is missing); empty when it started.
	StartErr string        `json:"start_err,omitempty"`
	Elapsed  time.Duration `json:"elapsed"`
}

// Response is the guest's answer to a Step.
type Response struct {
	ID int `json:"id"`
	// Err is why the action failed, empty on success; Errno is the
	// syscall error number behind it, 0 if there is none.
	Err      string          `json:"err,omitempty"`
	Errno    int             `json:"errno,omitempty"`
	Commands []CommandResult `json:"commands,omitempty"`
	Stat     *Stat           `json:"stat,omitempty"`
	// Digest is the result of OpDigest; Listing names the share file with
	// the tree listing it was computed from (directories only).
	Digest  string        `json:"digest,omitempty"`
	Listing string        `json:"listing,omitempty"`
	Elapsed time.Duration `json:"elapsed"`
}

// Stat describes a file as lstat(2) and statfs(2) see it.
type Stat struct {
	// Exists is false when the path does not exist (ENOENT); the other
	// fields are then zero.
	Exists bool `json:"exists"`
	// Type is "file", "dir", "symlink", "char", "block", "fifo" or
	// "socket".
	Type string `json:"type,omitempty"`
	// Mode holds the permission bits with setuid, setgid and sticky
	// (st_mode & 07777).
	Mode  uint32 `json:"mode,omitempty"`
	Size  int64  `json:"size,omitempty"`
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	Nlink uint64 `json:"nlink,omitempty"`
	Dev   uint64 `json:"dev,omitempty"`
	Ino   uint64 `json:"ino,omitempty"`
	// FSMagic is statfs(2)'s f_type for the file system holding the file
	// (for a symlink: holding the link itself), e.g. 0x01021994 for tmpfs.
	FSMagic int64 `json:"fs_magic,omitempty"`
	// MountPoint is true when the file is on a different device than its
	// parent directory, i.e. something is mounted there.
	MountPoint bool `json:"mount_point,omitempty"`
	// Target is a symlink's target.
	Target string `json:"target,omitempty"`
}
