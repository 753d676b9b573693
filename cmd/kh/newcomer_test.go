package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/khtool/kh/kheaders"
)

// TestVersion is issue 14 item 10: kh --version reports the module
// version and VCS revision Go embeds, not "devel".
func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/khtool/kh", Version: "v0.3.1"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "7193dc634b631fd47feb73a266d3121e383c9ae4"}, {Key: "vcs.time", Value: "2026-12-01T16:43:59Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionOf(bi), "v0.3.1 (revision 7193dc634b63 of 2026-12-01T16:43:59Z, modified, go1.26.8)"; got != want {
		t.Errorf("versionOf = %q, want %q", got, want)
	}
	out, _, code := kh(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "kh version ") || strings.Contains(out, "devel\n") {
		t.Errorf("kh --version: exit %d, %q", code, out)
	}
}

// TestQuiet: -q drops warnings and notes, keeps errors; -v -q is a usage
// error.
func TestQuiet(t *testing.T) {
	archive := filepath.Join(testkernel(t, "x86_64"), "kheaders.tar.xz")
	cache := cacheDir(t)
	t.Setenv("ARCH", "arm64") // kh env warns that ARCH overrides the tree's
	_, errs, code := kh(t, "env", "--cache-dir", cache, "--from", archive)
	if code != 0 || !strings.Contains(errs, "kh: warn: ") {
		t.Fatalf("env: exit %d, stderr %q: want a warning", code, errs)
	}
	_, errs, code = kh(t, "-q", "env", "--cache-dir", cache, "--from", archive)
	if code != 0 || errs != "" {
		t.Errorf("-q env: exit %d, stderr %q", code, errs)
	}
	_, errs, code = kh(t, "-q", "fetch", "--from", "/nonexistent.tar.xz", "--cache-dir", cache)
	if code != exitFailure || !strings.HasPrefix(errs, "kh: ") {
		t.Errorf("-q keeps errors: exit %d, %q", code, errs)
	}
	if _, errs, code := kh(t, "-v", "-q", "list"); code != exitUsage || !strings.Contains(errs, "-v and -q are exclusive") {
		t.Errorf("-v -q: exit %d, %q", code, errs)
	}
}

// TestCompletion: shell completion offers the values of -o, --shell,
// --require, --arch and --module.
func TestCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"fetch", "-o", ""}, []string{"text", "json"}},
		{[]string{"env", "--shell", ""}, []string{"sh", "bash", "zsh", "dash", "fish"}},
		{[]string{"cflags", "--require", ""}, []string{"kheaders"}},
		{[]string{"build", "--arch", ""}, []string{"x86", "arm64"}},
	} {
		out, _, code := kh(t, append([]string{"__complete"}, tc.args...)...)
		lines := strings.Split(out, "\n")
		for _, w := range tc.want {
			found := false
			for _, l := range lines {
				found = found || l == w
			}
			if code != 0 || !found {
				t.Errorf("complete %q: exit %d, %q lacks %q", tc.args, code, out, w)
			}
		}
	}
	dir := t.TempDir()
	for _, n := range []string{"vmlinux", "nf_tables", "kheaders"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	if got := strings.Join(btfModules(dir), ","); got != "kheaders,nf_tables" {
		t.Errorf("btfModules = %q", got)
	}
	out, _, _ := kh(t, "completion", "bash")
	if !strings.Contains(out, "bash completion") {
		t.Errorf("kh completion bash: %.100q", out)
	}
}

// TestBTFWarningOnce is issue 14 item 10: a BTF tree is warned about
// once per command (kh env and kh exec used to print two warnings, and
// every command one).
func TestBTFWarningOnce(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("no kernel BTF: no BTF tree to warn about")
	}
	cache := cacheDir(t)
	_, errs, code := kh(t, "fetch", "--cache-dir", cache)
	if code != 0 {
		t.Skipf("fetch: %s", errs)
	}
	var m struct{ Kind string }
	out, _, _ := kh(t, "fetch", "--cache-dir", cache, "-o", "json")
	json.Unmarshal([]byte(out), &m)
	if m.Kind != "btf" {
		t.Skip("this kernel has real headers")
	}
	for _, args := range [][]string{{"fetch"}, {"env"}, {"cflags"}} {
		_, errs, code := kh(t, append(args, "--cache-dir", cache)...)
		n := strings.Count(errs, "BTF tree")
		if code != 0 || (args[0] == "cflags" && n != 0) || (args[0] != "cflags" && n != 1) {
			t.Errorf("kh %v: exit %d, %d BTF warnings: %q", args, code, n, errs)
		}
		if args[0] != "cflags" && !strings.Contains(errs, "--require kheaders") {
			t.Errorf("kh %v: the warning does not say what works instead: %q", args, errs)
		}
	}
}

