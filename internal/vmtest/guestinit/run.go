package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/vmtest/vmproto"
)

// runGroup starts every command, as close together as it can, and waits
// for all of them. Each runs in its own process group, which is killed
// when the command times out and after it exits (so no stray children
// outlive their step).
func runGroup(cmds []vmproto.Command) []vmproto.CommandResult {
	results := make([]vmproto.CommandResult, len(cmds))
	procs := make([]*exec.Cmd, len(cmds))
	starts := make([]time.Time, len(cmds))
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i, c := range cmds {
		cmd, opened, err := prepare(c)
		files = append(files, opened...)
		if err == nil {
			starts[i] = time.Now()
			err = cmd.Start()
		}
		if err != nil {
			results[i] = vmproto.CommandResult{ExitCode: -1, StartErr: err.Error()}
			continue
		}
		procs[i] = cmd
	}
	var wg sync.WaitGroup
	for i, cmd := range procs {
		if cmd == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = wait(cmd, cmds[i].Timeout, starts[i])
		}()
	}
	wg.Wait()
	return results
}

// prepare builds the exec.Cmd for c, opening its stdio files.
func prepare(c vmproto.Command) (*exec.Cmd, []*os.File, error) {
	if len(c.Args) == 0 {
		return nil, nil, fmt.Errorf("empty command")
	}
	env := mergeEnv(vmproto.DefaultEnv(), c.Env)
	path, err := lookPath(c.Args[0], getenv(env, "PATH"))
	if err != nil {
		return nil, nil, err
	}
	var opened []*os.File
	open := func(name string, flag int) (*os.File, error) {
		f, err := os.OpenFile(name, flag, 0o644)
		if err == nil {
			opened = append(opened, f)
		}
		return f, err
	}
	stdin := os.DevNull
	if c.Stdin != "" {
		stdin = filepath.Join(share, c.Stdin)
	}
	in, err := open(stdin, os.O_RDONLY)
	if err != nil {
		return nil, opened, err
	}
	out, err := open(filepath.Join(share, c.Stdout), os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return nil, opened, err
	}
	errf, err := open(filepath.Join(share, c.Stderr), os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return nil, opened, err
	}
	dir := c.Dir
	if dir == "" {
		dir = "/"
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	if c.Cred != nil {
		attr.Credential = &syscall.Credential{Uid: c.Cred.UID, Gid: c.Cred.GID, Groups: c.Cred.Groups}
		if c.Cred.Groups == nil {
			attr.Credential.Groups = []uint32{}
		}
	}
	return &exec.Cmd{
		Path:        path,
		Args:        c.Args,
		Env:         env,
		Dir:         dir,
		Stdin:       in,
		Stdout:      out,
		Stderr:      errf,
		SysProcAttr: attr,
	}, opened, nil
}

// wait waits for a started command, killing its process group if it runs
// past timeout.
func wait(cmd *exec.Cmd, timeout time.Duration, start time.Time) vmproto.CommandResult {
	pid := cmd.Process.Pid
	var mu sync.Mutex
	timedOut := false
	if timeout > 0 {
		t := time.AfterFunc(timeout, func() {
			mu.Lock()
			timedOut = true
			mu.Unlock()
			unix.Kill(-pid, unix.SIGKILL)
		})
		defer t.Stop()
	}
	cmd.Wait()
	elapsed := time.Since(start)
	unix.Kill(-pid, unix.SIGKILL) // leftovers of the group
	mu.Lock()
	defer mu.Unlock()
	r := vmproto.CommandResult{ExitCode: -1, TimedOut: timedOut, Elapsed: elapsed}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			r.ExitCode = ws.ExitStatus()
		case ws.Signaled():
			r.Signal = unix.SignalName(ws.Signal())
		}
	}
	return r
}

// lookPath resolves name like a shell would with the given PATH (the
// command's, not init's).
func lookPath(name, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return name, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: executable file not found in PATH=%s", name, pathEnv)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err // the caller names the file
		}
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("not an executable file (mode %v)", fi.Mode())
	}
	return nil
}

// mergeEnv returns base with the KEY=VALUE pairs of extra added, a key in
// extra replacing the same key in base.
func mergeEnv(base, extra []string) []string {
	out := make([]string, 0, len(base)+len(extra))
	seen := map[string]int{}
	for _, kv := range append(append([]string{}, base...), extra...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := seen[k]; ok {
			out[i] = kv
			continue
		}
		seen[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func getenv(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
