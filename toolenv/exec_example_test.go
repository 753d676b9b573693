package toolenv_test

import (
	"context"
	"fmt"
	"os"

	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/toolenv"
)

// Run a BCC tool with the running kernel's headers, as a child process.
func ExampleCommand() {
	ctx := context.Background()
	tree, err := kheaders.Fetch(ctx, kheaders.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	cmd := toolenv.Command(ctx, tree, "/usr/bin/python3", "/usr/share/bcc/tools/opensnoop")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// Replace this process with bpftrace, which then finds the headers.
func ExampleExec() {
	tree, err := kheaders.Fetch(context.Background(), kheaders.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	err = toolenv.Exec(tree, []string{"bpftrace", "-e", `#include <linux/sched.h>
kprobe:do_nanosleep { printf("%s\n", ((struct task_struct *)curtask)->comm); }`}, os.Environ())
	fmt.Fprintln(os.Stderr, err) // reached only if bpftrace could not be run
}
