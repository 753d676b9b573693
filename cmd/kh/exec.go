package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/shquote"
	"github.com/khtool/kh/toolenv"
	"github.com/spf13/cobra"
)

// Exit statuses of kh exec when the command cannot be run, as in sh.
const (
	exitCannotRun = 126
	exitNotFound  = 127
)

func (a *app) execCmd() *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec [flags] [--] COMMAND [ARG...]",
		Short: "Run a command with the environment of kh env (BCC and bpftrace find the headers)",
		Long: `Exec fetches the kernel's headers (as kh fetch does) and replaces itself
with COMMAND, run with the environment kh env prints: BCC_KERNEL_SOURCE,
BPFTRACE_KERNEL_SOURCE, BPFTRACE_KERNEL_BUILD and KH_* set (or, for a BTF
tree, the tools' variables removed). Signals, the terminal and the exit
status are COMMAND's own. kh's flags come before COMMAND (or before --);
everything after belongs to COMMAND.

Exit status 127: COMMAND was not found; 126: it could not be run.`,
		Example: `  kh exec -- python3 /usr/share/bcc/tools/opensnoop
  kh exec -- bpftrace -e 'kprobe:do_nanosleep { printf("%d\n", pid); }'
  kh exec --from kheaders.tar.xz -- bpftrace script.bt`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.argv = args
			return a.runExec(cmd.Context(), &o)
		},
	}
	cmd.Flags().SetInterspersed(false)
	o.fetch.add(cmd)
	return cmd
}

// execOptions are the flags and command of `kh exec`.
type execOptions struct {
	fetch fetchFlags
	argv  []string // the command and its arguments
}

// runExec is `kh exec` once its command line is parsed. It returns only
// when the command could not be run (otherwise kh has become it).
func (a *app) runExec(ctx context.Context, o *execOptions) error {
	t, hold, err := a.fetchHeld(ctx, &o.fetch)
	if err != nil {
		return err
	}
	if hold != nil {
		// The command inherits the tree's shared lock: kh clean keeps
		// the tree while the command (or anything it starts) runs.
		if _, err := unix.FcntlInt(hold.File().Fd(), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("hold %s: %w", t.Path, err)
		}
		defer hold.Release()
	}
	a.warnEnv(t)
	a.logger().Debug("exec", "argv", shquote.Join(o.argv), "headers", t.Path)
	err = toolenv.Exec(t, o.argv, a.environ())
	// Not found, as sh says 127: a name not in $PATH (exec.ErrNotFound)
	// or a path that does not exist (LookPath's *fs.PathError; exec(2)
	// failing on an existing file is 126, as in sh).
	var pe *fs.PathError
	if errors.Is(err, exec.ErrNotFound) || (errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist)) {
		return &exitError{code: exitNotFound, err: fmt.Errorf("exec %s: command not found", o.argv[0])}
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	return &exitError{code: exitCannotRun, err: fmt.Errorf("exec %s: %w", o.argv[0], err)}
}