// TestConfigFromKheaders is issue 14 item 11: kh config --from a kheaders
// archive or module reads its include/generated/autoconf.h (it said "no
// embedded configuration"). runConfig is called directly.
func TestConfigFromKheaders(t *testing.T) {
	dir := testkernel(t, "arm64")
	for _, f := range []string{"kheaders.tar.xz", "kheaders.ko"} {
		var out, errb bytes.Buffer
		a := &app{system: testSystem(nil, &out, &errb)}
		err := a.runConfig(context.Background(), &configOptions{output: "text", from: filepath.Join(dir, f), args: []string{"BPF_SYSCALL", "ARM64"}})
		if err != nil || out.String() != "CONFIG_BPF_SYSCALL=y\nCONFIG_ARM64=y\n" {
			t.Errorf("%s: %v, %q %q", f, err, out.String(), errb.String())
		}
	}
	// Usage is checked before any configuration is read.
	a := &app{system: testSystem(nil, new(bytes.Buffer), new(bytes.Buffer))}
	err := a.runConfig(context.Background(), &configOptions{output: "json", from: "/nonexistent", autoconf: true})
	if _, ok := err.(*usageError); !ok {
		t.Errorf("--autoconf -o json with a missing --from: %v, want a usage error first", err)
	}
}

// TestFetchDirJSON is issue 14 item 11: kh fetch --from DIR -o json
// counts the files of a tree used in place (it said files 0, bytes 0,
// created in year 1).
func TestFetchDirJSON(t *testing.T) {
	archive := filepath.Join(testkernel(t, "x86_64"), "kheaders.tar.xz")
	cache := cacheDir(t)
	out, _, code := kh(t, "fetch", "--cache-dir", cache, "--from", archive, "-o", "json")
	var pub kheaders.Manifest
	if code != 0 || json.Unmarshal([]byte(out), &pub) != nil {
		t.Fatalf("fetch: %d %q", code, out)
	}
	dir := t.TempDir()
	if b, err := exec.Command("cp", "-a", pub.Path+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, b)
	}
	os.Chmod(dir, 0o755)
	os.Remove(filepath.Join(dir, kheaders.ManifestName))
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", dir).Run() })
	out, errs, code := kh(t, "fetch", "--from", dir, "-o", "json")
	var m kheaders.Manifest
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("fetch --from DIR: %d %q %q", code, out, errs)
	}
	if m.Source.Kind != kheaders.SourceDir || m.Files != pub.Files || m.Bytes != pub.Bytes || m.Created.Year() < 2000 {
		t.Errorf("in place: files %d bytes %d created %v; the published tree has %d files, %d bytes", m.Files, m.Bytes, m.Created, pub.Files, pub.Bytes)
	}
}

// TestUsageBeforeWork is issue 14 item 10: bad arguments are usage
// errors worded by kh and found before anything is fetched (the --from
// here does not exist: a fetch would fail with exit 1, not 2).
func TestUsageBeforeWork(t *testing.T) {
	missing := "/nonexistent/kheaders.tar.xz"
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cflags", "--from", missing, "--arch", "vax"}, `--arch: unknown architecture "vax"`},
		{[]string{"build", "--from", missing, "p.bpf.c", "--arch", "vax"}, `--arch: unknown architecture "vax"`},
		{[]string{"cflags", "--from", missing, "--libbpf-include", empty}, "--libbpf-include: " + empty + " has no bpf/bpf_helpers.h"},
		{[]string{"env", "--from", missing, "--shell", "tcsh"}, `unknown shell "tcsh"`},
		{[]string{"fetch", "--from", missing, "--require", "btf"}, `--require "btf": want kheaders`},
		{[]string{"fetch", "--from", missing, "-o", "yaml"}, "unknown output format"},
		{[]string{"exec", "--from", missing}, "kh exec needs at least 1 argument(s), got 0"},
		{[]string{"config", "--from", missing, "--autoconf", "-o", "json"}, "--autoconf prints the whole configuration"},
	} {
		out, errs, code := kh(t, tc.args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errs, "kh: ") || !strings.Contains(errs, tc.want) || strings.Contains(errs, "arg(s), only received") {
			t.Errorf("kh %q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errs, tc.want)
		}
	}
	help, _, _ := kh(t, "fetch", "--help")
	if !strings.Contains(help, "BCC_KERNEL_SOURCE=$(kh fetch --require kheaders)") || strings.Contains(help, "BCC_KERNEL_SOURCE=$(kh fetch) ") {
		t.Errorf("kh fetch --help still hands BCC a BTF tree:\n%s", help)
	}
}
