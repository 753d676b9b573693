package compile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/khtool/kh/kheaders"
)

// wantHeaderFlags is the exact CFlags of a header tree at root for arch.
func wantHeaderFlags(root, arch, triple string, extra ...string) []string {
	a := root + "/arch/" + arch
	f := []string{
		"--target=" + triple, "-nostdinc",
		"-I" + a + "/include", "-I" + a + "/include/generated", "-I" + root + "/include",
		"-I" + a + "/include/uapi", "-I" + a + "/include/generated/uapi",
		"-I" + root + "/include/uapi", "-I" + root + "/include/generated/uapi",
		"-include", root + "/include/linux/kconfig.h",
		"-D__KERNEL__", "-D__BPF_TRACING__", "-D__TARGET_ARCH_" + arch, `-DKBUILD_MODNAME="kh"`,
	}
	f = append(f, extra...)
	f = append(f, "-fno-stack-protector", "-fno-asynchronous-unwind-tables")
	return append(f, silencedWarnings()...)
}

// TestCFlagsRealTrees checks the flags of both test kernels' trees on
// this host: the order is the kernel's, every directory exists, and the
// target is the tree's architecture, not the host's.
func TestCFlagsRealTrees(t *testing.T) {
	for _, tc := range []struct{ arch, srcarch, triple string }{
		{"x86_64", "x86", "x86_64-linux-gnu"},
		{"arm64", "arm64", "aarch64-linux-gnu"},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			tree := testTree(t, tc.arch)
			flags, err := CFlags(tree, "")
			if err != nil {
				t.Fatal(err)
			}
			want := wantHeaderFlags(tree.Path, tc.srcarch, tc.triple)
			// kh extracted the tree: KBUILD_MODNAME is in kh_defines.h.
			i := slices.Index(want, `-DKBUILD_MODNAME="kh"`)
			want = slices.Replace(want, i, i+1, "-include", tree.Path+"/"+kheaders.DefinesHeader)
			if !slices.Equal(flags, want) {
				t.Fatalf("CFlags:\n got %q\nwant %q", flags, want)
			}
			for i, f := range flags {
				dir, ok := strings.CutPrefix(f, "-I")
				if f == "-include" {
					dir, ok = flags[i+1], true
				}
				if !ok {
					continue
				}
				if !filepath.IsAbs(dir) {
					t.Errorf("%s is not absolute", f)
				}
				if _, err := os.Stat(dir); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			// A machine name works as --arch too.
			machine := map[string]string{"x86": "x86_64", "arm64": "aarch64"}[tc.srcarch]
			if f2, err := CFlags(tree, machine); err != nil || !slices.Equal(f2, flags) {
				t.Errorf("CFlags(%s) = %v, %v", machine, f2, err)
			}
		})
	}
}

