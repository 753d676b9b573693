package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func khRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, testSystem(nil, &o, &e))
	return o.String(), e.String(), code
}

func td(name string) string { return filepath.Join("..", "..", "testdata", "kconfig", name) }

func TestConfigFrom(t *testing.T) {
	want, err := os.ReadFile(td("config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config", "config.gz", "image.xz", "image.lzo", "configs.ko.zst"} {
		out, errOut, code := khRun(t, "config", "--from", td(f))
		if code != 0 || out != string(want) {
			t.Errorf("%s: exit %d, stderr %q, output equal: %v", f, code, errOut, out == string(want))
		}
	}
}

func TestConfigQuery(t *testing.T) {
	out, _, code := khRun(t, "config", "--from", td("config"), "64BIT", "CONFIG_LOCALVERSION", "CC_IS_GCC")
	if code != 0 || out != "CONFIG_64BIT=y\nCONFIG_LOCALVERSION=\"\"\nCONFIG_CC_IS_GCC=y\n" {
		t.Errorf("exit %d, output %q", code, out)
	}
	out, _, code = khRun(t, "config", "--from", td("config"), "64BIT", "NO_SUCH_OPTION")
	if code != 1 || out != "CONFIG_64BIT=y\n# CONFIG_NO_SUCH_OPTION is not set\n" {
		t.Errorf("unset option: exit %d, output %q", code, out)
	}
	out, _, code = khRun(t, "config", "--from", td("config"), "-o", "json", "64BIT", "NO_SUCH_OPTION")
	var m map[string]*string
	if err := json.Unmarshal([]byte(out), &m); err != nil || code != 1 {
		t.Fatalf("json: exit %d, %v: %s", code, err, out)
	}
	if v := m["CONFIG_64BIT"]; v == nil || *v != "y" || m["CONFIG_NO_SUCH_OPTION"] != nil || len(m) != 2 {
		t.Errorf("json query = %s", out)
	}
}

func TestConfigJSON(t *testing.T) {
	out, _, code := khRun(t, "config", "--from", td("image.gz"), "-o", "json")
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil || code != 0 {
		t.Fatalf("exit %d, %v", code, err)
	}
	if m["CONFIG_64BIT"] != "y" || m["CONFIG_LOCALVERSION"] != `""` || len(m) < 100 {
		t.Errorf("json map has %d entries", len(m))
	}
}

func TestConfigDiff(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	os.WriteFile(a, []byte("CONFIG_A=y\nCONFIG_B=m\nCONFIG_C=\"x\"\n"), 0o644)
	os.WriteFile(b, []byte("CONFIG_A=y\nCONFIG_B=y\nCONFIG_D=5\n"), 0o644)
	out, _, code := khRun(t, "config", "--diff", a, b)
	if code != 1 || out != "-CONFIG_C=\"x\"\n+CONFIG_D=5\n CONFIG_B m -> y\n" {
		t.Errorf("diff: exit %d, %q", code, out)
	}
	out, _, code = khRun(t, "config", "--diff", a, b, "-o", "json")
	var d struct {
		Removed, Added map[string]string
		Changed        map[string]struct{ Old, New string }
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil || code != 1 {
		t.Fatalf("json diff: exit %d, %v", code, err)
	}
	if d.Removed["CONFIG_C"] != `"x"` || d.Added["CONFIG_D"] != "5" || d.Changed["CONFIG_B"].New != "y" {
		t.Errorf("json diff = %s", out)
	}
	// Same configuration from two sources: no output, exit 0.
	out, errOut, code := khRun(t, "config", "--diff", td("config"), td("image.lz4"))
	if code != 0 || out != "" {
		t.Errorf("identical: exit %d, %q %q", code, out, errOut)
	}
}

func TestConfigAutoconf(t *testing.T) {
	out, _, code := khRun(t, "config", "--from", td("config"), "--autoconf")
	if code != 0 || !strings.HasPrefix(out, "/*\n * Automatically generated file; DO NOT EDIT.\n") || !strings.Contains(out, "#define CONFIG_64BIT 1\n") {
		t.Errorf("exit %d, %q", code, out[:min(len(out), 200)])
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notcfg := filepath.Join(dir, "notes.txt")
	os.WriteFile(notcfg, []byte("shopping list\n"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"config", "--from", notcfg}, 1, `kh: ` + notcfg + `: line 1: not a kernel config line: "shopping list"`},
		{[]string{"config", "--from", empty}, 1, "empty file"},
		{[]string{"config", "--from", dir}, 1, "no kernel configuration in this directory"},
		{[]string{"config", "--from", td("blob.bin") + ".missing"}, 1, "no such file"},
		{[]string{"config", "--diff", td("config")}, 2, "--diff needs two sources"},
		{[]string{"config", "--diff", "--from", td("config"), "a", "b"}, 2, "cannot be combined"},
		{[]string{"config", "-o", "yaml"}, 2, "unknown output format"},
		{[]string{"config", "--from", td("config"), "--autoconf", "A"}, 2, "--autoconf"},
	} {
		out, errOut, code := khRun(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
		if out != "" {
			t.Errorf("%v: output on failure: %q", tc.args, out)
		}
		if first, _, _ := strings.Cut(errOut, "\n"); !strings.HasPrefix(first, "kh: ") {
			t.Errorf("%v: stderr %q", tc.args, errOut)
		}
	}
}

func TestConfigRunning(t *testing.T) {
	if _, err := os.Stat("/proc/config.gz"); err != nil {
		t.Skip("no /proc/config.gz on this host")
	}
	out, _, code := khRun(t, "config")
	if code != 0 || !strings.Contains(out, "CONFIG_") {
		t.Errorf("exit %d", code)
	}
	_, _, code = khRun(t, "config", "--diff", "running", "running")
	if code != 0 {
		t.Errorf("running vs running: exit %d", code)
	}
}
