package adb

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"time"
)

// RemoteDir is where Run makes its private directories on the device:
// the one directory of an Android device that adb's shell user may write
// and execute from.
const RemoteDir = "/data/local/tmp"

// RunOptions say what Run pushes and runs.
type RunOptions struct {
	// Kh is the host path of a kh built for the device (see FindKh).
	Kh string
	// Files are more host files to push beside it (the BPF object); the
	// command refers to them by base name.
	Files []string
	// Args are kh's arguments on the device, run in the private
	// directory (so "run", "prog.bpf.o" names a pushed file).
	Args []string
	// NeedRoot refuses to run without root (ErrNoRoot); otherwise kh
	// runs as root if the device gives root, else as adb's user.
	NeedRoot bool
	// Stdout and Stderr receive the device kh's output, unchanged.
	Stdout, Stderr io.Writer
}

// cleanupTimeout bounds the removal of what Run pushed, which runs even
// after ctx is done.
const cleanupTimeout = 30 * time.Second

// Run pushes a kh and opts.Files to a private directory under RemoteDir,
// runs kh there with opts.Args (as root when the device gives root),
// streams its stdout and stderr, and returns its exit status. When ctx
// is done (Ctrl-C), the device's kh is interrupted (SIGINT, so it
// detaches everything; SIGKILL if it is still there 5s later). Whatever
// happens, the directory is removed before Run returns; if that fails,
// the error includes a *CleanupError naming it. The exit status is the
// device kh's only where the device's adbd has the shell protocol
// (shell_v2, Android 7 and later).
func (d *Device) Run(ctx context.Context, info *Info, opts RunOptions) (code int, err error) {
	if info.Root == RootNone && info.UID != 0 && opts.NeedRoot {
		return -1, fmt.Errorf("device %s: %w", d.Serial, ErrNoRoot)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	dir := path.Join(RemoteDir, "kh-"+hex.EncodeToString(rnd[:]))
	qdir := Quote(dir)
	out, err := d.ExecOut(ctx, "mkdir -m 700 "+qdir+" 2>&1 && echo made")
	if err != nil {
		return -1, err
	}
	if string(out) != "made\n" {
		return -1, fmt.Errorf("device %s: mkdir %s: %s", d.Serial, dir, tail(string(out)))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		// As root too, for what the root kh created; the pid file names
		// the kh to stop if the session was interrupted.
		line := "p=$(cat " + qdir + "/pid 2>/dev/null); if [ -n \"$p\" ] && kill -0 $p 2>/dev/null; then kill -INT $p; i=0; while kill -0 $p 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL $p 2>/dev/null; fi; rm -rf " + qdir + "; [ ! -e " + qdir + " ] && echo removed"
		out, cerr := d.ExecOut(cctx, info.AsRoot(line))
		if cerr == nil && string(out) != "removed\n" {
			// Not root: remove what adb's user owns.
			out, cerr = d.ExecOut(cctx, "rm -rf "+qdir+"; [ ! -e "+qdir+" ] && echo removed")
		}
		if cerr == nil && string(out) != "removed\n" {
			cerr = errors.New(tail(string(out)))
		}
		if cerr != nil {
			err = errors.Join(err, &CleanupError{Serial: d.Serial, Dir: dir, Err: cerr})
		}
	}()
	for _, f := range append([]string{opts.Kh}, opts.Files...) {
		name := filepath.Base(f)
		if f == opts.Kh {
			name = "kh"
		}
		if err := d.Push(ctx, f, dir+"/"+name); err != nil {
			return -1, err
		}
	}
	line := "cd " + qdir + " && echo $$ > pid && exec ./kh"
	for _, a := range opts.Args {
		line += " " + Quote(a)
	}
	code, err = d.Shell(ctx, info.AsRoot(line), nil, opts.Stdout, opts.Stderr)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return -1, err
	}
	return code, err
}

// CleanupError means Run could not remove its directory on the device.
type CleanupError struct {
	Serial, Dir string
	Err         error
}

func (e *CleanupError) Error() string {
	return fmt.Sprintf("could not remove %s on device %s (remove it with adb shell rm -rf %s): %v", e.Dir, e.Serial, e.Dir, e.Err)
}

func (e *CleanupError) Unwrap() error { return e.Err }

// KhNotFoundError means no kh for the device's architecture was found.
type KhNotFoundError struct {
	GOARCH string
	Looked []string
}

func (e *KhNotFoundError) Error() string {
	return fmt.Sprintf("no kh built for linux/%s (looked at %v): build one with `GOOS=linux GOARCH=%s CGO_ENABLED=0 go build -o kh-linux-%s ./cmd/kh` beside kh, or pass --device-kh",
		e.GOARCH, e.Looked, e.GOARCH, e.GOARCH)
}

// FindKh returns a kh to push to a device of architecture goarch: self
// (the running kh's path) when it is a static binary for goarch;
// kh-linux-GOARCH or linux_GOARCH/kh beside it; $GOBIN/linux_GOARCH/kh
// or ~/go/bin/linux_GOARCH/kh (where `GOOS=linux GOARCH=... go install`
// puts it). Each must be a static ELF for that architecture.
func FindKh(goarch, self string) (string, error) {
	var cands []string
	if self != "" {
		if goarch == runtime.GOARCH {
			cands = append(cands, self)
		}
		dir := filepath.Dir(self)
		cands = append(cands, filepath.Join(dir, "kh-linux-"+goarch), filepath.Join(dir, "linux_"+goarch, "kh"))
	}
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		cands = append(cands, filepath.Join(gobin, "linux_"+goarch, "kh"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, "go", "bin", "linux_"+goarch, "kh"))
	}
	for _, c := range cands {
		if CheckKh(c, goarch) == nil {
			return c, nil
		}
	}
	return "", &KhNotFoundError{GOARCH: goarch, Looked: cands}
}

var elfMachine = map[string]elf.Machine{"arm64": elf.EM_AARCH64, "amd64": elf.EM_X86_64, "386": elf.EM_386, "arm": elf.EM_ARM, "riscv64": elf.EM_RISCV}

// CheckKh says why path is not a kh that runs on a linux/goarch device:
// it must be a static ELF executable for that machine (a device has no
// host C library).
func CheckKh(path, goarch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if m, ok := elfMachine[goarch]; !ok || f.Machine != m {
		return fmt.Errorf("%s is for %s, not linux/%s", path, f.Machine, goarch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}
