package doctor

import (
	"context"
	"fmt"
	"github.com/khtool/kh/kheaders"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/khtool/kh/internal/kernel"
)

// Status is the verdict of one check.
type Status string

// Check verdicts.
const (
	// StatusOK: nothing to do.
	StatusOK Status = "ok"
	// StatusWarn: something is missing or restricted, but tracing can
	// still work; the check's Fix says what would help.
	StatusWarn Status = "warn"
	// StatusFail: something is missing; if the check is essential,
	// tracing cannot work.
	StatusFail Status = "fail"
)

// Finding is what a check's probe found.
type Finding struct {
	Status Status
	// Value says what was found, on one line.
	Value string
	// Fix says what to do about a warn or fail, on one line.
	Fix string
	// Instead names checks that would serve instead (kprobes for
	// fentry, ...). Run adds to Fix "or use" those of them that passed,
	// so that advice never points at something found broken.
	Instead []string
}

// Check is one item of kh doctor's list: a named probe and, when kh can
// repair the problem itself, a fix.
type Check struct {
	// Name identifies the check in reports (stable: scripts match it).
	Name string
	// Essential checks decide whether tracing can work: a Report is OK
	// unless an essential check fails.
	Essential bool
	// Probe inspects the system.
	Probe func(ctx context.Context, env *Target) Finding
	// Fix, when not nil, repairs what Probe found missing (with
	// Options.Fix). It must be idempotent and return what it did,
	// or "" when there was nothing to do.
	Fix func(ctx context.Context, env *Target) (string, error)
}

// Target is what a check sees: the root directory its files are read
// below, the System, and the results of the checks before it.
type Target struct {
	// Root is the directory the system's files are read below: "/" for
	// the running system, a fake tree in tests.
	Root string
	// Sys answers what files cannot.
	Sys System
	// Uname is the kernel's release and machine.
	Uname Uname
	// CacheDir is the kh cache directory chosen on the command line
	// (kh --cache-dir); empty means the default.
	CacheDir string
	// AllowDisk is kh --allow-disk: a cache off tmpfs is acceptable.
	AllowDisk bool

	results map[string]Finding
	headers []kheaders.Candidate
}

// Path returns the path of the system file abs below Root.
func (e *Target) Path(abs string) string { return kernel.Path(e.Root, abs) }

// Finding returns the result of an earlier check.
func (e *Target) Finding(name string) (Finding, bool) {
	r, ok := e.results[name]
	return r, ok
}

