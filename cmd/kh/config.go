package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/khtool/kh/kconfig"
	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/registry"
	"github.com/spf13/cobra"
)

// runningWord names the running kernel as a --from or --diff source.
const runningWord = "running"

// configOptions are the arguments and flags of `kh config`.
type configOptions struct {
	output   string
	from     string
	diff     bool
	autoconf bool
	remote   remoteFlags
	af       adbFlags
	args     []string // OPTION names, or the two --diff sources
}

func (a *app) configCmd() *cobra.Command {
	var o configOptions
	cmd := &cobra.Command{
		Use:   "config [OPTION...]",
		Short: "Print the kernel's configuration, or the values of some options",
		Long: `Print the running kernel's configuration (.config text), found in
/proc/config.gz, /boot/config-RELEASE or the configs module.

With OPTION arguments (the CONFIG_ prefix is optional), print only those
options; the exit status is 1 if any of them is not set.

--from reads another source: a .config, config.gz, auto.conf or autoconf.h,
a kernel image (vmlinux, bzImage, Image, Image.gz, ...), a configs.ko
(plain or compressed), an Android boot.img, a kernel header or build tree
(directory), a kheaders archive (kheaders.tar.xz) or kheaders module
(.ko, .ko.xz, ...), whose include/generated/autoconf.h holds the
configuration, "-" for standard input, or "running".

--diff A B compares two sources (any of the above) and prints removed (-),
added (+) and changed options; the exit status is 1 if they differ.`,
		Example: `  kh config
  kh config KPROBES CONFIG_BPF_SYSCALL
  kh config --from /boot/vmlinuz-6.1.0 -o json
  kh config --from kheaders.tar.xz BPF_SYSCALL
  kh config --diff running /usr/src/linux-headers-6.1.0
  kh config --from build/ --autoconf > autoconf.h`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.args = args
			return a.runConfig(cmd.Context(), &o)
		},
	}
	outputFlag(cmd, &o.output)
	o.remote.add(cmd, true)
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", `read the configuration from FILE or DIR ("-" for stdin, "running" for the running kernel)`)
	f.BoolVar(&o.diff, "diff", false, "compare two sources given as arguments")
	f.BoolVar(&o.autoconf, "autoconf", false, "print the configuration as include/generated/autoconf.h")
	o.af.add(cmd, false)
	return cmd
}

// runConfig is `kh config` once its command line is parsed. The command
// line is checked completely before any configuration is read.
func (a *app) runConfig(ctx context.Context, o *configOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	if o.af.on() && (o.from != "" || o.diff) {
		return usagef("--adb reads the device's configuration: not with --from or --diff")
	}
	if o.diff {
		if o.from != "" || o.autoconf {
			return usagef("--diff cannot be combined with --from or --autoconf")
		}
		if len(o.args) != 2 {
			return usagef("--diff needs two sources, got %d", len(o.args))
		}
		return a.configDiff(ctx, o.args[0], o.args[1], o.output)
	}
	if o.autoconf && (len(o.args) > 0 || o.output != "text") {
		return usagef("--autoconf prints the whole configuration as text; it takes no OPTION and no -o json")
	}
	from := o.from
	if o.af.on() {
		tmp, err := a.pullADB(ctx, &o.af, readConfig)
		if err != nil {
			return err
		}
		defer os.Remove(tmp)
		from = tmp
	}
	repo, q, err := o.remote.open(a)
	if err != nil {
		return err
	}
	var c *kconfig.Config
	switch {
	case repo != nil && from != "" && q != (registry.Query{}):
		return usagef("--build-id and --release read a registry's configuration, not --from")
	case repo != nil && from == "":
		// The running kernel's own first, unless another kernel's is
		// asked for.
		if q == (registry.Query{}) {
			c, err = a.loadConfig(ctx, runningWord)
		}
		if c == nil {
			if err != nil {
				a.logger().Debug("config: the running kernel's is not readable; asking the registry", "err", err)
			}
			data, e, perr := pullLayer(ctx, repo, q, registry.Config)
			if perr != nil {
				return perr
			}
			if c, err = kconfig.Parse(data); err != nil {
				return fmt.Errorf("%s:%s: %w", repo.Ref, registry.BuildIDTag(e.BuildID), err)
			}
		}
	default:
		if from == "" {
			from = runningWord
		}
		if c, err = a.loadConfig(ctx, from); err != nil {
			return err
		}
	}
	switch {
	case o.autoconf:
		return c.Autoconf(a.stdout)
	case len(o.args) > 0:
		return a.configQuery(c, o.args, o.output)
	case o.output == "json":
		return a.printJSON(c.Map())
	}
	_, err = a.stdout.Write(c.Bytes())
	return err
}

