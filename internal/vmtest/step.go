package vmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/khtool/kh/internal/vmtest/vmproto"
)

// Op is the kind of a Step.
type Op = vmproto.Op

// The steps, documented in package vmproto.
const (
	OpRun          = vmproto.OpRun
	OpWrite        = vmproto.OpWrite
	OpMkdir        = vmproto.OpMkdir
	OpSymlink      = vmproto.OpSymlink
	OpRemove       = vmproto.OpRemove
	OpRename       = vmproto.OpRename
	OpStat         = vmproto.OpStat
	OpDigest       = vmproto.OpDigest
	OpRead         = vmproto.OpRead
	OpMount        = vmproto.OpMount
	OpLoadModule   = vmproto.OpLoadModule
	OpUnloadModule = vmproto.OpUnloadModule
	OpShutdown     = vmproto.OpShutdown
	OpCrash        = vmproto.OpCrash
)

// Stat describes a guest file (see vmproto.Stat).
type Stat = vmproto.Stat

// Step is one thing for the guest to do. Which fields count depends on
// Op, as documented on the vmproto.Op constants.
type Step struct {
	Op       Op
	Commands []Command // OpRun: started together
	Path     string
	Target   string // OpSymlink target, OpRename new path, OpMount mount point
	Source   string // OpMount
	FSType   string // OpMount
	Options  string // OpMount data, OpLoadModule parameters
	Mode     os.FileMode
	Exclude  []string // OpDigest
	Data     []byte   // OpWrite
	// Timeout bounds how long the host waits for an answer to a step other
	// than OpRun; DefaultActionTimeout if zero. When it passes, qemu is
	// killed.
	Timeout time.Duration
}

// Command is a process to run in the guest.
type Command struct {
	Args []string
	// Env holds KEY=VALUE pairs added to, or replacing in, the default
	// environment PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root LANG=C.
	Env []string
	// Dir is the working directory, "/" if empty.
	Dir string
	// Stdin is the standard input; nil means /dev/null.
	Stdin []byte
	// Timeout is how long the command may run before the guest kills it
	// (and its process group) and reports Result.TimedOut;
	// DefaultCommandTimeout if zero.
	Timeout time.Duration
	// Cred, if set, runs the command as that user (uid, gid, supplementary
	// groups) instead of root, e.g. AndroidShell().
	Cred *Cred
}

// Cred is the identity a guest command runs as.
type Cred = vmproto.Cred

// AndroidShell is the identity of `adb shell` on an Android device: the
// shell user (uid 2000, gid 2000) with its supplementary groups (input,
// log, adb, sdcard_rw, sdcard_r, net_bt_admin, net_bt, inet, net_bw_stats,
// readproc, uhid).
func AndroidShell() *Cred {
	return &Cred{UID: 2000, GID: 2000, Groups: []uint32{1004, 1007, 1011, 1015, 1028, 3001, 3002, 3003, 3006, 3009, 3011}}
}

// Result is how a command ended.
type Result struct {
	Args           []string
	Stdout, Stderr []byte
	// ExitCode is the exit status, -1 if the process did not exit
	// normally.
	ExitCode int
	// Signal names the signal that killed the process, if any.
	Signal string
	// TimedOut is set when the guest killed the process at its timeout.
	TimedOut bool
	// StartErr is why the process could not start, e.g. a missing binary.
	StartErr string
	Elapsed  time.Duration
}

// Reply is the guest's answer to a step.
type Reply struct {
	Results []*Result // OpRun, in Commands order
	Stat    *Stat     // OpStat
	Digest  Digest    // OpDigest
	Data    []byte    // OpRead
	// Elapsed is the guest's time for the step.
	Elapsed time.Duration
}

// GuestError is an action that failed inside the guest. errors.Is
// matches its errno: errors.Is(err, syscall.EEXIST).
type GuestError struct {
	Op    Op
	Msg   string
	Errno syscall.Errno
}

func (e *GuestError) Error() string { return "guest: " + e.Msg }

