package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/khtool/kh/cache"
	"os"
	"text/tabwriter"
	"time"

	"github.com/khtool/kh/kheaders"
	"github.com/spf13/cobra"
)

// listEntry is one row of `kh list -o json`.
type listEntry struct {
	*kheaders.Manifest
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}

// listOptions are the flags of `kh list`.
type listOptions struct {
	cache  cacheFlags
	output string
}

func (a *app) listCmd() *cobra.Command {
	var o listOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the cached header trees",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.runList(&o) },
	}
	outputFlag(cmd, &o.output)
	o.cache.add(cmd, true)
	return cmd
}

// runList is `kh list` once its command line is parsed.
func (a *app) runList(o *listOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	c, err := cache.Open(cache.Options{Dir: a.cacheDir(o.cache), Existing: true, AllowDisk: true, Log: a.logger()})
	var entries []cache.Entry
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		entries, err = c.List()
		c.Close()
		if err != nil {
			return err
		}
	}
	rows := []listEntry{}
	for _, e := range entries {
		r := listEntry{Name: e.Name}
		if e.Err != nil {
			r.Error = e.Err.Error()
		} else {
			r.Manifest = &e.Tree.Manifest
		}
		rows = append(rows, r)
	}
	if o.output == "json" {
		return a.printJSON(rows)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tARCH\tKIND\tSOURCE\tFILES\tSIZE\tCREATED\tPATH")
	for _, r := range rows {
		if r.Manifest == nil {
			fmt.Fprintf(tw, "?\t?\t?\t?\t?\t?\t?\t%s (unusable: %s)\n", r.Name, r.Error)
			continue
		}
		m := r.Manifest
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", m.Release, m.Arch, m.Kind, m.Source.Kind, m.Files, humanBytes(m.Bytes), m.Created.Local().Format(time.DateTime), m.Path)
	}
	return tw.Flush()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

// cleanOptions are the flags of `kh clean`.
type cleanOptions struct {
	cache  cacheFlags
	output string
	all    bool
}

func (a *app) cleanCmd() *cobra.Command {
	var o cleanOptions
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove cached trees of kernels that are not running (--all: every tree, and unmount the cache tmpfs)",
		Long: `Clean removes the cached trees of kernels that are not running, trees that
fail the trust checks, and what killed runs left behind. Trees in use by a
running kh exec (its command) or kh build are kept, and clean says so.
--all removes every tree not in use, unmounts the tmpfs kh mounted for the
cache and removes the mount point kh created.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runClean(cmd.Context(), &o) },
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "remove every tree and unmount the cache tmpfs kh mounted")
	outputFlag(cmd, &o.output)
	o.cache.add(cmd, true)
	return cmd
}

// runClean is `kh clean` once its command line is parsed.
func (a *app) runClean(ctx context.Context, o *cleanOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	res, err := kheaders.Clean(ctx, kheaders.Options{CacheDir: a.cacheDir(o.cache), Log: a.logger()}, o.all)
	if err != nil {
		return err
	}
	for _, p := range res.Kept {
		fmt.Fprintf(a.stderr, "kh: kept %s: in use by a running kh exec or kh build\n", p)
	}
	if res.NotUnmounted != "" {
		fmt.Fprintf(a.stderr, "kh: the cache tmpfs stays mounted: %s\n", res.NotUnmounted)
	}
	if o.output == "json" {
		if res.Removed == nil {
			res.Removed = []string{}
		}
		return a.printJSON(res)
	}
	for _, p := range res.Removed {
		fmt.Fprintln(a.stdout, "removed", p)
	}
	if res.Unmounted {
		fmt.Fprintln(a.stdout, "unmounted the cache tmpfs")
	}
	return nil
}