// readTrim reads a small system file below Root, trimmed of white space.
func (e *Target) readTrim(abs string) (string, error) {
	b, err := os.ReadFile(e.Path(abs))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// exists reports whether the system file abs exists below Root.
func (e *Target) exists(abs string) bool {
	_, err := os.Stat(e.Path(abs))
	return err == nil
}

// Options control Run.
type Options struct {
	// Root is the directory system files are read below; empty means "/".
	Root string
	// System answers what files cannot; nil means LiveSystem().
	System System
	// Checks to run; nil means DefaultChecks().
	Checks []Check
	// Fix runs the fixes of failing checks that have one (mounting
	// tracefs, debugfs, bpffs, securityfs). It needs root.
	Fix bool
	// CacheDir is the kh cache directory chosen on the command line;
	// empty means the default (kheaders.DefaultCacheDir).
	CacheDir string
	// AllowDisk is kh --allow-disk: a cache off tmpfs is acceptable.
	AllowDisk bool
}

// Schema is the version of the Report JSON format.
const Schema = 1

// Report is the outcome of Run; `kh doctor -o json` prints it.
type Report struct {
	Schema int `json:"schema"`
	Kernel struct {
		Release string `json:"release"`
		Machine string `json:"machine"`
		Arch    string `json:"arch"`
	} `json:"kernel"`
	// OK is true when tracing can work: no essential check failed.
	OK     bool          `json:"ok"`
	Checks []CheckResult `json:"checks"`
}

// CheckResult is one line of a Report.
type CheckResult struct {
	Name      string `json:"name"`
	Status    Status `json:"status"`
	Essential bool   `json:"essential"`
	Value     string `json:"value"`
	Fix       string `json:"fix,omitempty"`
	// Fixed says what --fix did; FixError why it could not.
	Fixed    string `json:"fixed,omitempty"`
	FixError string `json:"fix_error,omitempty"`
}

// Run runs the checks and reports whether tracing can work. With
// opts.Fix it also repairs what it can (as root) and checks again.
func Run(ctx context.Context, opts Options) (*Report, error) {
	sys := opts.System
	if sys == nil {
		sys = LiveSystem()
	}
	if opts.Fix && sys.EUID() != 0 {
		return nil, fmt.Errorf("fixing needs root (it mounts file systems): %w", fs.ErrPermission)
	}
	u, err := sys.Uname()
	if err != nil {
		return nil, err
	}
	root := opts.Root
	if root == "" {
		root = "/"
	}
	checks := opts.Checks
	if checks == nil {
		checks = DefaultChecks()
	}
	env := &Target{Root: root, Sys: sys, Uname: u, CacheDir: opts.CacheDir, AllowDisk: opts.AllowDisk, results: map[string]Finding{}}
	rep := &Report{Schema: Schema, OK: true, Checks: []CheckResult{}}
	rep.Kernel.Release, rep.Kernel.Machine, rep.Kernel.Arch = u.Release, u.Machine, kernel.SrcArch(u.Machine)
	for _, c := range checks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := c.Probe(ctx, env)
		cr := CheckResult{Name: c.Name, Essential: c.Essential}
		if opts.Fix && c.Fix != nil && r.Status != StatusOK {
			did, err := c.Fix(ctx, env)
			switch {
			case err != nil:
				cr.FixError = oneLineErr(err)
			case did != "":
				cr.Fixed = did
				r = c.Probe(ctx, env)
			}
		}
		env.results[c.Name] = r
		cr.Status, cr.Value = r.Status, r.Value
		if r.Status != StatusOK {
			cr.Fix = r.Fix
		}
		if c.Essential && r.Status == StatusFail {
			rep.OK = false
		}
		rep.Checks = append(rep.Checks, cr)
	}
	for i, c := range rep.Checks {
		var alt []string
		for _, name := range env.results[c.Name].Instead {
			if r, ok := env.results[name]; ok && r.Status == StatusOK {
				alt = append(alt, name)
			}
		}
		if c.Fix != "" && len(alt) > 0 {
			rep.Checks[i].Fix += "; or use " + strings.Join(alt, " or ")
		} else if len(alt) > 0 {
			rep.Checks[i].Fix = "use " + strings.Join(alt, " or ")
		}
	}
	return rep, nil
}

// oneLineErr flattens an error message to one line.
func oneLineErr(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// Failed returns the names of the essential checks that failed.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Essential && c.Status == StatusFail {
			out = append(out, c.Name)
		}
	}
	return out
}

// WriteText writes the report as an aligned table: one line per check
// ("STATUS  NAME  VALUE"), followed by "fix:" and "fixed:" lines where
// they apply, and a verdict.
func (r *Report) WriteText(w io.Writer) error {
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.Name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kh doctor: Linux %s on %s\n\n", r.Kernel.Release, r.Kernel.Machine)
	indent := strings.Repeat(" ", 4+2+width+1+2)
	counts := map[Status]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
		name := c.Name
		if c.Essential {
			name += "*"
		}
		fmt.Fprintf(&b, "%-4s  %-*s  %s\n", c.Status, width+1, name, c.Value)
		if c.Fixed != "" {
			fmt.Fprintf(&b, "%sfixed: %s\n", indent, c.Fixed)
		}
		if c.FixError != "" {
			fmt.Fprintf(&b, "%sfix failed: %s\n", indent, c.FixError)
		}
		if c.Fix != "" {
			fmt.Fprintf(&b, "%sfix: %s\n", indent, c.Fix)
		}
	}
	b.WriteString("\n")
	if r.OK {
		fmt.Fprintf(&b, "tracing can work here (%d ok, %d warn, %d fail; * = essential)\n", counts[StatusOK], counts[StatusWarn], counts[StatusFail])
	} else {
		fmt.Fprintf(&b, "tracing cannot work here: %s failed (* = essential)\n", strings.Join(r.Failed(), ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