// Unwrap returns the errno, if there is one.
func (e *GuestError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// Do runs one step in the guest and returns its answer. A step that
// failed in the guest returns a *GuestError (and the reply); any other
// error means the VM is gone: qemu exited (ErrVMExited), was killed at a
// timeout or when ctx ended, or the protocol broke. After such an error
// every later step fails at once.
func (vm *VM) Do(ctx context.Context, s Step) (*Reply, error) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.dead != nil {
		return nil, fmt.Errorf("%s VM: %w", vm.Arch, vm.dead)
	}
	vm.nextID++
	id := vm.nextID
	what := fmt.Sprintf("step %d (%s)", id, describe(s))
	req, timeout, err := vm.prepare(id, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := vm.writeRequest(req); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer vm.clean(id)
	if s.Op == vmproto.OpShutdown {
		// No answer: wait for qemu to go.
		select {
		case <-vm.exited:
		case <-time.After(shutdownWait):
			vm.kill()
		}
		vm.setDead(fmt.Errorf("guest stopped by %s", s.Op))
		return &Reply{}, nil
	}
	b, err := vm.await(ctx, vmproto.ResponseName(id), timeout, what)
	if err != nil {
		return nil, err
	}
	var resp vmproto.Response
	if err := json.Unmarshal(b, &resp); err != nil || resp.ID != id {
		err = fmt.Errorf("%s: bad response (id %d): %v", what, resp.ID, err)
		vm.setDead(err)
		return nil, err
	}
	reply, err := vm.reply(req, &resp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if resp.Err != "" {
		return reply, &GuestError{Op: s.Op, Msg: resp.Err, Errno: syscall.Errno(resp.Errno)}
	}
	return reply, nil
}

// prepare turns s into the wire request, writing its bulk data into the
// share, and says how long to wait for the answer.
func (vm *VM) prepare(id int, s Step) (vmproto.Step, time.Duration, error) {
	req := vmproto.Step{
		ID: id, Op: s.Op, Path: s.Path, Target: s.Target, Source: s.Source,
		FSType: s.FSType, Options: s.Options, Mode: unixMode(s.Mode), Exclude: s.Exclude,
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = DefaultActionTimeout
	}
	switch s.Op {
	case vmproto.OpRun:
		if len(s.Commands) == 0 {
			return req, 0, errors.New("no commands")
		}
		timeout = 0
		for i, c := range s.Commands {
			wc := vmproto.Command{
				Args: c.Args, Env: c.Env, Dir: c.Dir, Timeout: c.Timeout, Cred: c.Cred,
				Stdout: vmproto.DataName(id, fmt.Sprintf("stdout-%d", i)),
				Stderr: vmproto.DataName(id, fmt.Sprintf("stderr-%d", i)),
			}
			if wc.Timeout == 0 {
				wc.Timeout = DefaultCommandTimeout
			}
			timeout = max(timeout, wc.Timeout+answerGrace)
			if c.Stdin != nil {
				wc.Stdin = vmproto.DataName(id, fmt.Sprintf("stdin-%d", i))
				if err := os.WriteFile(filepath.Join(vm.share, wc.Stdin), c.Stdin, 0o644); err != nil {
					return req, 0, err
				}
			}
			req.Commands = append(req.Commands, wc)
		}
	case vmproto.OpWrite:
		if s.Mode == 0 {
			req.Mode = 0o644
		}
		req.Data = vmproto.DataName(id, "write")
		if err := os.WriteFile(filepath.Join(vm.share, req.Data), s.Data, 0o644); err != nil {
			return req, 0, err
		}
	case vmproto.OpMkdir:
		if s.Mode == 0 {
			req.Mode = 0o755
		}
	case vmproto.OpRead:
		req.Data = vmproto.DataName(id, "read")
	}
	var paths []string
	switch s.Op {
	case vmproto.OpRun, vmproto.OpShutdown, vmproto.OpCrash, vmproto.OpUnloadModule:
	case vmproto.OpRename:
		paths = []string{s.Path, s.Target}
	case vmproto.OpMount:
		paths = []string{s.Target}
	default:
		paths = []string{s.Path}
	}
	for _, p := range paths {
		if err := guestPath(p); err != nil {
			return req, 0, err
		}
	}
	return req, timeout, nil
}

// reply collects the answer and the share files it names.
func (vm *VM) reply(req vmproto.Step, resp *vmproto.Response) (*Reply, error) {
	r := &Reply{Stat: resp.Stat, Elapsed: resp.Elapsed}
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(vm.share, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil // never created: the command did not start
		}
		return b, err
	}
	if req.Op == vmproto.OpRun {
		if len(resp.Commands) != len(req.Commands) {
			return nil, fmt.Errorf("guest answered for %d of %d commands", len(resp.Commands), len(req.Commands))
		}
		for i, c := range resp.Commands {
			res := &Result{
				Args: req.Commands[i].Args, ExitCode: c.ExitCode, Signal: c.Signal,
				TimedOut: c.TimedOut, StartErr: c.StartErr, Elapsed: c.Elapsed,
			}
			var err error
			if res.Stdout, err = read(req.Commands[i].Stdout); err != nil {
				return nil, err
			}
			if res.Stderr, err = read(req.Commands[i].Stderr); err != nil {
				return nil, err
			}
			r.Results = append(r.Results, res)
		}
	}
	if resp.Err != "" {
		return r, nil
	}
	switch req.Op {
	case vmproto.OpRead:
		b, err := os.ReadFile(filepath.Join(vm.share, req.Data))
		if err != nil {
			return nil, err
		}
		r.Data = b
	case vmproto.OpDigest:
		r.Digest.Sum = resp.Digest
		if resp.Listing != "" {
			b, err := os.ReadFile(filepath.Join(vm.share, resp.Listing))
			if err != nil {
				return nil, err
			}
			r.Digest.Listing = b
		}
	}
	return r, nil
}

// clean removes the share files of step id.
func (vm *VM) clean(id int) {
	names, _ := filepath.Glob(filepath.Join(vm.share, vmproto.DataName(id, "*")))
	names = append(names, filepath.Join(vm.share, vmproto.RequestName(id)), filepath.Join(vm.share, vmproto.ResponseName(id)))
	for _, n := range names {
		os.Remove(n)
	}
}

// unixMode converts permission, setuid, setgid and sticky bits.
func unixMode(m os.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// describe names a step for error messages.
func describe(s Step) string {
	switch s.Op {
	case vmproto.OpRun:
		var parts []string
		for _, c := range s.Commands {
			parts = append(parts, strings.Join(c.Args, " "))
		}
		return "run " + strings.Join(parts, " & ")
	case vmproto.OpSymlink, vmproto.OpRename:
		return fmt.Sprintf("%s %s %s", s.Op, s.Path, s.Target)
	case vmproto.OpMount:
		return fmt.Sprintf("mount -t %s %s %s", s.FSType, s.Source, s.Target)
	}
	return strings.TrimSpace(fmt.Sprintf("%s %s", s.Op, s.Path))
}

// Err describes how the command failed; nil if it exited with status 0.
func (r *Result) Err() error {
	switch {
	case r.StartErr != "":
		return fmt.Errorf("could not start: %s", r.StartErr)
	case r.TimedOut:
		return fmt.Errorf("timed out after %v and was killed", r.Elapsed.Round(time.Millisecond))
	case r.Signal != "":
		return fmt.Errorf("killed by %s", r.Signal)
	case r.ExitCode != 0:
		return fmt.Errorf("exit status %d", r.ExitCode)
	}
	return nil
}

// String summarises the result: the command, how it ended and the end of
// its stderr.
func (r *Result) String() string {
	status := "exit status 0"
	if err := r.Err(); err != nil {
		status = err.Error()
	}
	s := fmt.Sprintf("%q: %s (%v)", r.Args, status, r.Elapsed.Round(time.Millisecond))
	if e := strings.TrimSpace(string(r.Stderr)); e != "" {
		s += "\nstderr: " + tail(e, 2000)
	}
	return s
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
