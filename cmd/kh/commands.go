package main

import "github.com/spf13/cobra"

// commands returns kh's subcommands, in the order `kh --help` lists them.
func (a *app) commands() []*cobra.Command {
	return []*cobra.Command{
		a.fetchCmd(),
		a.listCmd(),
		a.cleanCmd(),
		a.btfCmd(),
		a.configCmd(),
		a.envCmd(),
		a.execCmd(),
		a.cflagsCmd(),
		a.buildCmd(),
		a.runCmd(),
		a.doctorCmd(),
		a.pushCmd(),
		a.registryCmd(),
	}
}
