// Command su is the test guests' su, shaped like AOSP's userdebug su:
//
//	su [UID [COMMAND [ARG...]]]
//
// runs COMMAND (default: /system/bin/sh) as UID (default 0, "root" too),
// with no supplementary groups. adbtest installs it setuid root in a guest
// whose adbd runs as the shell user, so that kh's "su 0" path is tested;
// like AOSP's, it asks nothing (the guests have no policy to consult).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	args := os.Args[1:]
	uid := 0
	if len(args) > 0 {
		if n, err := strconv.Atoi(args[0]); err == nil {
			uid, args = n, args[1:]
		} else if args[0] == "root" {
			args = args[1:]
		}
	}
	if len(args) == 0 {
		args = []string{"/system/bin/sh"}
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "su: "+err.Error())
		os.Exit(1)
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		fail(err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		fail(err)
	}
	if err := syscall.Setgid(uid); err != nil {
		fail(err)
	}
	if err := syscall.Setuid(uid); err != nil {
		fail(err)
	}
	fail(syscall.Exec(path, args, os.Environ()))
}