func TestCFlagsArchDefines(t *testing.T) {
	for _, tc := range []struct {
		arch   string
		config []string
		triple string
		bpf    string
		extra  []string
	}{
		{"x86", []string{"#define CONFIG_X86_64 1", "#define CONFIG_64BIT 1"}, "x86_64-linux-gnu", "bpfel", nil},
		{"x86", []string{"#define CONFIG_X86_32 1"}, "i386-linux-gnu", "bpfel", nil},
		{"arm64", []string{"#define CONFIG_64BIT 1"}, "aarch64-linux-gnu", "bpfel", nil},
		{"arm64", []string{"#define CONFIG_64BIT 1", "#define CONFIG_KASAN 1", "#define CONFIG_KASAN_SW_TAGS 1"}, "aarch64-linux-gnu", "bpfel", []string{"-DKASAN_SHADOW_SCALE_SHIFT=4"}},
		{"arm64", []string{"#define CONFIG_64BIT 1", "#define CONFIG_KASAN 1", "#define CONFIG_KASAN_GENERIC 1"}, "aarch64-linux-gnu", "bpfel", []string{"-DKASAN_SHADOW_SCALE_SHIFT=3"}},
		// GKI: KASAN with hardware tags has no shadow.
		{"arm64", []string{"#define CONFIG_64BIT 1", "#define CONFIG_KASAN 1", "#define CONFIG_KASAN_HW_TAGS 1"}, "aarch64-linux-gnu", "bpfel", nil},
		{"arm64", []string{"#define CONFIG_64BIT 1", "#define CONFIG_CPU_BIG_ENDIAN 1"}, "aarch64_be-linux-gnu", "bpfeb", nil},
		{"arm", []string{"#define CONFIG_ARM 1"}, "arm-linux-gnueabi", "bpfel", []string{"-D__LINUX_ARM_ARCH__=7"}},
		{"riscv", []string{"#define CONFIG_64BIT 1"}, "riscv64-linux-gnu", "bpfel", nil},
		{"s390", []string{"#define CONFIG_64BIT 1"}, "s390x-linux-gnu", "bpfeb", nil},
		{"powerpc", []string{"#define CONFIG_64BIT 1", "#define CONFIG_CPU_LITTLE_ENDIAN 1"}, "powerpc64le-linux-gnu", "bpfel", nil},
		{"powerpc", []string{"#define CONFIG_64BIT 1", "#define CONFIG_CPU_BIG_ENDIAN 1"}, "powerpc64-linux-gnu", "bpfeb", nil},
		{"mips", []string{"#define CONFIG_64BIT 1", "#define CONFIG_CPU_BIG_ENDIAN 1"}, "mips64-linux-gnuabi64", "bpfeb", nil},
		{"loongarch", []string{"#define CONFIG_64BIT 1"}, "loongarch64-linux-gnu", "bpfel", nil},
	} {
		tree := fakeHeaderTree(t, tc.arch, tc.config...)
		p, err := planCompile(tree, "", libbpfDir{})
		if err != nil {
			t.Errorf("%s %v: %v", tc.arch, tc.config, err)
			continue
		}
		want := wantHeaderFlags(tree.Path, tc.arch, tc.triple, tc.extra...)
		if !slices.Equal(p.flags, want) || p.bpf != tc.bpf {
			t.Errorf("%s %v:\n got %q %s\nwant %q %s", tc.arch, tc.config, p.flags, p.bpf, want, tc.bpf)
		}
	}
}

func TestCFlagsBTF(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, kheaders.BTFHeader), []byte("struct task_struct { int pid; };\n"), 0o644)
	os.WriteFile(filepath.Join(dir, kheaders.BTFConfigHeader), []byte("#define CONFIG_BPF_SYSCALL 1\n"), 0o644)
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: dir, Kind: kheaders.KindBTF, Release: "6.1.192", Arch: "arm64"}}
	flags, err := CFlags(tree, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-target", "bpfel", "-I" + dir, "-include", dir + "/kconfig.h", "-D__TARGET_ARCH_arm64"}
	if !slices.Equal(flags, want) {
		t.Fatalf("got %q, want %q", flags, want)
	}
	if _, err := CFlags(tree, "x86"); err == nil || !strings.Contains(err.Error(), "describes a kernel for arm64, not x86") {
		t.Errorf("BTF tree for another arch: %v", err)
	}
	os.WriteFile(filepath.Join(dir, kheaders.BTFConfigHeader), []byte("#define CONFIG_64BIT 1\n#define CONFIG_CPU_BIG_ENDIAN 1\n"), 0o644)
	if flags, _ := CFlags(tree, ""); flags[1] != "bpfeb" {
		t.Errorf("big-endian BTF tree: %q", flags)
	}
}

