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
// line splits (in sh) into exactly the JSON list, the target is the
// tree's architecture, and the documented clang | llc pipeline builds a
// program with those flags alone.
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
			words, err := exec.Command("sh", "-c", `eval "set -- $1"; printf '%s\n' "$@"`, "sh", line).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Split(strings.TrimSuffix(string(words), "\n"), "\n"); !slices.Equal(got, list) {
				t.Errorf("the text line splits into\n%q\nnot the JSON list\n%q", got, list)
			}
			if list[0] != tc.target || !slices.Contains(list, tc.define) || !slices.Contains(list, `-DKBUILD_MODNAME="kh"`) {
				t.Errorf("flags %q", list)
			}

			clang := tk.NeedTool(t, "clang")
			llc := tk.NeedTool(t, "llc")
			obj := filepath.Join(t.TempDir(), "task.bpf.o")
			pipeline := clang + " " + strings.TrimSpace(line) + " -O2 -g -emit-llvm -c " + tracingTestdata(t, "task.bpf.c") + " -o - | " + llc + " -march=bpfel -filetype=obj -o " + obj
			if out, err := exec.Command("sh", "-ec", pipeline).CombinedOutput(); err != nil {
				t.Fatalf("%s\n%v\n%s", pipeline, err, out)
			}
			spec, err := ebpf.LoadCollectionSpec(obj)
			if err != nil || spec.Programs["count_sleeps"] == nil {
				t.Errorf("cilium/ebpf: %v %v", spec, err)
			}
		})
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
