package toolenv

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/kheaders"
)

func varMap(vars []Var) map[string]Var {
	m := map[string]Var{}
	for _, v := range vars {
		m[v.Name] = v
	}
	return m
}

func TestEnvVarsHeaders(t *testing.T) {
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/run/kh/6.1.192-abc", Kind: kheaders.KindHeaders, Release: "6.1.192", Arch: "arm64"}}
	vars := Vars(tree)
	var names []string
	for _, v := range vars {
		names = append(names, v.Name)
		if v.Unset || v.Reader == "" {
			t.Errorf("%+v", v)
		}
	}
	want := []string{"BCC_KERNEL_SOURCE", "BPFTRACE_KERNEL_SOURCE", "BPFTRACE_KERNEL_BUILD", "KH_HEADERS", "KH_KIND", "KH_RELEASE", "KH_ARCH"}
	if !slices.Equal(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	m := varMap(vars)
	for _, n := range want[:4] {
		if m[n].Value != tree.Path {
			t.Errorf("%s=%q", n, m[n].Value)
		}
	}
	if m["KH_KIND"].Value != "kheaders" || m["KH_RELEASE"].Value != "6.1.192" || m["KH_ARCH"].Value != "arm64" {
		t.Errorf("%v", vars)
	}
}

func TestEnvVarsBTF(t *testing.T) {
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/run/kh/btf-6.1.192-abc", Kind: kheaders.KindBTF, Release: "6.1.192", Arch: "x86"}}
	m := varMap(Vars(tree))
	for _, n := range []string{"BCC_KERNEL_SOURCE", "BPFTRACE_KERNEL_SOURCE", "BPFTRACE_KERNEL_BUILD"} {
		if !m[n].Unset || m[n].Value != "" {
			t.Errorf("%s: %+v, want unset for a BTF tree", n, m[n])
		}
	}
	if m["KH_HEADERS"].Value != tree.Path || m["KH_KIND"].Value != "btf" {
		t.Errorf("%v", m)
	}
	w := Warnings(tree, Host{Release: "6.1.192", Arch: "x86"})
	if len(w) != 1 || !strings.Contains(w[0], "BTF tree") || !strings.Contains(w[0], "BCC cannot use it") {
		t.Errorf("warnings %q", w)
	}
}

func TestEnviron(t *testing.T) {
	base := []string{"PATH=/bin", "BCC_KERNEL_SOURCE=/old", "HOME=/root", "BPFTRACE_KERNEL_BUILD=/stale", "BPFTRACE_KERNEL_SOURCE=/stale", "KH_ARCH=mips"}
	orig := slices.Clone(base)
	headers := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/t", Kind: kheaders.KindHeaders, Release: "6.1", Arch: "x86"}}
	got := Environ(base, Vars(headers))
	if !slices.Equal(base, orig) {
		t.Fatal("Environ modified its input")
	}
	want := []string{"PATH=/bin", "HOME=/root",
		"BCC_KERNEL_SOURCE=/t", "BPFTRACE_KERNEL_SOURCE=/t", "BPFTRACE_KERNEL_BUILD=/t",
		"KH_HEADERS=/t", "KH_KIND=kheaders", "KH_RELEASE=6.1", "KH_ARCH=x86"}
	if !slices.Equal(got, want) {
		t.Errorf("headers:\n got %q\nwant %q", got, want)
	}
	btf := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/b", Kind: kheaders.KindBTF, Release: "6.1", Arch: "x86"}}
	got = Environ(base, Vars(btf))
	want = []string{"PATH=/bin", "HOME=/root", "KH_HEADERS=/b", "KH_KIND=btf", "KH_RELEASE=6.1", "KH_ARCH=x86"}
	if !slices.Equal(got, want) {
		t.Errorf("btf:\n got %q\nwant %q", got, want)
	}
}

// nastyValues are values a shell must get back byte for byte.
var nastyValues = []string{
	"/run/kh/6.1.192-abc",
	"/tmp/with space/and\ttab",
	`/tmp/it's "quoted" $HOME ` + "`id`" + ` \n \\ back\slash`,
	"/tmp/new\nline",
	"*?[glob]{a,b}~;&|<>()!#%",
	"",
	"'",
	`\`,
	"trailing\\",
	"ünïcödé",
}

// TestFormatEnvShells evals Format's output in real shells and checks
// that every value comes back unchanged and unset variables are gone.
func TestFormatEnvShells(t *testing.T) {
	var vars []Var
	for i, v := range nastyValues {
		vars = append(vars, Var{Name: "KH_TEST_" + string(rune('A'+i)), Value: v})
	}
	vars = append(vars, Var{Name: "KH_TEST_GONE", Unset: true})
	var probe strings.Builder
	for _, v := range vars {
		// printf with %s and a NUL-free separator prints values exactly.
		probe.WriteString(`printf '%s\001' "$` + v.Name + `";`)
	}
	type shellCase struct {
		shell Shell
		argv  []string
	}
	var cases []shellCase
	for _, sh := range []string{"sh", "dash", "bash"} {
		if p, err := exec.LookPath(sh); err == nil {
			cases = append(cases, shellCase{ShellSh, []string{p, "-c"}})
		}
	}
	if len(cases) == 0 {
		tk.Skip(t, "no POSIX shell")
	}
	cases = append(cases, shellCase{ShellFish, []string{tk.NeedTool(t, "fish"), "-N", "-c"}})
	for _, c := range cases {
		text, err := Format(vars, c.shell)
		if err != nil {
			t.Fatal(err)
		}
		script := text + probe.String()
		if c.shell == ShellFish {
			// fish has no $VAR-in-quotes expansion; pass each value
			// as its own argument.
			script = text
			for _, v := range vars {
				script += "printf '%s\\001' $" + v.Name + ";"
			}
		}
		cmd := exec.Command(c.argv[0], append(c.argv[1:], script)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "KH_TEST_GONE=still here", "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s\nscript:\n%s", c.argv[0], err, out, text)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\x01"), "\x01")
		want := append(slices.Clone(nastyValues), "")
		if !slices.Equal(got, want) {
			t.Errorf("%s: values came back as\n%q\nwant\n%q\nscript:\n%s", c.argv[0], got, want, text)
		}
	}
}

func TestFormatEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		vars  []Var
		shell Shell
		want  string
	}{
		{[]Var{{Name: "A", Value: "x"}}, "csh", "unknown shell"},
		{[]Var{{Name: "A B", Value: "x"}}, ShellSh, "invalid environment variable name"},
		{[]Var{{Name: "1A", Value: "x"}}, ShellSh, "invalid environment variable name"},
		{[]Var{{Name: "A", Value: "x\x00y"}}, ShellFish, "NUL"},
	} {
		if _, err := Format(tc.vars, tc.shell); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Format(%v, %q) = %v, want %q", tc.vars, tc.shell, err, tc.want)
		}
	}
}

func TestEnvWarnings(t *testing.T) {
	x86 := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/t", Kind: kheaders.KindHeaders, Release: "6.1.192", Arch: "x86"}}
	for _, tc := range []struct {
		h    Host
		want []string
	}{
		{Host{Release: "6.1.192", Arch: "x86", Environ: []string{"PATH=/bin"}}, nil},
		{Host{Release: "6.18.0", Arch: "x86"}, []string{"not the running 6.18.0"}},
		{Host{Release: "6.18.0", Arch: "arm64"}, []string{"the tree is for x86 but this machine is arm64"}},
		{Host{Release: "6.1.192", Arch: "x86", Environ: []string{"ARCH=x86_64"}}, []string{"ARCH=x86_64 is set"}},
		{Host{Release: "6.1.192", Arch: "x86", Environ: []string{"ARCH=x86"}}, nil},
	} {
		got := Warnings(x86, tc.h)
		if len(got) != len(tc.want) {
			t.Errorf("%+v: warnings %q, want %q", tc.h, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tc.want[i]) {
				t.Errorf("%+v: warning %q, want %q", tc.h, got[i], tc.want[i])
			}
		}
	}
}

func TestRunningHost(t *testing.T) {
	h, err := RunningHost()
	if err != nil {
		t.Fatal(err)
	}
	if h.Release == "" || h.Arch == "" || h.Arch == "x86_64" || h.Arch == "aarch64" || len(h.Environ) == 0 {
		t.Errorf("%+v", h)
	}
}

// TestWarningsWording is issue 14 items 5 and 11: the BTF-tree warning
// says what works instead, and no warning reads "a arm64" / "a x86".
func TestWarningsWording(t *testing.T) {
	arm := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/t", Kind: kheaders.KindHeaders, Release: "6.1.192", Arch: "arm64"}}
	for _, w := range Warnings(arm, Host{Release: "6.1.192", Arch: "x86"}) {
		if strings.Contains(w, " a arm64") || strings.Contains(w, " a x86") {
			t.Errorf("warning %q", w)
		}
	}
	btfTree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/t", Kind: kheaders.KindBTF, Release: "6.1.192", Arch: "x86"}}
	w := Warnings(btfTree, Host{Release: "6.1.192", Arch: "x86"})
	if len(w) != 1 || !strings.Contains(w[0], "--require kheaders") || !strings.Contains(w[0], "bpftrace") || !strings.Contains(w[0], "CO-RE") {
		t.Errorf("BTF tree warning %q", w)
	}
	if _, err := ParseShell("csh"); err == nil {
		t.Error("ParseShell(csh) succeeded")
	}
	for _, sh := range []string{"sh", "bash", "zsh", "dash"} {
		if s, err := ParseShell(sh); err != nil || s != ShellSh {
			t.Errorf("ParseShell(%s) = %v, %v", sh, s, err)
		}
	}
}
