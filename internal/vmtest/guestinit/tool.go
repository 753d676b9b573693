package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tool runs one subcommand of the multi-call helper and returns its exit
// status.
func tool(name string, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "vmtest %s: %s\n", name, fmt.Sprintf(format, a...))
		return 1
	}
	switch name {
	case "echo":
		fmt.Println(strings.Join(args, " "))
	case "cat":
		if len(args) == 0 {
			if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
				return fail("%v", err)
			}
		}
		for _, a := range args {
			f, err := os.Open(a)
			if err != nil {
				return fail("%v", err)
			}
			_, err = io.Copy(os.Stdout, f)
			f.Close()
			if err != nil {
				return fail("%s: %v", a, err)
			}
		}
	case "id":
		groups, err := unix.Getgroups()
		if err != nil {
			return fail("%v", err)
		}
		g := make([]string, len(groups))
		for i, n := range groups {
			g[i] = strconv.Itoa(n)
		}
		fmt.Printf("uid=%d gid=%d groups=%s\n", os.Getuid(), os.Getgid(), strings.Join(g, ","))
	case "exit":
		if len(args) < 1 {
			return fail("want CODE [MESSAGE]")
		}
		code, err := strconv.Atoi(args[0])
		if err != nil {
			return fail("bad code: %v", err)
		}
		if len(args) > 1 {
			fmt.Fprintln(os.Stderr, strings.Join(args[1:], " "))
		}
		return code
	case "sleep":
		if len(args) != 1 {
			return fail("want SECONDS")
		}
		s, err := strconv.ParseFloat(args[0], 64)
		if err != nil {
			return fail("bad duration: %v", err)
		}
		time.Sleep(time.Duration(s * float64(time.Second)))
	case "env":
		for _, e := range os.Environ() {
			fmt.Println(e)
		}
	case "pwd":
		wd, err := os.Getwd()
		if err != nil {
			return fail("%v", err)
		}
		fmt.Println(wd)
	case "rendezvous":
		return rendezvous(args, fail)
	case "access":
		return access(args, fail)
	case "ifup":
		return ifup(args, fail)
	case "spawn":
		return spawn(args, fail)
	default:
		return fail("unknown subcommand")
	}
	return 0
}

// access calls faccessat(AT_FDCWD, PATH, F_OK) COUNT times, INTERVAL
// seconds apart: a syscall to trigger tracing programs with.
func access(args []string, fail func(string, ...any) int) int {
	if len(args) != 3 {
		return fail("want PATH COUNT INTERVAL")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return fail("bad count: %v", err)
	}
	every, err := strconv.ParseFloat(args[2], 64)
	if err != nil {
		return fail("bad interval: %v", err)
	}
	for i := 0; i < n; i++ {
		unix.Faccessat(unix.AT_FDCWD, args[0], unix.F_OK, 0)
		time.Sleep(time.Duration(every * float64(time.Second)))
	}
	return 0
}

// rendezvous registers this process in DIR and waits (up to a minute)
// until N processes have: it proves that N commands ran at the same time.
func rendezvous(args []string, fail func(string, ...any) int) int {
	if len(args) != 2 {
		return fail("want DIR N")
	}
	dir := args[0]
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 {
		return fail("bad count %q", args[1])
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail("%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o644); err != nil {
		return fail("%v", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fail("%v", err)
		}
		if len(ents) >= n {
			fmt.Printf("met %d\n", len(ents))
			return 0
		}
		if time.Now().After(deadline) {
			return fail("timed out: %d of %d arrived", len(ents), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ifup brings up the loopback device and, given NAME ADDR/PREFIX, a
// network device with that IPv4 address (e.g. eth0 10.0.2.15/24, qemu's
// user networking: the host is 10.0.2.2, guestfwd addresses are in the
// same /24, so no route is needed).
func ifup(args []string, fail func(string, ...any) int) int {
	if len(args) != 0 && len(args) != 2 {
		return fail("want [NAME ADDR/PREFIX]")
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("%v", err)
	}
	defer unix.Close(fd)
	up := func(name string) error {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return fmt.Errorf("%s: get flags: %w", name, err)
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
			return fmt.Errorf("%s: set flags: %w", name, err)
		}
		return nil
	}
	if err := up("lo"); err != nil {
		return fail("%v", err)
	}
	if len(args) == 0 {
		return 0
	}
	name := args[0]
	ip, ipnet, err := net.ParseCIDR(args[1])
	if err != nil || ip.To4() == nil {
		return fail("bad IPv4 address %q", args[1])
	}
	for _, set := range []struct {
		req  uint
		addr net.IP
	}{{unix.SIOCSIFADDR, ip.To4()}, {unix.SIOCSIFNETMASK, net.IP(ipnet.Mask).To4()}} {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return fail("%v", err)
		}
		if err := ifr.SetInet4Addr(set.addr); err != nil {
			return fail("%v", err)
		}
		if err := unix.IoctlIfreq(fd, set.req, ifr); err != nil {
			return fail("%s: set address %s: %v", name, set.addr, err)
		}
	}
	if err := up(name); err != nil {
		return fail("%v", err)
	}
	return 0
}

// spawn starts CMD ARGS... detached from the step (in a session of its
// own, so the init does not kill it when the step ends), with stdout and
// stderr appended to LOG and stdin from /dev/null, and prints its PID: a
// daemon for the rest of the boot, e.g. a server the host talks to.
func spawn(args []string, fail func(string, ...any) int) int {
	if len(args) < 2 {
		return fail("want LOG CMD [ARGS...]")
	}
	log, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fail("%v", err)
	}
	defer log.Close()
	path, err := exec.LookPath(args[1])
	if err != nil {
		return fail("%v", err)
	}
	p, err := os.StartProcess(path, args[1:], &os.ProcAttr{
		Env:   os.Environ(),
		Files: []*os.File{nil, log, log},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		return fail("%v", err)
	}
	fmt.Println(p.Pid)
	p.Release()
	return 0
}
