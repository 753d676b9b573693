// Command guestinit is the /init of the initramfs that package vmtest boots
// under qemu. It mounts proc, sysfs, devtmpfs and the 9p share from the
// host, reports that it is ready, then executes the host's steps one by
// one (see package vmproto) until told to shut down, and reboots so that
// qemu (-no-reboot) exits.
//
// It deliberately mounts nothing else (no tmpfs on /run or /tmp): what
// kh mounts itself is under test.
//
// The same binary is a tiny multi-call tool for scenarios, because the
// guest has no shell or busybox. Installed as /bin/vmtest:
//
//	vmtest echo ARGS...          print ARGS and a newline
//	vmtest cat [FILE...]         copy FILEs (or stdin) to stdout
//	vmtest exit CODE [MESSAGE]   print MESSAGE on stderr, exit with CODE
//	vmtest sleep SECONDS         sleep
//	vmtest env                   print the environment
//	vmtest pwd                   print the working directory
//	vmtest rendezvous DIR N      wait until N processes have arrived in DIR
//	vmtest access PATH N SECS    call faccessat(PATH) N times, SECS apart
//	vmtest chroot DIR CMD...     run CMD with DIR as its root directory
//	vmtest watch [FLAGS] CMD... [--trigger TRIGGER...]
//	                             run a tracing tool, trigger its event, stop it
//	vmtest chown UID:GID PATH... set owners (lchown)
//	vmtest chmod MODE PATH...    set permission bits (octal)
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if os.Getpid() == 1 {
		runInit()
		return
	}
	args := os.Args
	if filepath.Base(args[0]) != "vmtest" || len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: vmtest echo|cat|id|exit|sleep|env|pwd|rendezvous|access|ifup|spawn|chroot|watch|chown|chmod ARGS...")
		os.Exit(2)
	}
	os.Exit(tool(args[1], args[2:]))
}
