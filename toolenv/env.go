package toolenv

import (
	"fmt"
	"github.com/khtool/kh/internal/shquote"
	"os"
	"strings"

	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/kheaders"
)

// Var is one environment variable for tracing tools.
type Var struct {
	// Name is the variable's name, e.g. "BCC_KERNEL_SOURCE".
	Name string `json:"name"`
	// Value is its value; empty when Unset.
	Value string `json:"value,omitempty"`
	// Unset means the variable must be removed from the environment: it
	// does not apply to this tree, and an inherited value would point
	// the tool at another kernel's headers.
	Unset bool `json:"unset,omitempty"`
	// Reader names the tool that reads the variable and what for.
	Reader string `json:"reader"`
}

// Names of the variables Vars returns, in its order.
const (
	VarBCCKernelSource      = "BCC_KERNEL_SOURCE"
	VarBPFTraceKernelSource = "BPFTRACE_KERNEL_SOURCE"
	VarBPFTraceKernelBuild  = "BPFTRACE_KERNEL_BUILD"
	VarKHHeaders            = "KH_HEADERS"
	VarKHKind               = "KH_KIND"
	VarKHRelease            = "KH_RELEASE"
	VarKHArch               = "KH_ARCH"
)

// Vars returns the environment variables that point BCC, bpftrace and
// scripts at tree t, in a fixed order. For a BTF tree the BCC and
// bpftrace variables are marked Unset (see the package documentation).
func Vars(t *kheaders.Tree) []Var {
	headers := t.Kind == kheaders.KindHeaders
	tool := func(name, reader string) Var {
		if headers {
			return Var{Name: name, Value: t.Path, Reader: reader}
		}
		return Var{Name: name, Unset: true, Reader: reader}
	}
	return []Var{
		tool(VarBCCKernelSource, "BCC: kernel header tree (needs include/linux/kconfig.h)"),
		tool(VarBPFTraceKernelSource, "bpftrace: kernel source include directories"),
		tool(VarBPFTraceKernelBuild, "bpftrace: kernel build (generated) include directories"),
		{Name: VarKHHeaders, Value: t.Path, Reader: "kh: the tree's absolute path"},
		{Name: VarKHKind, Value: string(t.Kind), Reader: "kh: kheaders (a kernel header tree) or btf (vmlinux.h and kconfig.h)"},
		{Name: VarKHRelease, Value: t.Release, Reader: "kh: the kernel release the tree belongs to"},
		{Name: VarKHArch, Value: t.Arch, Reader: "kh: the kernel architecture (SRCARCH) of the tree"},
	}
}

// Environ returns environ (a list of "NAME=value" entries, such as
// os.Environ()) with vars applied: set variables replace any earlier
// entry of the same name and unset ones are removed. environ is not
// modified.
func Environ(environ []string, vars []Var) []string {
	drop := make(map[string]bool, len(vars))
	for _, v := range vars {
		drop[v.Name] = true
	}
	out := make([]string, 0, len(environ)+len(vars))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			out = append(out, kv)
		}
	}
	for _, v := range vars {
		if !v.Unset {
			out = append(out, v.Name+"="+v.Value)
		}
	}
	return out
}

// Shell is a command language Format writes.
type Shell string

// Shells Format knows.
const (
	// ShellSh is POSIX sh and its descendants (bash, dash, zsh, ksh):
	// export NAME=VALUE and unset NAME.
	ShellSh Shell = "sh"
	// ShellFish is the fish shell: set -gx NAME VALUE and set -e NAME.
	ShellFish Shell = "fish"
)

// BTFTreeAdvice says what works where the only kernel types are BTF.
const BTFTreeAdvice = "What works instead: bpftrace (it reads kernel types from BTF by itself), a CO-RE program built against this tree (kh build, kh run), or real headers for BCC: kh fetch --require kheaders --from a kheaders.tar.xz or kheaders module of this kernel (CONFIG_IKHEADERS)"

// Shells returns the shell names ParseShell accepts.
func Shells() []string { return []string{"sh", "bash", "zsh", "dash", "ksh", "mksh", "fish"} }

