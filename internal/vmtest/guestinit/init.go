package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/atomicfile"
	"github.com/khtool/kh/internal/vmtest/vmproto"
)

// share is where the host's directory is mounted.
const share = vmproto.Mountpoint

// runInit is PID 1: set up, serve the host's steps, reboot.
func runInit() {
	defer func() {
		if r := recover(); r != nil {
			fatal(fmt.Errorf("panic: %v", r))
		}
	}()
	if err := setup(); err != nil {
		fatal(err)
	}
	if err := serve(); err != nil {
		fatal(err)
	}
	reboot()
}

// fatal reports err on the console, where the host finds it, and reboots.
func fatal(err error) {
	fmt.Fprintln(os.Stderr, vmproto.FatalPrefix+oneLine(err.Error()))
	reboot()
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ; ") }

// reboot ends the VM: with -no-reboot, qemu exits on a guest reset.
func reboot() {
	unix.Sync()
	err := unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	// Not reached unless reboot failed; exiting makes the kernel panic,
	// which (panic=-1, -no-reboot) also ends qemu.
	fmt.Fprintln(os.Stderr, "vmtest-init: reboot:", err)
	os.Exit(1)
}

func setup() error {
	os.Setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin")
	mounts := []struct{ src, dst, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		// msize: larger 9p messages make bulk transfers several times
		// faster; the virtio transport caps it at about 500 KiB.
		{vmproto.MountTag, share, "9p", "trans=virtio,version=9p2000.L,msize=262144"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return err
		}
		err := unix.Mount(m.src, m.dst, m.fstype, 0, m.data)
		if err != nil && !(m.fstype == "devtmpfs" && errors.Is(err, unix.EBUSY)) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dst, err)
		}
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return fmt.Errorf("uname: %w", err)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs("/", &sfs); err != nil {
		return fmt.Errorf("statfs /: %w", err)
	}
	hello := vmproto.Hello{
		Release:     unix.ByteSliceToString(uts.Release[:]),
		Machine:     unix.ByteSliceToString(uts.Machine[:]),
		RootFSMagic: int64(sfs.Type),
		Uptime:      uptime(),
	}
	return writeJSON(vmproto.ReadyName, hello)
}

func uptime() time.Duration {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	s, _ := strconv.ParseFloat(f[0], 64)
	return time.Duration(s * float64(time.Second))
}

// writeJSON writes v to the share file name, atomically: the host polls
// for the name and must never read a partial file.
func writeJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(share, name), 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// serve executes requests 1, 2, ... as they appear in the share, until
// OpShutdown.
func serve() error {
	for id := 1; ; id++ {
		step, err := nextStep(id)
		if err != nil {
			return err
		}
		switch step.Op {
		case vmproto.OpShutdown:
			return nil
		case vmproto.OpCrash:
			fmt.Fprintln(os.Stderr, "vmtest-init: exiting on request (crash test)")
			os.Exit(3)
		}
		start := time.Now()
		resp := execute(step)
		resp.ID = id
		resp.Elapsed = time.Since(start)
		if err := writeJSON(vmproto.ResponseName(id), resp); err != nil {
			return err
		}
	}
}

// nextStep waits for request id and decodes it. The share is polled: 9p
// has no change notification, and a stat costs well under a millisecond.
func nextStep(id int) (*vmproto.Step, error) {
	path := filepath.Join(share, vmproto.RequestName(id))
	for {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read request %d: %w", id, err)
		}
		var s vmproto.Step
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("decode request %d: %w", id, err)
		}
		if s.ID != id {
			return nil, fmt.Errorf("request file %d holds id %d", id, s.ID)
		}
		return &s, nil
	}
}

