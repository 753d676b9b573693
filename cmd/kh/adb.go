package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/khtool/kh/adb"
	"github.com/khtool/kh/kheaders"
	"github.com/spf13/cobra"
)

// adbAuto is --adb's value when no serial follows it.
const adbAuto = "auto"

// adbFlags select an Android device reached with adb: --adb[=SERIAL] and
// -s SERIAL (which implies --adb), as adb's own -s.
type adbFlags struct {
	device   string // --adb: adbAuto or a serial
	serial   string // -s
	deviceKh string // --device-kh, for commands that run kh on the device
}

func (f *adbFlags) add(cmd *cobra.Command, pushesKh bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.device, "adb", "", "work on the Android device adb reaches (--adb=SERIAL, -s SERIAL, $ANDROID_SERIAL or the only device) instead of this machine")
	fl.Lookup("adb").NoOptDefVal = adbAuto
	fl.StringVarP(&f.serial, "serial", "s", "", "the adb serial of the device (implies --adb)")
	if pushesKh {
		fl.StringVar(&f.deviceKh, "device-kh", "", "kh binary to push to the device (default: one built for its architecture beside this kh, or in $GOBIN/linux_ARCH, ~/go/bin/linux_ARCH)")
	}
}

// on tells whether the command targets a device.
func (f *adbFlags) on() bool { return f != nil && (f.device != "" || f.serial != "") }

func (f *adbFlags) chosen() string {
	if f.serial != "" {
		return f.serial
	}
	if f.device == adbAuto {
		return ""
	}
	return f.device
}

// openDevice selects the device as adb does.
func (a *app) openDevice(ctx context.Context, f *adbFlags) (*adb.Device, error) {
	if f.serial != "" && f.device != "" && f.device != adbAuto && f.device != f.serial {
		return nil, usagef("--adb=%s and -s %s name different devices", f.device, f.serial)
	}
	d, err := adb.Open(ctx, adb.Options{Serial: f.chosen(), Log: a.logger()})
	var several *adb.SeveralDevicesError
	switch {
	case errors.As(err, &several):
		return nil, fmt.Errorf("%w: choose one with -s SERIAL or ANDROID_SERIAL", err)
	case errors.Is(err, adb.ErrNoADB):
		return nil, err
	}
	var nd *adb.NoDeviceError
	if errors.As(err, &nd) {
		return nil, fmt.Errorf("%w: connect one (USB debugging on, or adb connect HOST:PORT) and check `adb devices`", err)
	}
	return d, err
}

// fetchADB is kh fetch for the device's kernel, into this machine's cache.
func (a *app) fetchADB(ctx context.Context, f *fetchFlags) (*kheaders.Tree, error) {
	if f.from != "" || f.loadModule {
		return nil, usagef("--adb reads the device's own sources: not with --from or --load-module")
	}
	req, err := requireKind(f.require)
	if err != nil {
		return nil, err
	}
	d, err := a.openDevice(ctx, f.adb)
	if err != nil {
		return nil, err
	}
	opts := kheaders.Options{
		CacheDir:   a.cacheDir(f.cache),
		AllowDisk:  f.cache.allowDisk,
		MountTmpfs: f.cache.mountTmpfs,
		Require:    req,
		Log:        a.logger(),
	}
	t, _, err := adb.Fetch(ctx, d, opts)
	return t, err
}

// pullADB copies a file of the device's kernel (what(info) names it) to
// a private temporary file on this machine, for the commands whose
// --from reads a file; the caller removes it.
func (a *app) pullADB(ctx context.Context, f *adbFlags, read func(context.Context, *adb.Device, *adb.Info) ([]byte, error)) (string, error) {
	d, err := a.openDevice(ctx, f)
	if err != nil {
		return "", err
	}
	info, err := d.Probe(ctx)
	if err != nil {
		return "", err
	}
	data, err := read(ctx, d, info)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp("", "kh-adb-*")
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

func readBTF(ctx context.Context, d *adb.Device, info *adb.Info) ([]byte, error) {
	return d.BTF(ctx, info)
}

func readConfig(ctx context.Context, d *adb.Device, info *adb.Info) ([]byte, error) {
	if !info.Config {
		return nil, fmt.Errorf("device %s: %w", d.Serial, adb.ErrNoConfig)
	}
	return d.ReadFile(ctx, info, "/proc/config.gz", -1)
}

// runOnDevice pushes a kh for the device and files, runs kh ARGS there
// and ends this kh with its exit status (130 when interrupted).
func (a *app) runOnDevice(ctx context.Context, f *adbFlags, needRoot bool, files []string, args []string) error {
	d, err := a.openDevice(ctx, f)
	if err != nil {
		return err
	}
	info, err := d.Probe(ctx)
	if err != nil {
		return err
	}
	if info.GOARCH() == "" {
		return fmt.Errorf("device %s runs %s, for which Go builds no kh", d.Serial, info.Machine)
	}
	kh := f.deviceKh
	if kh != "" {
		if err := adb.CheckKh(kh, info.GOARCH()); err != nil {
			return fmt.Errorf("--device-kh: %w", err)
		}
	} else {
		self, _ := os.Executable()
		if kh, err = adb.FindKh(info.GOARCH(), self); err != nil {
			return err
		}
	}
	if a.verbose {
		args = append([]string{"-v"}, args...)
	}
	a.logger().Debug("running kh on the device", "device", d.Serial, "kh", kh, "root", string(info.Root), "args", fmt.Sprint(args))
	code, err := d.Run(ctx, info, adb.RunOptions{Kh: kh, Files: files, Args: args, NeedRoot: needRoot, Stdout: a.stdout, Stderr: a.stderr})
	if errors.Is(err, context.Canceled) {
		var ce *adb.CleanupError
		if errors.As(err, &ce) {
			return &exitError{code: 130, err: ce}
		}
		return &exitError{code: 130}
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}
