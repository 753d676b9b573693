package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/khtool/kh/cache"
	"github.com/khtool/kh/internal/tracefs"
	"github.com/khtool/kh/kconfig"
	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/loader"
)

// TestAdvice: the CLI turns the library's typed errors into advice that
// names kh's flags and commands, on the same line.
func TestAdvice(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("fetch: %w", &kheaders.NotFoundError{Release: "6.1", Looked: []string{"x: absent"}}), "no kernel headers for 6.1: x: absent; enable CONFIG_IKHEADERS"},
		{&cache.NotTmpfsError{Dir: "/d", FSType: "ext4"}, "kh: cache directory /d is on ext4, not tmpfs; use a tmpfs location (--cache-dir, KH_CACHE_DIR) or pass --allow-disk"},
		{fmt.Errorf("write: %w", cache.ErrNoSpace), "; free space with `kh clean`"},
		{fmt.Errorf("p.o: %w", loader.ErrNotPermitted), "; run as root or with CAP_BPF and CAP_PERFMON"},
		{tracefs.ErrNoTraceFS, "; mount it with `mount -t tracefs"},
		{fmt.Errorf("x: %w", kconfig.ErrNoConfig), "; pass --from"},
	} {
		if got := errorLine(tc.err); !strings.Contains(got, tc.want) || strings.Contains(got, "\n") {
			t.Errorf("errorLine(%v) = %q, want it to contain %q", tc.err, got, tc.want)
		}
	}
	if got := errorLine(errors.New("plain")); got != "kh: plain" {
		t.Errorf("errorLine(plain) = %q", got)
	}
}

// TestDeniedAdvice: header sources that exist but may not be read give
// one line naming them and, on Android (ANDROID_ROOT set, as adb shell
// does), advice about su, adb root and the host.
func TestDeniedAdvice(t *testing.T) {
	nf := &kheaders.NotFoundError{
		Release:    "6.12.117",
		Looked:     []string{"/sys/kernel/btf/vmlinux: permission denied"},
		Denied:     []string{"/sys/kernel/btf/vmlinux"},
		DeniedErrs: []error{fs.ErrPermission},
	}
	err := fmt.Errorf("fetch: %w", nf)
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatal("a NotFoundError with denied sources is not fs.ErrPermission")
	}
	if errors.Is(&kheaders.NotFoundError{Release: "6.1"}, fs.ErrPermission) {
		t.Error("a NotFoundError without denied sources is fs.ErrPermission")
	}
	env := map[string]string{}
	a := &app{system: system{getenv: func(k string) string { return env[k] }, arg0: "/data/local/tmp/kh"}}
	host := a.errorLine(err)
	env["ANDROID_ROOT"] = "/system"
	android := a.errorLine(err)
	for _, tc := range []struct{ got, want string }{
		{host, "kh: fetch: no kernel headers for 6.12.117: permission denied reading /sys/kernel/btf/vmlinux"},
		{host, "; run kh as root"},
		{android, "permission denied reading /sys/kernel/btf/vmlinux"},
		{android, "; Android's SELinux policy may forbid the shell user to read them: run `su -c '/data/local/tmp/kh fetch'` (or `adb root`"},
		{android, "kh fetch --from FILE` on the host"},
	} {
		if !strings.Contains(tc.got, tc.want) || strings.Contains(tc.got, "\n") {
			t.Errorf("%q: want one line containing %q", tc.got, tc.want)
		}
	}
	if _, err := os.Stat("/system/build.prop"); err != nil && strings.Contains(host, "Android") {
		t.Errorf("advice off Android mentions Android: %q", host)
	}
}
