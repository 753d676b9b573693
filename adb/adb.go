package adb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"

	"github.com/khtool/kh/internal/shquote"
)

// Options say which adb client to run and which device to talk to.
type Options struct {
	// ADB is the adb client; "" means $ADB, else "adb" on PATH.
	ADB string
	// Serial selects the device as `adb -s` does; "" means
	// $ANDROID_SERIAL, else the only device attached.
	Serial string
	// Env is the environment adb runs with; nil means os.Environ().
	Env []string
	// Log receives a line per adb command; nil discards them.
	Log *slog.Logger
}

// ErrNoADB means the adb client is not installed.
var ErrNoADB = errors.New("adb client not found")

// NoDeviceError means adb lists no usable device, or not the one asked for.
type NoDeviceError struct {
	Serial string // the serial asked for, "" for any
}

func (e *NoDeviceError) Error() string {
	if e.Serial != "" {
		return fmt.Sprintf("device %q not found by adb", e.Serial)
	}
	return "no Android device attached (adb devices lists none)"
}

// SeveralDevicesError means several devices are attached and none was
// chosen.
type SeveralDevicesError struct {
	Serials []string
}

func (e *SeveralDevicesError) Error() string {
	return fmt.Sprintf("%d Android devices attached (%s) and none chosen", len(e.Serials), strings.Join(e.Serials, ", "))
}

// StateError means the device is attached but not usable: "unauthorized"
// (the USB debugging prompt was not accepted), "offline", ...
type StateError struct {
	Serial, State string
}

func (e *StateError) Error() string {
	if e.State == "unauthorized" {
		return fmt.Sprintf("device %s is unauthorized: accept the USB debugging prompt on the device", e.Serial)
	}
	return fmt.Sprintf("device %s is %s", e.Serial, e.State)
}

// CommandError is an adb command that failed; Output is the end of what
// it printed.
type CommandError struct {
	Args   []string
	Err    error
	Output string
}

func (e *CommandError) Error() string {
	what := e.Err.Error()
	if e.Output != "" {
		what = e.Output
	}
	return fmt.Sprintf("adb %s: %s", strings.Join(e.Args, " "), what)
}

func (e *CommandError) Unwrap() error { return e.Err }

// Device is one device reached through the adb client.
type Device struct {
	// Serial is the device's serial, as `adb devices` prints it.
	Serial string
	adb    string
	env    []string
	log    *slog.Logger
}

// findADB returns the adb client's path.
func findADB(opts Options) (string, error) {
	name := opts.ADB
	if name == "" {
		name = lookupEnv(opts.Env, "ADB")
	}
	if name == "" {
		name = "adb"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w (%s): install Android's platform tools (Debian: apt-get install adb) or set $ADB", ErrNoADB, name)
	}
	return p, nil
}

