package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// app holds the flags shared by all commands and where output goes.
type app struct {
	stdout, stderr io.Writer

	verbose   bool
	cacheDir  string
	allowDisk bool
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
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
	pf.StringVar(&a.cacheDir, "cache-dir", "", "cache directory (default: $KH_CACHE_DIR, /run/kh for root, else $XDG_RUNTIME_DIR/kh or /dev/shm/kh-UID)")
	pf.BoolVar(&a.allowDisk, "allow-disk", false, "allow a cache directory that is not on tmpfs")
	root.AddCommand(a.commands()...)
	return root
}

// logger returns the logger for library calls: step-by-step with -v,
// warnings only otherwise.
func (a *app) logger() *slog.Logger {
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	return slog.New(&lineHandler{w: a.stderr, level: level})
}

// outputFlag adds -o/--output text|json to cmd.
func outputFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVarP(dst, "output", "o", "text", "output format: text or json")
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
