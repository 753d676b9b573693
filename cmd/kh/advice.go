package main

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/khtool/kh/cache"
	"github.com/khtool/kh/internal/tracefs"
	"github.com/khtool/kh/kconfig"
	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/loader"
)

// advice is what to do about err, in kh's terms (flags, commands), or "".
// Library errors say what happened; the CLI adds this.
func advice(err error) string {
	if a := registryAdvice(err); a != "" {
		return a
	}
	var nf *kheaders.NotFoundError
	var nt *cache.NotTmpfsError
	var ut *kheaders.UntrustedTreeError
	var u *cache.UntrustedError
	switch {
	case errors.As(err, &nf) && errors.Is(nf, fs.ErrPermission):
		return deniedAdvice(false, "kh")
	case errors.As(err, &nf):
		return "enable CONFIG_IKHEADERS (built in or as the kheaders module), install the kheaders module for this kernel, pass --from with an archive, a module or a header directory, or --registry (KH_REGISTRY) with an OCI repository that kh push filled"
	case errors.As(err, &nt) && nt.Mountable && nt.MountErr == nil:
		return "pass --mount-tmpfs to mount one there (on an empty directory), use a tmpfs location (--cache-dir, KH_CACHE_DIR) or pass --allow-disk"
	case errors.Is(err, cache.ErrNotTmpfs):
		return "use a tmpfs location (--cache-dir, KH_CACHE_DIR) or pass --allow-disk"
	case errors.As(err, &ut):
		return "make it root's (or yours) and not writable by group or others (chmod -R go-w), or pass --from with the kheaders archive instead, which kh unpacks into its trusted cache"
	case errors.As(err, &u) && u.Ancestor:
		return "use a cache directory that only you or root can change (--cache-dir, KH_CACHE_DIR)"
	case errors.As(err, &u) && u.Cache:
		return "remove it (as its owner or root) or use another cache directory (--cache-dir, KH_CACHE_DIR)"
	case errors.Is(err, kheaders.ErrNoSpace), errors.Is(err, cache.ErrNoSpace):
		if strings.Contains(err.Error(), "kh clean") {
			// kheaders/extract.go still says so itself (owned by another
			// change; to move here when it lands).
			return ""
		}
		return "free space with `kh clean` or give the cache more room"
	case errors.Is(err, loader.ErrNotPermitted):
		return "run as root or with CAP_BPF and CAP_PERFMON (see kh doctor)"
	case errors.Is(err, tracefs.ErrNoTraceFS):
		return "mount it with `mount -t tracefs tracefs " + tracefs.TraceFSDir + "` (or run `kh doctor --fix` as root)"
	case errors.Is(err, kconfig.ErrNoConfig):
		return "pass --from with a kernel image, a .config or a header tree"
	}
	return ""
}

// errorLine is the one line kh prints for err: what happened, then what
// to do about it.
func errorLine(err error) string {
	line := oneLine(err.Error())
	if a := advice(err); a != "" {
		line += "; " + a
	}
	return "kh: " + line
}

// deniedAdvice is what to do when the kernel's header sources exist but
// this user may not read them. On Android that is the rule for the shell
// user (SELinux gives sysfs and the module partitions labels it may not
// read), so the advice names su, adb root and the host; self is how kh
// was invoked.
func deniedAdvice(android bool, self string) string {
	if android {
		return "Android's SELinux policy may forbid the shell user to read them: run `su -c '" + self + " fetch'` (or `adb root`, then `adb shell " + self + " fetch`), or copy the archive or module off the device as root and run `kh fetch --from FILE` on the host"
	}
	return "run kh as root (e.g. `sudo kh fetch`), or have root copy the archive or module somewhere you can read and pass it with --from"
}

// errorLine is errorLine with what kh knows about where it runs: on
// Android, sources the shell user may not read get Android's advice.
func (a *app) errorLine(err error) string {
	var nf *kheaders.NotFoundError
	if errors.As(err, &nf) && errors.Is(nf, fs.ErrPermission) {
		return "kh: " + oneLine(err.Error()) + "; " + deniedAdvice(a.onAndroid(), a.self())
	}
	return errorLine(err)
}

// onAndroid reports whether kh runs on Android: adb shell and su set
// ANDROID_ROOT and ANDROID_DATA, and every device has /system/build.prop.
func (a *app) onAndroid() bool {
	if a.getenv("ANDROID_ROOT") != "" || a.getenv("ANDROID_DATA") != "" {
		return true
	}
	_, err := os.Stat("/system/build.prop")
	return err == nil
}

// self is how to invoke this kh again: the path it was run by when that
// is one (/data/local/tmp/kh), else "kh".
func (a *app) self() string {
	if strings.Contains(a.arg0, "/") {
		return a.arg0
	}
	return "kh"
}
