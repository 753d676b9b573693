package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

// TestEnvCLI prints the environment for the x86_64 test kernel's tree in
// both shell syntaxes and as JSON, and evals it in real shells.
func TestEnvCLI(t *testing.T) {
	archive := filepath.Join(testkernel(t, "x86_64"), "kheaders.tar.xz")
	cache := cacheDir(t)
	tree, _, code := kh(t, "fetch", "--cache-dir", cache, "--from", archive)
	tree = strings.TrimSpace(tree)
	if code != 0 {
		t.Fatalf("fetch: exit %d", code)
	}

	out, errs, code := kh(t, "env", "--cache-dir", cache, "--from", archive)
	if code != 0 {
		t.Fatalf("env: exit %d: %s", code, errs)
	}
	for line := range strings.Lines(errs) {
		if !strings.HasPrefix(line, "kh: warn: ") {
			t.Errorf("stderr line %q is not a warning", line)
		}
	}
	probe := `printf '%s|%s|%s|%s|%s|%s|%s' "$BCC_KERNEL_SOURCE" "$BPFTRACE_KERNEL_SOURCE" "$BPFTRACE_KERNEL_BUILD" "$KH_HEADERS" "$KH_KIND" "$KH_RELEASE" "$KH_ARCH"`
	want := strings.Join([]string{tree, tree, tree, tree, "kheaders", "6.1.192", "x86"}, "|")
	got, err := exec.Command("sh", "-c", out+probe).CombinedOutput()
	if err != nil || string(got) != want {
		t.Errorf("sh eval: %v: %q, want %q\nscript: %s", err, got, want, out)
	}

	// Issue 14 item 7: --help lists bash, zsh and dash; each is accepted
	// and its output evaluates in that shell.
	for _, sh := range []string{"bash", "zsh", "dash", "mksh"} {
		out, errs, code := kh(t, "env", "--cache-dir", cache, "--from", archive, "--shell", sh)
		if code != 0 {
			t.Errorf("env --shell %s: exit %d: %s", sh, code, errs)
			continue
		}
		path, err := exec.LookPath(sh)
		if err != nil {
			continue // the syntax is sh's, evaluated above
		}
		got, err := exec.Command(path, "-c", out+probe).CombinedOutput()
		if err != nil || string(got) != want {
			t.Errorf("%s eval: %v: %q, want %q", sh, err, got, want)
		}
	}

	fish := tk.NeedTool(t, "fish")
	out, _, code = kh(t, "env", "--cache-dir", cache, "--from", archive, "--shell", "fish")
	if code != 0 || !strings.Contains(out, "set -gx BCC_KERNEL_SOURCE "+tree+";") {
		t.Fatalf("env --shell fish: exit %d: %q", code, out)
	}
	fishProbe := `printf '%s|%s|%s|%s|%s|%s|%s' $BCC_KERNEL_SOURCE $BPFTRACE_KERNEL_SOURCE $BPFTRACE_KERNEL_BUILD $KH_HEADERS $KH_KIND $KH_RELEASE $KH_ARCH`
	got, err = exec.Command(fish, "-N", "-c", out+fishProbe).CombinedOutput()
	if err != nil || string(got) != want {
		t.Errorf("fish eval: %v: %q, want %q", err, got, want)
	}

	out, _, code = kh(t, "env", "--cache-dir", cache, "--from", archive, "-o", "json")
	var m map[string]*string
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil || len(m) != 7 {
		t.Fatalf("env -o json: exit %d: %q", code, out)
	}
	if m["BCC_KERNEL_SOURCE"] == nil || *m["BCC_KERNEL_SOURCE"] != tree || m["KH_ARCH"] == nil || *m["KH_ARCH"] != "x86" {
		t.Errorf("env -o json: %s", out)
	}
}

func TestEnvCLIErrors(t *testing.T) {
	cache := cacheDir(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"env", "--shell", "csh"}, 2, `--shell: unknown shell "csh"`},
		{[]string{"env", "-o", "yaml"}, 2, "unknown output format"},
		{[]string{"env", "extra"}, 2, "takes no arguments"},
		{[]string{"env", "--cache-dir", cache, "--from", "/nonexistent/kheaders.tar.xz"}, 1, "no such file"},
		{[]string{"cflags", "--cache-dir", cache, "--from", "/nonexistent/kheaders.tar.xz"}, 1, "no such file"},
		{[]string{"exec", "--cache-dir", cache, "--from", "/nonexistent/kheaders.tar.xz", "--", "true"}, 1, "no such file"},
		{[]string{"exec"}, 2, "needs at least 1 argument"},
	} {
		out, errs, code := kh(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
			t.Errorf("kh %v: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, code, out, errs, tc.code, tc.want)
		}
		if first, _, _ := strings.Cut(errs, "\n"); !strings.HasPrefix(first, "kh: ") {
			t.Errorf("kh %v: error is not one 'kh: ' line: %q", tc.args, errs)
		}
	}
}
