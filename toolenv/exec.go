package toolenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/khtool/kh/kheaders"
)

// Command returns a command that runs name with args in this process's
// environment plus Vars(t), so that BCC, bpftrace and scripts it
// starts use tree t.
func Command(ctx context.Context, t *kheaders.Tree, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = Environ(os.Environ(), Vars(t))
	return cmd
}

// Exec replaces the current process with argv[0] (looked up in $PATH when
// it has no slash), run with argv and environ plus Vars(t). Signals,
// the terminal and the exit status then belong to that program. Exec
// returns only on failure: a *exec.Error when the program is not found.
func Exec(t *kheaders.Tree, argv, environ []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("exec: no command")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	if err := syscall.Exec(path, argv, Environ(environ, Vars(t))); err != nil {
		return &exec.Error{Name: argv[0], Err: err}
	}
	return nil
}
