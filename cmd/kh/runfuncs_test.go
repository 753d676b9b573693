package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/doctor"
)

// The run functions called directly, with injected streams and
// environment: no process, no os.Stdin, no os.Environ.

// miniTree is a fetchFlags for the small fixture archive in a fresh cache.
func miniTree(t *testing.T) fetchFlags {
	t.Helper()
	from, err := filepath.Abs("../../testdata/kheaders-mini.tar.xz")
	if err != nil {
		t.Fatal(err)
	}
	return fetchFlags{from: from, cache: cacheFlags{dir: cacheDir(t)}}
}

// testApp is an app writing to buffers, with the given environment.
func testApp(stdin string, environ ...string) (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	return &app{system: system{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: getenv, environ: func() []string { return environ }}}, &out, &errb
}

func TestRunFetchDirect(t *testing.T) {
	ff := miniTree(t)
	a, out, _ := testApp("")
	if err := a.runFetch(context.Background(), &fetchOptions{fetch: ff, output: "json"}); err != nil {
		t.Fatal(err)
	}
	var m struct{ Path, Kind string }
	if err := json.Unmarshal(out.Bytes(), &m); err != nil || m.Kind != "kheaders" || !strings.HasPrefix(m.Path, ff.cache.dir) {
		t.Fatalf("fetch -o json: %v %s", err, out)
	}
	// KH_CACHE_DIR comes from the injected environment, not the process's.
	a, out, _ = testApp("", "KH_CACHE_DIR="+ff.cache.dir)
	noDir := ff
	noDir.cache.dir = ""
	if err := a.runFetch(context.Background(), &fetchOptions{fetch: noDir, output: "text"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != m.Path {
		t.Errorf("fetch with KH_CACHE_DIR: %q, want %q", got, m.Path)
	}
	var ue *usageError
	if err := a.runFetch(context.Background(), &fetchOptions{fetch: ff, output: "yaml"}); !asUsage(err, &ue) {
		t.Errorf("fetch -o yaml: %v", err)
	}
}

func TestRunEnvDirect(t *testing.T) {
	ff := miniTree(t)
	// ARCH in the injected environment (not the test process's) is
	// warned about.
	a, out, errb := testApp("", "ARCH=mips")
	if err := a.runEnv(context.Background(), &envOptions{fetch: ff, output: "text", shell: "fish"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "set -gx BCC_KERNEL_SOURCE ") || !strings.Contains(errb.String(), "ARCH=mips is set") {
		t.Errorf("env --shell fish: stdout %q, stderr %q", out, errb)
	}
	var ue *usageError
	if err := a.runEnv(context.Background(), &envOptions{fetch: ff, output: "text", shell: "csh"}); !asUsage(err, &ue) {
		t.Errorf("env --shell csh: %v", err)
	}
}

func TestRunCFlagsDirect(t *testing.T) {
	ff := miniTree(t)
	a, out, _ := testApp("")
	if err := a.runCFlags(context.Background(), &cflagsOptions{fetch: ff, output: "json"}); err != nil {
		t.Fatal(err)
	}
	var flags []string
	if err := json.Unmarshal(out.Bytes(), &flags); err != nil || len(flags) == 0 {
		t.Fatalf("cflags -o json: %v %s", err, out)
	}
	var ue *usageError
	if err := a.runCFlags(context.Background(), &cflagsOptions{fetch: ff, output: "text", arch: "z80"}); !asUsage(err, &ue) {
		t.Errorf("cflags --arch z80: %v", err)
	}
}

// TestConfigStdin: kh config --from - reads the injected stdin.
func TestConfigStdin(t *testing.T) {
	cfg, err := os.ReadFile(td("config"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"config", "--from", "-", "CONFIG_BPF_SYSCALL"}, system{stdin: bytes.NewReader(cfg), stdout: &out, stderr: &errb})
	if code != 0 || !strings.Contains(out.String(), "y") {
		t.Fatalf("config --from - from injected stdin: exit %d, %q %q", code, out.String(), errb.String())
	}
}

func asUsage(err error, ue **usageError) bool { return errors.As(err, ue) }

// TestRunDoctorDirect: the report is printed in the chosen format, and an
// essential failing check makes the exit status 1.
func TestRunDoctorDirect(t *testing.T) {
	checks := []doctor.Check{
		{Name: "fine", Probe: func(context.Context, *doctor.Target) doctor.Finding {
			return doctor.Finding{Status: doctor.StatusOK, Value: "all good"}
		}},
		{Name: "broken", Essential: true, Probe: func(context.Context, *doctor.Target) doctor.Finding {
			return doctor.Finding{Status: doctor.StatusFail, Value: "missing", Fix: "install it"}
		}},
	}
	a, out, _ := testApp("")
	err := a.runDoctor(context.Background(), &doctorOptions{output: "json", checks: checks})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitFailure {
		t.Fatalf("runDoctor with an essential failure: %v", err)
	}
	var rep doctor.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.OK || len(rep.Checks) != 2 || rep.Checks[1].Fix != "install it" {
		t.Fatalf("doctor -o json: %v %s", err, out)
	}
	a, out, _ = testApp("")
	if err := a.runDoctor(context.Background(), &doctorOptions{output: "text", checks: checks[:1]}); err != nil {
		t.Fatalf("runDoctor, all fine: %v", err)
	}
	if !strings.Contains(out.String(), "all good") {
		t.Errorf("doctor text: %s", out)
	}
}
