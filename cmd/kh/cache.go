package main

import (
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

func (a *app) listCmd() *cobra.Command {
	var output string
	var cf cacheFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the cached header trees",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := cache.Open(cache.Options{Dir: a.cacheDir(cf), Existing: true, Log: a.logger()})
			var entries []cache.Entry
			switch {
			case errors.Is(err, os.ErrNotExist):
			case err != nil:
				return err
			default:
				if entries, err = c.List(); err != nil {
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
			if output == "json" {
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
		},
	}
	outputFlag(cmd, &output)
	cf.add(cmd, true)
	return cmd
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

func (a *app) cleanCmd() *cobra.Command {
	var output string
	var cf cacheFlags
	var all bool
	cmd := &cobra.Command{
		Use:   "clean",
		Short: "Remove cached trees of kernels that are not running (--all: every tree, and unmount the cache tmpfs)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			res, err := kheaders.Clean(cmd.Context(), kheaders.Options{CacheDir: a.cacheDir(cf), Log: a.logger()}, all)
			if err != nil {
				return err
			}
			if output == "json" {
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
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "remove every tree and unmount the cache tmpfs kh mounted")
	outputFlag(cmd, &output)
	cf.add(cmd, true)
	return cmd
}
