package main

import (
	"context"
	"fmt"

	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/toolenv"
	"github.com/spf13/cobra"
)

func (a *app) envCmd() *cobra.Command {
	var o envOptions
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the environment that points BCC and bpftrace at the kernel's headers",
		Long: `Env fetches the kernel's headers (as kh fetch does) and prints the
environment variables tracing tools read, as shell commands ready for eval:

  BCC_KERNEL_SOURCE       BCC (libbcc): the header tree
  BPFTRACE_KERNEL_SOURCE  bpftrace: the header tree
  BPFTRACE_KERNEL_BUILD   bpftrace: the tree's generated headers (same tree)
  KH_HEADERS KH_KIND KH_RELEASE KH_ARCH   the tree, for scripts

For a BTF tree (vmlinux.h, no kernel headers) the BCC and bpftrace variables
are unset instead: BCC cannot use such a tree and bpftrace rejects it, but
bpftrace reads kernel types from BTF by itself. Warnings (a BTF tree, a tree
for another architecture or kernel, an ARCH variable that overrides the
tree's) go to stderr.

-o json prints an object of variable names to values (null: unset).`,
		Example: `  eval "$(kh env)"
  kh env --shell fish | source
  kh env --from kheaders.tar.xz -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runEnv(cmd.Context(), &o) },
	}
	o.fetch.add(cmd)
	outputFlag(cmd, &o.output)
	cmd.Flags().StringVar(&o.shell, "shell", "sh", "shell syntax of the output: sh, bash, zsh, dash, ksh, mksh (all sh syntax) or fish")
	completeValues(cmd, "shell", toolenv.Shells()...)
	return cmd
}

// envOptions are the flags of `kh env`.
type envOptions struct {
	fetch  fetchFlags
	output string
	shell  string
}

// runEnv is `kh env` once its command line is parsed.
func (a *app) runEnv(ctx context.Context, o *envOptions) error {
	shell, err := toolenv.ParseShell(o.shell)
	if err != nil {
		return usagef("--shell: %v", err)
	}
	t, err := a.fetchTree(ctx, o.output, &o.fetch)
	if err != nil {
		return err
	}
	vars := toolenv.Vars(t)
	a.warnEnv(t)
	if o.output == "json" {
		m := make(map[string]*string, len(vars))
		for _, v := range vars {
			if !v.Unset {
				m[v.Name] = &v.Value
			} else {
				m[v.Name] = nil
			}
		}
		return a.printJSON(m)
	}
	text, err := toolenv.Format(vars, shell)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(a.stdout, text)
	return err
}

// warnEnv prints on stderr why tracing tools may still fail with the
// environment of tree t on this machine.
func (a *app) warnEnv(t *kheaders.Tree) {
	h, err := toolenv.RunningHost()
	if err != nil {
		a.logger().Debug("cannot describe this machine", "err", err)
	}
	h.Environ = a.environ()
	for _, w := range toolenv.Warnings(t, h) {
		a.logger().Warn(w)
	}
}
