package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// app holds what every command shares: the process's streams and
// environment (system) and the global flags.
type app struct {
	system

	verbose bool
	quiet   bool
}

// notef prints a note on stderr ("kh: ..."), unless -q.
func (a *app) notef(format string, args ...any) {
	if !a.quiet {
		fmt.Fprintf(a.stderr, "kh: "+format+"\n", args...)
	}
}

// version describes this build from what Go embeds: the module version
// (v1.2.3 from go install, a pseudo-version or "(devel)" from a clone),
// the VCS revision and time, whether the tree was modified, and the Go
// version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build information)"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var extra []string
	if rev != "" {
		r := "revision " + rev[:min(12, len(rev))]
		if when != "" {
			r += " of " + when
		}
		if modified {
			r += ", modified"
		}
		extra = append(extra, r)
	}
	if bi.GoVersion != "" {
		extra = append(extra, bi.GoVersion)
	}
	if len(extra) > 0 {
		v += " (" + strings.Join(extra, ", ") + ")"
	}
	return v
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "kh",
		Short: "Kernel headers, on tap: make eBPF tracing work on the running kernel",
		Long: `kh finds the running kernel's own headers (CONFIG_IKHEADERS), configuration
and BTF, unpacks them into a safe, content-keyed tmpfs cache and hands them to
tracing tools: paths and environment for BCC and bpftrace, flags for clang.`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	pf := root.PersistentFlags()
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "log each step (sources considered, cache decisions) on stderr")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "print no warnings or notes on stderr, only errors")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if a.verbose && a.quiet {
			return usagef("-v and -q are exclusive")
		}
		return nil
	}
	// An unknown command is a usage error (cobra's own message otherwise).
	root.Args = func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unknown command %q for \"kh\"", args[0])
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	root.AddCommand(a.commands()...)
	return root
}

// logger returns the logger for library calls: step-by-step with -v,
// warnings only otherwise.
func (a *app) logger() *slog.Logger {
	level := slog.LevelWarn
	switch {
	case a.verbose:
		level = slog.LevelDebug
	case a.quiet:
		level = slog.LevelError
	}
	return slog.New(&lineHandler{w: a.stderr, level: level})
}

// cacheFlags are the flags of every command that uses the cache.
type cacheFlags struct {
	dir        string
	allowDisk  bool
	mountTmpfs bool
}

// add adds --cache-dir (and, unless dirOnly, --allow-disk) to cmd;
// fetchFlags adds --mount-tmpfs.
func (c *cacheFlags) add(cmd *cobra.Command, dirOnly bool) {
	fl := cmd.Flags()
	fl.StringVar(&c.dir, "cache-dir", "", "cache directory (default: $KH_CACHE_DIR; for root /run/kh, else /mnt/kh; for others $XDG_RUNTIME_DIR/kh, /dev/shm/kh-UID, else /data/local/tmp/kh-cache-UID)")
	if !dirOnly {
		fl.BoolVar(&c.allowDisk, "allow-disk", false, "allow a cache directory that is not on tmpfs")
	}
}

// cacheDir is the cache directory the command line names: --cache-dir,
// else $KH_CACHE_DIR, else "" (the library's default location).
func (a *app) cacheDir(c cacheFlags) string {
	if c.dir != "" {
		return c.dir
	}
	return a.getenv("KH_CACHE_DIR")
}

// Argument validators: a wrong number of arguments is a usage error
// (exit status 2), typed rather than recognized by cobra's wording.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s needs at least %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// outputFlag adds -o/--output text|json to cmd.
func outputFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVarP(dst, "output", "o", "text", "output format: text or json")
	completeValues(cmd, "output", "text", "json")
}

// completeValues makes shell completion offer values for a flag.
func completeValues(cmd *cobra.Command, flag string, values ...string) {
	cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// btfModules lists the modules with BTF in dir (/sys/kernel/btf): the
// values of kh btf --module.
func btfModules(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		if e.Name() != "vmlinux" {
			names = append(names, e.Name())
		}
	}
	return names
}

func checkOutput(format string) error {
	if format != "text" && format != "json" {
		return usagef("unknown output format %q (want text or json)", format)
	}
	return nil
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// lineHandler is a slog handler for humans: "kh: message key=value ...".
type lineHandler struct {
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("kh: ")
	if r.Level >= slog.LevelWarn {
		b.WriteString(strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, quoteIfSpace(a.Value.String()))
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func quoteIfSpace(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &n
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// checkOutFile validates an -O argument before any work is done: "-" is
// stdout; a directory, or a file in a directory that does not exist, is
// a usage error.
func checkOutFile(path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("-O %s is a directory: name a file to write (-O - for stdout)", path)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usagef("-O %s: no directory %s to write it in", path, dir)
	}
	return nil
}
