package main

import "github.com/spf13/cobra"

// commands returns kh's subcommands, in the order `kh --help` lists them.
func (a *app) commands() []*cobra.Command {
	return []*cobra.Command{
	}
}