func lookupEnv(env []string, key string) string {
	if env == nil {
		return os.Getenv(key)
	}
	v := ""
	for _, e := range env {
		if k, val, ok := strings.Cut(e, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// Open finds the adb client and selects a device as adb does: the serial
// of opts, else $ANDROID_SERIAL, else the only device attached. It fails
// with ErrNoADB, *NoDeviceError, *SeveralDevicesError or *StateError.
func Open(ctx context.Context, opts Options) (*Device, error) {
	adb, err := findADB(opts)
	if err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Device{adb: adb, env: opts.Env, log: log}
	serial := opts.Serial
	if serial == "" {
		serial = lookupEnv(opts.Env, "ANDROID_SERIAL")
	}
	if serial != "" {
		// adb itself says, at the first command, if the device is
		// missing or unusable (see classify): no round trip here.
		d.Serial = serial
		return d, nil
	}
	out, err := d.output(ctx, nil, "devices")
	if err != nil {
		return nil, err
	}
	devs := parseDevices(out)
	switch len(devs) {
	case 0:
		return nil, &NoDeviceError{}
	case 1:
		if devs[0].state != "device" {
			return nil, &StateError{Serial: devs[0].serial, State: devs[0].state}
		}
		d.Serial = devs[0].serial
		return d, nil
	}
	var serials []string
	for _, dv := range devs {
		serials = append(serials, dv.serial)
	}
	return nil, &SeveralDevicesError{Serials: serials}
}

type listed struct{ serial, state string }

// parseDevices reads `adb devices`: a heading, then SERIAL<TAB>STATE.
func parseDevices(out []byte) []listed {
	var devs []listed
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(sc.Text(), "List of devices") || strings.HasPrefix(f[0], "*") {
			continue
		}
		devs = append(devs, listed{f[0], f[1]})
	}
	return devs
}

// Command returns `adb -s SERIAL ARGS...` for the device.
func (d *Device) Command(ctx context.Context, args ...string) *exec.Cmd {
	if d.Serial != "" {
		args = append([]string{"-s", d.Serial}, args...)
	}
	c := exec.CommandContext(ctx, d.adb, args...)
	c.Env = d.env
	d.log.Debug("adb", "args", logArgs(args))
	return c
}

// logArgs shows a command line, with a script cut to its first line.
func logArgs(args []string) string {
	short := make([]string, len(args))
	for i, a := range args {
		if first, _, ok := strings.Cut(a, "\n"); ok {
			a = first + " ...(" + fmt.Sprint(len(a)) + " bytes)"
		}
		short[i] = a
	}
	return strings.Join(short, " ")
}

// output runs adb ARGS and returns its stdout; a failure is a
// *CommandError quoting the end of stderr.
func (d *Device) output(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	c := d.Command(ctx, args...)
	var stderr bytes.Buffer
	c.Stdin, c.Stderr = stdin, &stderr
	out, err := c.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := errorLine(stderr.String() + "\n" + string(out))
		if derr := d.classify(msg); derr != nil {
			return nil, derr
		}
		return nil, &CommandError{Args: args, Err: err, Output: msg}
	}
	return out, nil
}

// classify turns adb's complaints about the device into the typed errors
// of Open.
func (d *Device) classify(msg string) error {
	switch {
	case strings.Contains(msg, "not found") && strings.Contains(msg, "device '"):
		return &NoDeviceError{Serial: d.Serial}
	case strings.Contains(msg, "no devices/emulators found"):
		return &NoDeviceError{Serial: d.Serial}
	case strings.Contains(msg, "unauthorized"):
		return &StateError{Serial: d.Serial, State: "unauthorized"}
	case strings.Contains(msg, "device offline"):
		return &StateError{Serial: d.Serial, State: "offline"}
	case strings.Contains(msg, "more than one device"):
		return &SeveralDevicesError{}
	}
	return nil
}

// errorLine is the line of adb's output that says what went wrong: the
// last "error:" line (adb prints them on stdout or stderr), else the last
// line.
func errorLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "error:") {
			return strings.TrimSpace(lines[i])
		}
	}
	return tail(s)
}

// tail is the last line of s that says something.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// ExecOut runs a shell command line on the device with `adb exec-out`
// (no pty, so the bytes arrive unchanged) and returns what it wrote.
// exec-out reports no exit status and merges stderr into stdout: command
// lines that matter redirect stderr and print their own status.
func (d *Device) ExecOut(ctx context.Context, line string) ([]byte, error) {
	return d.output(ctx, nil, "exec-out", line)
}

// Shell runs a command line on the device with `adb shell -T` (the shell
// protocol: no pty, separate stdout and stderr, the exit status) and
// returns the command's exit status. An error means adb itself failed.
func (d *Device) Shell(ctx context.Context, line string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	c := d.Command(ctx, "shell", "-T", line)
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	err := c.Run()
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return ee.ExitCode(), nil
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	return -1, &CommandError{Args: []string{"shell", "-T", line}, Err: err}
}

// Push copies a host file to the device with `adb push`.
func (d *Device) Push(ctx context.Context, local, remote string) error {
	_, err := d.output(ctx, nil, "push", local, remote)
	return err
}

// Quote quotes s as one word for the device's shell.
func Quote(s string) string { return shquote.Sh(s) }