func TestCFlagsErrors(t *testing.T) {
	good := fakeHeaderTree(t, "arm64", "#define CONFIG_64BIT 1")
	noKconfig := fakeHeaderTree(t, "x86", "#define CONFIG_64BIT 1")
	os.Remove(filepath.Join(noKconfig.Path, "include/linux/kconfig.h"))
	noConfig := fakeHeaderTree(t, "x86", "/* nothing */")
	btfNoVmlinux := &kheaders.Tree{Manifest: kheaders.Manifest{Path: t.TempDir(), Kind: kheaders.KindBTF, Arch: "x86"}}
	for _, tc := range []struct {
		name string
		tree *kheaders.Tree
		arch string
		want string
	}{
		{"unknown arch", good, "vax", `unknown architecture "vax"`},
		{"arch not in tree", good, "x86", "holds arm64 headers and has no arch/x86/include"},
		{"no kconfig.h", noKconfig, "", "no include/linux/kconfig.h"},
		{"empty autoconf.h", noConfig, "", "no CONFIG_ definitions"},
		{"no vmlinux.h", btfNoVmlinux, "", "not a BTF tree: no vmlinux.h"},
		{"relative path", &kheaders.Tree{Manifest: kheaders.Manifest{Path: "rel/tree", Kind: kheaders.KindHeaders, Arch: "x86"}}, "", "not absolute"},
		{"unknown kind", &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/t", Kind: "zip", Arch: "x86"}}, "", "unknown kind"},
		{"no arch at all", &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/t", Kind: kheaders.KindHeaders}}, "", "does not say its architecture"},
	} {
		_, err := CFlags(tc.tree, tc.arch)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", tc.name, err, tc.want)
		}
	}
	var ua *UnknownArchError
	if _, err := CFlags(good, "vax"); !errors.As(err, &ua) || ua.Arch != "vax" {
		t.Errorf("unknown arch is not an *UnknownArchError: %v", err)
	}
}

func TestReadConfigHeader(t *testing.T) {
	f := filepath.Join(t.TempDir(), "autoconf.h")
	os.WriteFile(f, []byte("/* generated */\n#define CONFIG_A 1\n#define CONFIG_S \"x y\"\n#define CONFIG_Z 0\n#define OTHER 1\n#undef CONFIG_B\n"), 0o644)
	cfg, err := readConfigHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.set("CONFIG_A") || cfg.set("CONFIG_Z") || cfg.set("CONFIG_B") || cfg["CONFIG_S"] != `"x y"` || len(cfg) != 3 {
		t.Errorf("%v", cfg)
	}
	big := filepath.Join(t.TempDir(), "big.h")
	os.WriteFile(big, []byte(strings.Repeat("#define CONFIG_X 1\n", maxConfigHeader/19+2)), 0o644)
	if _, err := readConfigHeader(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized header: %v", err)
	}
}

// TestShellWords: the cflags line is made for $(...), which removes no
// quotes: flags are joined unquoted; a flag that $(...) would split or
// glob is an error, not a silently wrong line.
func TestShellWords(t *testing.T) {
	line, err := ShellWords([]string{"-I/a/include", `-DKBUILD_MODNAME="kh"`, "-include", "/a/kh_defines.h"})
	if err != nil || line != `-I/a/include -DKBUILD_MODNAME="kh" -include /a/kh_defines.h` {
		t.Errorf("%q, %v", line, err)
	}
	for _, bad := range []string{"-I/a b", "-I/a*", "-D'x'", `-I\a`, ""} {
		if _, err := ShellWords([]string{"-c", bad}); err == nil {
			t.Errorf("ShellWords accepted %q", bad)
		}
	}
}

// TestCFlagsDefinesHeader: a tree kh extracted carries kh_defines.h and
// the flags -include it instead of a quoted -DKBUILD_MODNAME; a tree used
// in place without it gets the define, unquoted for $(...).
func TestCFlagsDefinesHeader(t *testing.T) {
	tree := testTree(t, "x86_64")
	flags, err := CFlags(tree, "")
	if err != nil {
		t.Fatal(err)
	}
	hdr := filepath.Join(tree.Path, kheaders.DefinesHeader)
	if !slices.Contains(flags, hdr) || slices.ContainsFunc(flags, func(f string) bool { return strings.Contains(f, "KBUILD_MODNAME") }) {
		t.Errorf("flags %q", flags)
	}
	if b, err := os.ReadFile(hdr); err != nil || !strings.Contains(string(b), `#define KBUILD_MODNAME "kh"`) {
		t.Errorf("%s: %q, %v", hdr, b, err)
	}
	// The same tree copied elsewhere (used in place) has no such file.
	copyDir := t.TempDir()
	if out, err := exec.Command("cp", "-a", tree.Path+"/.", copyDir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	os.Chmod(filepath.Join(copyDir, "include/generated"), 0o755)
	if err := os.Remove(filepath.Join(copyDir, kheaders.DefinesHeader)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", copyDir).Run() })
	inPlace := *tree
	inPlace.Path = copyDir
	flags, err = CFlags(&inPlace, "")
	if err != nil || !slices.Contains(flags, `-DKBUILD_MODNAME="kh"`) {
		t.Fatalf("in place: %q, %v", flags, err)
	}
	if _, err := ShellWords(flags); err != nil {
		t.Error(err)
	}
}
