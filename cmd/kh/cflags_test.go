package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	tk "github.com/khtool/kh/internal/testkernel"
)

// TestCflagsCLI checks kh cflags on both test kernels' trees: the text
// line, split as $(kh cflags) splits it (no quote removal), is exactly
// the JSON list, the target is the tree's architecture, KBUILD_MODNAME
// comes from the tree's kh_defines.h, and the README's clang | llc
// pipeline, run as written in sh, builds a valid object (issue 14 item
// 1: it used to print '-DKBUILD_MODNAME="kh"', which $(...) passed to
// clang with its quotes; clang failed and llc wrote an empty object).
func TestCflagsCLI(t *testing.T) {
	for _, tc := range []struct{ arch, target, define string }{
		{"x86_64", "--target=x86_64-linux-gnu", "-D__TARGET_ARCH_x86"},
		{"arm64", "--target=aarch64-linux-gnu", "-D__TARGET_ARCH_arm64"},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			archive := filepath.Join(testkernel(t, tc.arch), "kheaders.tar.xz")
			cache := cacheDir(t)
			line, errs, code := kh(t, "cflags", "--cache-dir", cache, "--from", archive)
			if code != 0 || strings.Count(line, "\n") != 1 || errs != "" {
				t.Fatalf("cflags: exit %d, %q, stderr %q", code, line, errs)
			}
			js, _, code := kh(t, "cflags", "--cache-dir", cache, "--from", archive, "-o", "json")
			var list []string
			if code != 0 || json.Unmarshal([]byte(js), &list) != nil {
				t.Fatalf("cflags -o json: exit %d, %q", code, js)
			}
			words, err := exec.Command("sh", "-c", `set -- $(printf '%s' "$1"); printf '%s\n' "$@"`, "sh", line).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Split(strings.TrimSuffix(string(words), "\n"), "\n"); !slices.Equal(got, list) {
				t.Errorf("the text line splits into\n%q\nnot the JSON list\n%q", got, list)
			}
			if list[0] != tc.target || !slices.Contains(list, tc.define) || strings.Contains(line, `"`) || strings.Contains(line, "'") {
				t.Errorf("flags %q", list)
			}
			if !slices.ContainsFunc(list, func(f string) bool { return strings.HasSuffix(f, "/include/generated/kh_defines.h") }) {
				t.Errorf("no -include of kh_defines.h: %q", list)
			}

			tk.NeedTool(t, "clang")
			tk.NeedTool(t, "llc")
			dir := t.TempDir()
			prog, err := os.ReadFile(tracingTestdata(t, "task.bpf.c"))
			if err != nil {
				t.Fatal(err)
			}
			// The program uses KBUILD_MODNAME as a string literal.
			prog = append(prog, []byte("\nstatic const char kh_modname[] __attribute__((used)) = KBUILD_MODNAME;\n")...)
			if err := os.WriteFile(filepath.Join(dir, "prog.bpf.c"), prog, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"kh_helpers.h", "sleeps.h"} {
				b, err := os.ReadFile(tracingTestdata(t, h))
				if err != nil || os.WriteFile(filepath.Join(dir, h), b, 0o644) != nil {
					t.Fatal(h, err)
				}
			}
			// The README's line, as written, with kh a function that
			// names this archive and cache.
			script := `kh() { "$KH_BIN" "$@" --from "$KH_FROM" --cache-dir "$KH_CACHE"; }
` + readmePipeline + `
`
			sh := exec.Command("sh", "-c", script)
			sh.Dir = dir
			sh.Env = append(os.Environ(), "KH_BIN="+khBinary(t), "KH_FROM="+archive, "KH_CACHE="+cache)
			if out, err := sh.CombinedOutput(); err != nil || len(out) != 0 {
				t.Fatalf("%s\n%v\n%s", script, err, out)
			}
			spec, err := ebpf.LoadCollectionSpec(filepath.Join(dir, "prog.bpf.o"))
			if err != nil || spec.Programs["count_sleeps"] == nil {
				t.Errorf("cilium/ebpf: %v %v", spec, err)
			}
		})
	}
}

// readmePipeline is the clang | llc line of README.md and kh cflags
// --help; TestReadmePipeline checks that both still say it.
const readmePipeline = `clang $(kh cflags) -O2 -g -emit-llvm -c prog.bpf.c -o - | llc -march=bpf -filetype=obj -o prog.bpf.o`

// TestReadmePipeline: the line TestCflagsCLI runs is the README's and
// the help's.
func TestReadmePipeline(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), readmePipeline) {
		t.Errorf("README.md does not hold the pipeline TestCflagsCLI runs: %s", readmePipeline)
	}
	help, _, _ := kh(t, "cflags", "--help")
	if !strings.Contains(help, readmePipeline) {
		t.Errorf("kh cflags --help does not hold the pipeline TestCflagsCLI runs:\n%s", help)
	}
}

func TestCflagsCLIArch(t *testing.T) {
	archive := filepath.Join(testkernel(t, "arm64"), "kheaders.tar.xz")
	cache := cacheDir(t)
	def, _, _ := kh(t, "cflags", "--cache-dir", cache, "--from", archive)
	same, _, code := kh(t, "cflags", "--cache-dir", cache, "--from", archive, "--arch", "aarch64")
	if code != 0 || same != def {
		t.Errorf("--arch aarch64: exit %d, %q", code, same)
	}
	for _, tc := range []struct {
		arch string
		code int
		want string
	}{
		{"vax", 2, `kh: --arch: unknown architecture "vax"`},
		{"x86", 1, "holds arm64 headers and has no arch/x86/include"},
	} {
		out, errs, code := kh(t, "cflags", "--cache-dir", cache, "--from", archive, "--arch", tc.arch)
		if code != tc.code || out != "" || !strings.HasPrefix(errs, "kh: ") || !strings.Contains(errs, tc.want) {
			t.Errorf("--arch %s: exit %d, stdout %q, stderr %q", tc.arch, code, out, errs)
		}
	}
}

// tracingTestdata returns the path of a file in testdata/tracing.
func tracingTestdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../../testdata/tracing", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}