// execute performs one step; errors go into the response. Every error
// names the file or object it is about.
func execute(s *vmproto.Step) (resp vmproto.Response) {
	var err error
	switch s.Op {
	case vmproto.OpRun:
		resp.Commands = runGroup(s.Commands)
		reapOrphans()
	case vmproto.OpWrite:
		err = writeFile(s.Path, filepath.Join(share, s.Data), os.FileMode(s.Mode))
	case vmproto.OpMkdir:
		err = mkdir(s.Path, os.FileMode(s.Mode))
	case vmproto.OpSymlink:
		err = os.Symlink(s.Target, s.Path)
	case vmproto.OpRemove:
		err = os.RemoveAll(s.Path)
	case vmproto.OpRename:
		err = os.Rename(s.Path, s.Target)
	case vmproto.OpStat:
		resp.Stat, err = stat(s.Path)
	case vmproto.OpDigest:
		resp.Digest, resp.Listing, err = digest(s)
	case vmproto.OpRead:
		err = copyFile(filepath.Join(share, s.Data), s.Path)
	case vmproto.OpMount:
		if err = os.MkdirAll(s.Target, 0o755); err == nil {
			if err = unix.Mount(s.Source, s.Target, s.FSType, 0, s.Options); err != nil {
				err = fmt.Errorf("mount %s (%s) on %s: %w", s.Source, s.FSType, s.Target, err)
			}
		}
	case vmproto.OpLoadModule:
		err = loadModule(s.Path, s.Options)
	case vmproto.OpUnloadModule:
		if err = unix.DeleteModule(s.Path, unix.O_NONBLOCK); err != nil {
			err = fmt.Errorf("delete_module %s: %w", s.Path, err)
		}
	default:
		err = fmt.Errorf("unknown op %q", s.Op)
	}
	if err != nil {
		resp.Err = err.Error()
		var errno unix.Errno
		if errors.As(err, &errno) {
			resp.Errno = int(errno)
		}
	}
	return resp
}

// reapOrphans collects processes that were reparented to init and have
// exited. It runs between steps, when no exec.Cmd is waiting for a child.
func reapOrphans() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

func writeFile(dst, src string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := copyFile(dst, src); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

func mkdir(path string, mode os.FileMode) error {
	if err := os.MkdirAll(path, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

// copyFile copies src to dst (created or truncated). It reads to EOF,
// which sysfs and procfs files need.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(out, in, buf); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func loadModule(path, params string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), params, 0); err != nil {
		return fmt.Errorf("finit_module %s: %w", path, err)
	}
	return nil
}

func stat(path string) (*vmproto.Stat, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return &vmproto.Stat{}, nil
		}
		return nil, fmt.Errorf("lstat %s: %w", path, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	s := &vmproto.Stat{
		Exists: true,
		Type:   vmproto.TypeName(fi.Mode()),
		Mode:   st.Mode & 0o7777,
		Size:   st.Size,
		UID:    st.Uid,
		GID:    st.Gid,
		Nlink:  uint64(st.Nlink),
		Dev:    uint64(st.Dev),
		Ino:    st.Ino,
	}
	fsPath := path
	if s.Type == "symlink" {
		if s.Target, err = os.Readlink(path); err != nil {
			return nil, err
		}
		fsPath = filepath.Dir(path)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(fsPath, &sfs); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", fsPath, err)
	}
	s.FSMagic = int64(sfs.Type)
	if parent := filepath.Dir(filepath.Clean(path)); parent != filepath.Clean(path) {
		var pst unix.Stat_t
		if err := unix.Stat(parent, &pst); err == nil {
			s.MountPoint = pst.Dev != st.Dev
		}
	}
	return s, nil
}

// digest computes OpDigest; for a directory it also leaves the listing in
// the share for the host to compare.
func digest(s *vmproto.Step) (sum, listing string, err error) {
	fi, err := os.Stat(s.Path)
	if err != nil {
		return "", "", err
	}
	if !fi.IsDir() {
		sum, err = vmproto.FileSHA256(s.Path)
		return sum, "", err
	}
	l, err := vmproto.TreeListing(s.Path, s.Exclude)
	if err != nil {
		return "", "", err
	}
	listing = vmproto.DataName(s.ID, "listing")
	if err := os.WriteFile(filepath.Join(share, listing), l, 0o644); err != nil {
		return "", "", err
	}
	return vmproto.SumBytes(l), listing, nil
}