// ParseShell returns the Shell of a shell's name: sh, bash, zsh, dash, ksh
// and mksh all read ShellSh syntax; fish reads ShellFish.
func ParseShell(name string) (Shell, error) {
	switch name {
	case "sh", "bash", "zsh", "dash", "ksh", "mksh":
		return ShellSh, nil
	case "fish":
		return ShellFish, nil
	}
	return "", fmt.Errorf("unknown shell %q (want one of %s)", name, strings.Join(Shells(), ", "))
}

// Format writes vars as commands of shell, one per line, for eval.
// Values are quoted so that any byte string but NUL survives.
func Format(vars []Var, shell Shell) (string, error) {
	var b strings.Builder
	for _, v := range vars {
		if !validName(v.Name) {
			return "", fmt.Errorf("invalid environment variable name %q", v.Name)
		}
		if strings.IndexByte(v.Value, 0) >= 0 {
			return "", fmt.Errorf("%s: value holds a NUL byte", v.Name)
		}
		switch shell {
		case ShellSh:
			if v.Unset {
				fmt.Fprintf(&b, "unset %s;\n", v.Name)
			} else {
				fmt.Fprintf(&b, "export %s=%s;\n", v.Name, shquote.Sh(v.Value))
			}
		case ShellFish:
			if v.Unset {
				fmt.Fprintf(&b, "set -e %s;\n", v.Name)
			} else {
				fmt.Fprintf(&b, "set -gx %s %s;\n", v.Name, shquote.Fish(v.Value))
			}
		default:
			return "", fmt.Errorf("unknown shell %q (want sh or fish)", shell)
		}
	}
	return b.String(), nil
}

func validName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Host describes where the tools will run, for Warnings.
type Host struct {
	Release string   // uname -r of the running kernel
	Arch    string   // its SRCARCH (x86, arm64, ...)
	Environ []string // the environment the tools inherit
}

// RunningHost describes this machine and process.
func RunningHost() (Host, error) {
	u, err := kernel.Running()
	if err != nil {
		return Host{}, err
	}
	return Host{Release: u.Release, Arch: kernel.SrcArch(u.Machine), Environ: os.Environ()}, nil
}

// Warnings explains, one sentence each, why BCC or bpftrace run on h
// with Vars(t) may still fail: a BTF tree, a tree of another
// architecture or kernel, or an ARCH variable that overrides the tree's
// architecture.
func Warnings(t *kheaders.Tree, h Host) []string {
	var w []string
	if t.Kind == kheaders.KindBTF {
		w = append(w, fmt.Sprintf("%s is a BTF tree (vmlinux.h), not kernel headers: BCC cannot use it and bpftrace rejects it, so %s, %s and %s are unset. %s",
			t.Path, VarBCCKernelSource, VarBPFTraceKernelSource, VarBPFTraceKernelBuild, BTFTreeAdvice))
	}
	if h.Arch != "" && t.Arch != "" && t.Arch != h.Arch {
		w = append(w, fmt.Sprintf("the tree is for %s but this machine is %s: BCC and bpftrace compile for the machine they run on, so use the tree on a machine of that architecture (%s), or with kh cflags and kh build", t.Arch, h.Arch, t.Arch))
	} else if h.Release != "" && t.Release != "" && t.Release != h.Release && t.Kind == kheaders.KindHeaders {
		w = append(w, fmt.Sprintf("the tree is for kernel %s, not the running %s: BCC and bpftrace will compile against that kernel's structure layouts", t.Release, h.Release))
	}
	if t.Kind == kheaders.KindHeaders {
		for _, kv := range h.Environ {
			if v, ok := strings.CutPrefix(kv, "ARCH="); ok && v != t.Arch {
				w = append(w, fmt.Sprintf("ARCH=%s is set: BCC maps it and bpftrace uses it verbatim as the arch/ directory of the tree, which holds arch/%s; unset ARCH", v, t.Arch))
			}
		}
	}
	return w
}
