package btf

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

// The kernel's own conformance cases for libbpf's BTF-to-C writer:
// tools/testing/selftests/bpf/progs/btf_dump_test_case_*.c, from Debian's
// linux-source-6.12 package (CI installs it). Each file is C whose types,
// compiled with clang -g for BPF and dumped in ID order, must come out
// as the C in the file's EXPECTED-OUTPUT comment.

const (
	selftestTarball = "/usr/src/linux-source-6.12.tar.xz"
	selftestDir     = "linux-source-6.12/tools/testing/selftests/bpf/progs"
)

var selftestCases = []string{"syntax", "ordering", "padding", "packing", "bitfields", "multidim", "namespacing"}

// selftestSources returns the directory of the 7 case files: from
// $KH_BTF_SELFTESTS, else extracted once (the tarball is 150 MB of xz)
// from Debian's linux-source-6.12 into a cache directory.
func selftestSources(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("KH_BTF_SELFTESTS"); d != "" {
		return d
	}
	cache := filepath.Join(os.TempDir(), "kh-btf-selftests-6.12")
	dir := filepath.Join(cache, selftestDir)
	if _, err := os.Stat(filepath.Join(dir, "btf_dump_test_case_syntax.c")); err == nil {
		return dir
	}
	if _, err := os.Stat(selftestTarball); err != nil {
		tk.Skip(t, "the kernel's btf_dump selftests: %v (apt-get install linux-source-6.12, or set KH_BTF_SELFTESTS)", err)
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "kh-btf-selftests-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("tar", "-xJf", selftestTarball, "-C", tmp, "--wildcards", "*/progs/btf_dump_test_case_*.c")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("extract the btf_dump selftests: %v: %s", err, out)
	}
	if err := os.Rename(tmp, cache); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(dir); serr != nil { // not a concurrent extraction
			t.Fatal(err)
		}
	}
	return dir
}

var commentMarker = regexp.MustCompile(`/\*|\*/`)

// expectedOutput is what prog_tests/btf_dump.c's awk script extracts: the
// lines between START-EXPECTED-OUTPUT and END-EXPECTED-OUTPUT, without
// lines holding a comment marker, with everything up to a leading '*'
// removed.
func expectedOutput(src []byte) []byte {
	var out bytes.Buffer
	in := false
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.Contains(l, "START-EXPECTED-OUTPUT"):
			in = true
			continue
		case strings.Contains(l, "END-EXPECTED-OUTPUT"):
			in = false
		}
		if commentMarker.MatchString(l) || !in {
			continue
		}
		if s := strings.TrimLeft(l, " \t"); strings.HasPrefix(s, "*") {
			l = s[1:]
		}
		out.WriteString(l + "\n")
	}
	return out.Bytes()
}

// TestKernelSelftests runs the 7 cases as the kernel's
// prog_tests/btf_dump.c does: compile with the selftests' flags for BPF
// programs, dump every type in ID order, compare with the expected C.
// Linux 6.12's cases need clang 15 or later (syntax.c's 8-byte enums are
// ENUM64, which clang 14, Debian 12's default, does not write): Debian
// 12's clang-16 package.
func TestKernelSelftests(t *testing.T) {
	clang := tk.NeedTool(t, "clang-16")
	dir := selftestSources(t)
	tmp := t.TempDir()
	for _, name := range selftestCases {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(dir, "btf_dump_test_case_"+name+".c")
			code, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedOutput(code)
			if len(want) == 0 {
				t.Fatalf("%s: no EXPECTED-OUTPUT block", src)
			}
			obj := filepath.Join(tmp, name+".bpf.o")
			// The selftests' Makefile: BPF_CFLAGS (-g -Wall -Werror
			// -mlittle-endian ...) -O2 --target=bpf -mcpu=v3.
			cmd := exec.Command(clang, "-g", "-Wall", "-Werror", "-mlittle-endian", "-O2", "--target=bpf", "-mcpu=v3", "-c", src, "-o", obj)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("clang: %v\n%s", err, out)
			}
			// The cases without a long have no known pointer size:
			// the test sets 8, as does WriteC.
			got := cHeader(t, mustLoad(t, obj, nil), &Options{bare: true})
			sameText(t, name, got, want)
		})
	}
}