// loadConfig reads the configuration named by src.
func (a *app) loadConfig(ctx context.Context, src string) (*kconfig.Config, error) {
	log := a.logger()
	switch src {
	case runningWord:
		return kconfig.Running(ctx, kconfig.Options{Logger: log})
	case "-":
		data, err := io.ReadAll(io.LimitReader(a.stdin, kconfig.MaxFileSize+1))
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		if len(data) > kconfig.MaxFileSize {
			return nil, fmt.Errorf("standard input: too large (limit %d bytes)", kconfig.MaxFileSize)
		}
		c, err := kconfig.Load(ctx, data)
		if err != nil {
			return nil, fmt.Errorf("standard input: %w", err)
		}
		c.Source.Location = "-"
		return c, nil
	}
	c, err := kconfig.Open(ctx, src)
	if errors.Is(err, kconfig.ErrNoConfig) || errors.Is(err, kconfig.ErrNoIKConfig) {
		// A kheaders archive or module holds the configuration as
		// include/generated/autoconf.h.
		if a, aerr := kheaders.ReadArchive(src); aerr == nil {
			return configFromHeaders(ctx, src, a)
		}
	}
	if err != nil {
		return nil, err
	}
	log.Debug("config: read", "source", c.Source.String())
	return c, nil
}

// configFromHeaders reads the configuration of a kheaders archive or
// module file from its include/generated/autoconf.h.
func configFromHeaders(ctx context.Context, src string, a *kheaders.Archive) (*kconfig.Config, error) {
	data, err := kheaders.ArchiveFile(ctx, a.Data, kheaders.AutoconfName, kconfig.MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	c, err := kconfig.ParseAutoconf(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", src, kheaders.AutoconfName, err)
	}
	c.Source = kconfig.Source{Kind: kconfig.SourceTree, Location: src, Detail: kheaders.AutoconfName}
	return c, nil
}

// configQuery prints the values of the named options; exit status 1 if
// one is not set.
func (a *app) configQuery(c *kconfig.Config, names []string, output string) error {
	unset := 0
	values := make(map[string]*string, len(names))
	var b strings.Builder
	for _, n := range names {
		name := kconfig.Name(n)
		v, ok := c.Get(name)
		if ok {
			values[name] = &v
			fmt.Fprintf(&b, "%s=%s\n", name, v)
		} else {
			values[name] = nil
			fmt.Fprintf(&b, "# %s is not set\n", name)
			unset++
		}
	}
	if output == "json" {
		if err := a.printJSON(values); err != nil {
			return err
		}
	} else if _, err := io.WriteString(a.stdout, b.String()); err != nil {
		return err
	}
	if unset > 0 {
		return &exitError{code: exitFailure}
	}
	return nil
}

// diffJSON is the -o json form of kh config --diff.
type diffJSON struct {
	Removed map[string]string    `json:"removed"`
	Added   map[string]string    `json:"added"`
	Changed map[string]changeVal `json:"changed"`
}

type changeVal struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// configDiff compares two sources: removed, added and changed options, in
// the style of scripts/diffconfig. Exit status 1 if they differ.
func (a *app) configDiff(ctx context.Context, srcA, srcB, output string) error {
	ca, err := a.loadConfig(ctx, srcA)
	if err != nil {
		return err
	}
	cb, err := a.loadConfig(ctx, srcB)
	if err != nil {
		return err
	}
	changes := kconfig.Diff(ca, cb)
	d := diffJSON{Removed: map[string]string{}, Added: map[string]string{}, Changed: map[string]changeVal{}}
	var removed, added, changed []string
	for _, ch := range changes {
		switch {
		case ch.New == "":
			d.Removed[ch.Name] = ch.Old
			removed = append(removed, fmt.Sprintf("-%s=%s", ch.Name, ch.Old))
		case ch.Old == "":
			d.Added[ch.Name] = ch.New
			added = append(added, fmt.Sprintf("+%s=%s", ch.Name, ch.New))
		default:
			d.Changed[ch.Name] = changeVal{ch.Old, ch.New}
			changed = append(changed, fmt.Sprintf(" %s %s -> %s", ch.Name, ch.Old, ch.New))
		}
	}
	if output == "json" {
		if err := a.printJSON(d); err != nil {
			return err
		}
	} else {
		var lines []string
		for _, g := range [][]string{removed, added, changed} {
			sort.Strings(g)
			lines = append(lines, g...)
		}
		if len(lines) > 0 {
			if _, err := io.WriteString(a.stdout, strings.Join(lines, "\n")+"\n"); err != nil {
				return err
			}
		}
	}
	if len(changes) > 0 {
		return &exitError{code: exitFailure}
	}
	return nil
}
