// Package tracefs finds (and, as root, mounts) the kernel's tracing file
// system and reads bpf_printk lines from its trace_pipe. The loader (kh
// run) and the doctor share it.
//
// It must not load or attach BPF programs; it knows tracefs, nothing else.
package tracefs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/mountinfo"
)

// Canonical mount points of the kernel's pseudo file systems.
const (
	// TraceFSDir is where tracefs is mounted since Linux 4.1.
	TraceFSDir = "/sys/kernel/tracing"
	// DebugFSDir is where debugfs is mounted; older systems reach tracefs
	// as its tracing/ subdirectory.
	DebugFSDir = "/sys/kernel/debug"
	// BPFFSDir is where the BPF file system (for pinning) is mounted.
	BPFFSDir = "/sys/fs/bpf"
)

// ErrNoTraceFS means no tracefs is mounted and kh could not mount one.
var ErrNoTraceFS = errors.New("no tracefs mounted")

// FindTraceFS returns the directory where tracefs is reachable on the
// running system: a tracefs mount listed in /proc/self/mountinfo, else
// /sys/kernel/tracing or /sys/kernel/debug/tracing when statfs says they
// hold tracefs. It returns ErrNoTraceFS when there is none.
func FindTraceFS() (string, error) {
	if mounts, err := mountinfo.Read("/"); err == nil {
		if m, ok := mountinfo.At(mounts, "tracefs", TraceFSDir); ok {
			return m.Dir, nil
		}
		if m, ok := mountinfo.First(mounts, "tracefs"); ok {
			return m.Dir, nil
		}
	}
	for _, dir := range []string{TraceFSDir, DebugFSDir + "/tracing"} {
		if isFS(dir, unix.TRACEFS_MAGIC) {
			return dir, nil
		}
	}
	return "", ErrNoTraceFS
}

// isFS reports whether statfs says dir holds a file system with magic.
func isFS(dir string, magic int64) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return int64(st.Type) == magic
}

// EnsureTraceFS returns the tracefs directory, mounting tracefs on
// /sys/kernel/tracing first when none is mounted (this needs root). It
// reports whether it mounted anything. The mount is left in place: it is
// harmless, and other tools expect it.
func EnsureTraceFS(logger *slog.Logger) (dir string, mounted bool, err error) {
	if dir, err := FindTraceFS(); err == nil {
		return dir, false, nil
	}
	if err := unix.Mount("tracefs", TraceFSDir, "tracefs", 0, ""); err != nil {
		if errors.Is(err, unix.EPERM) {
			return "", false, fmt.Errorf("%w (mounting it needs root)", ErrNoTraceFS)
		}
		return "", false, fmt.Errorf("%w (mount on %s: %v)", ErrNoTraceFS, TraceFSDir, err)
	}
	logger.Info("mounted tracefs", "dir", TraceFSDir)
	return TraceFSDir, true, nil
}

// Printk is one bpf_printk line read from trace_pipe.
type Printk struct {
	Task      string // command name of the task that printed, "<...>" if unknown
	PID       int    // its thread ID
	CPU       int    // CPU it ran on
	Timestamp string // kernel trace clock, seconds, as printed
	Text      string // the message
	Line      string // the raw trace_pipe line
}

// ParsePrintk parses a trace_pipe line such as
//
//	"  sh-1234    [001] d..31  5678.123456: bpf_trace_printk: hello"
//
// It returns false for lines that are not bpf_printk output.
func ParsePrintk(line string) (Printk, bool) {
	const marker = ": bpf_trace_printk: "
	i := strings.Index(line, marker)
	if i < 0 {
		return Printk{}, false
	}
	p := Printk{Text: line[i+len(marker):], Line: line, PID: -1, CPU: -1}
	head := line[:i]
	// head: "TASK-PID [CPU] FLAGS TIMESTAMP" (flags are absent on old kernels).
	lb := strings.LastIndex(head, "[")
	rb := strings.LastIndex(head, "]")
	if lb < 0 || rb < lb {
		return p, true
	}
	if n, err := strconv.Atoi(strings.TrimSpace(head[lb+1 : rb])); err == nil {
		p.CPU = n
	}
	if f := strings.Fields(head[rb+1:]); len(f) > 0 {
		p.Timestamp = f[len(f)-1]
	}
	task := strings.TrimSpace(head[:lb])
	if d := strings.LastIndex(task, "-"); d >= 0 {
		if n, err := strconv.Atoi(task[d+1:]); err == nil {
			p.PID = n
			task = task[:d]
		}
	}
	p.Task = task
	return p, true
}

// ReadTracePipe streams the bpf_printk lines of dir/trace_pipe to fn
// until ctx is done. Reading trace_pipe consumes the lines: other readers
// do not see them.
func ReadTracePipe(ctx context.Context, dir string, fn func(Printk) error) error {
	path := dir + "/trace_pipe"
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	defer stop()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			if errors.Is(err, io.EOF) {
				// trace_pipe only ends when non-blocking reads are not
				// polled; wait a little and retry.
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			return fmt.Errorf("read %s: %w", path, err)
		}
		if p, ok := ParsePrintk(strings.TrimRight(line, "\n")); ok {
			if err := fn(p); err != nil {
				return err
			}
		}
	}
}
