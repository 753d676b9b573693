// Command kh makes eBPF tracing work on the running Linux kernel: it finds
// the kernel's own headers (kheaders), configuration and BTF, unpacks them
// into a safe tmpfs cache and hands them to BCC, bpftrace and clang.
//
// Run `kh --help` for the commands. The work is done by the library
// packages; this command only parses flags and prints results.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	// SIGHUP too: adbd hangs up a command whose adb session went away
	// (Ctrl-C on the workstation), and kh run then detaches cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], system{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		getenv: os.Getenv, environ: os.Environ, arg0: os.Args[0],
	})
	stop()
	os.Exit(code)
}

// Exit statuses, documented in README.md.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// system is everything kh takes from its process: standard streams and
// environment. main passes the real ones; tests pass their own, so that
// commands (and their run functions) never touch os.Stdin, os.Stdout,
// os.Stderr or os.Environ themselves.
type system struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        func() []string
	// arg0 is how kh was invoked (os.Args[0]), for advice that says to
	// run it again.
	arg0 string
}

// run executes kh with args and returns the process exit status. Errors
// are printed as one line on stderr.
func run(ctx context.Context, args []string, sys system) int {
	if sys.stdin == nil {
		sys.stdin = strings.NewReader("")
	}
	if sys.getenv == nil {
		sys.getenv = func(string) string { return "" }
	}
	if sys.environ == nil {
		sys.environ = func() []string { return nil }
	}
	stderr := sys.stderr
	a := &app{system: sys}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(sys.stdout)
	root.SetErr(sys.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, a.errorLine(ee.err))
		}
		return ee.code
	}
	fmt.Fprintln(stderr, a.errorLine(err))
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "Run 'kh --help' for usage.")
		return exitUsage
	}
	return exitFailure
}

// exitError ends kh with a given status; err (if any) is printed first.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a bad command line: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// oneLine folds a multi-line message into one line for stderr.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ; ")), " ")
}
