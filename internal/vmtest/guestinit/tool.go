package main

import (
	"bufio"
	"errors"
	"flag"
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
	case "chroot":
		return chroot(args, fail)
	case "watch":
		return watch(args, fail)
	case "chown":
		return chown(args, fail)
	case "chmod":
		return chmod(args, fail)
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

// chroot runs CMD ARGS... with DIR as its root directory and "/" as its
// working directory: a distribution's root shared into the guest, as
// Android's Debian chroots (adeb, eadb) run one. CMD without a slash is
// looked up in the PATH inside DIR. What DIR needs (proc, sysfs, devtmpfs,
// tracefs...) the scenario mounts beforehand.
func chroot(args []string, fail func(string, ...any) int) int {
	if len(args) < 2 {
		return fail("want DIR CMD [ARGS...]")
	}
	if err := unix.Chroot(args[0]); err != nil {
		return fail("chroot %s: %v", args[0], err)
	}
	if err := os.Chdir("/"); err != nil {
		return fail("%v", err)
	}
	path, err := exec.LookPath(args[1])
	if err != nil {
		return fail("in %s: %v", args[0], err)
	}
	err = syscall.Exec(path, args[1:], os.Environ())
	return fail("exec %s in %s: %v", path, args[0], err)
}

// watch runs a tracing tool until it reports an expected event:
//
//	vmtest watch [-ready TEXT] -want TEXT [-timeout SECS] [-every SECS] CMD... [--trigger TRIGGER...]
//
// It starts CMD ARGS... in a process group of its own, copies its stdout
// and stderr through, and once a line of its stdout contains -ready (the
// tool's header: it has compiled, loaded and attached; the first line if
// -ready is empty) runs TRIGGER every -every seconds (each run to its end)
// until a line of stdout contains -want. Then it sends SIGINT to CMD's
// group, as Ctrl-C would (again every 3 s while it runs, SIGKILL after
// 10 s), and waits for CMD to exit. If -want is not seen within -timeout
// seconds, or CMD exits first, CMD's group is stopped the same way and
// watch fails. It ends by printing on stderr
//
//	watch: ready=SECS event=SECS exit=SECS status=STATUS interrupts=N
//
// (-1 for what did not happen), and exits with CMD's status, or 1 when
// the event was not seen.
func watch(args []string, fail func(string, ...any) int) int {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	ready := fs.String("ready", "", "text of the stdout line that says the tool is ready")
	want := fs.String("want", "", "text of the stdout line of the expected event")
	timeout := fs.Float64("timeout", 300, "seconds to wait for the event")
	every := fs.Float64("every", 1, "seconds between runs of the trigger")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmdArgs, trigger := fs.Args(), []string(nil)
	for i, a := range cmdArgs {
		if a == "--trigger" {
			cmdArgs, trigger = cmdArgs[:i], cmdArgs[i+1:]
			break
		}
	}
	if *want == "" || len(cmdArgs) == 0 {
		return fail("want -want TEXT and CMD")
	}
	start := time.Now()
	since := func() float64 { return time.Since(start).Seconds() }
	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fail("%v", err)
	}
	if err := cmd.Start(); err != nil {
		return fail("%v", err)
	}
	readyAt, eventAt := -1.0, -1.0
	readyc, eventc, donec := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(donec)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Println(line)
			if readyAt < 0 && strings.Contains(line, *ready) {
				readyAt = since()
				close(readyc)
			}
			if eventAt < 0 && readyAt >= 0 && strings.Contains(line, *want) {
				eventAt = since()
				close(eventc)
			}
		}
		io.Copy(io.Discard, out)
	}()
	deadline := time.After(time.Duration(*timeout * float64(time.Second)))
	seen := false
	// Wait for the tool to be ready, then trigger until the event.
	select {
	case <-readyc:
		tick := time.NewTicker(time.Duration(*every * float64(time.Second)))
	loop:
		for {
			if len(trigger) > 0 {
				t := exec.Command(trigger[0], trigger[1:]...)
				t.Stdout, t.Stderr = os.Stderr, os.Stderr
				if err := t.Run(); err != nil {
					fmt.Fprintf(os.Stderr, "vmtest watch: trigger: %v\n", err)
				}
			}
			select {
			case <-eventc:
				seen = true
				break loop
			case <-donec:
				break loop
			case <-deadline:
				break loop
			case <-tick.C:
			}
		}
		tick.Stop()
	case <-donec:
	case <-deadline:
	}
	// Ctrl-C, repeated every 3 s as a user would (a Python tool can lose
	// the first KeyboardInterrupt in a ctypes callback), then SIGKILL.
	pgid := cmd.Process.Pid
	interrupts := 0
	interrupt := time.NewTicker(3 * time.Second)
	kill := time.After(10 * time.Second)
	unix.Kill(-pgid, unix.SIGINT)
	interrupts++
wait:
	for {
		select {
		case <-donec:
			break wait
		case <-interrupt.C:
			unix.Kill(-pgid, unix.SIGINT)
			interrupts++
		case <-kill:
			unix.Kill(-pgid, unix.SIGKILL)
		}
	}
	interrupt.Stop()
	err = cmd.Wait()
	exitAt := since()
	status := "0"
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			status, code = ws.Signal().String(), 1
		} else {
			status, code = strconv.Itoa(ws.ExitStatus()), ws.ExitStatus()
		}
	} else if err != nil {
		status, code = err.Error(), 1
	}
	fmt.Fprintf(os.Stderr, "watch: ready=%.1f event=%.1f exit=%.1f status=%s interrupts=%d\n", readyAt, eventAt, exitAt, strings.ReplaceAll(status, " ", "_"), interrupts)
	if !seen {
		return fail("%q not seen in the output of %s within %gs", *want, cmdArgs[0], *timeout)
	}
	return code
}

// chown sets the owner of PATHs (not following a final symlink): UID:GID,
// numeric, the guest has no user database.
func chown(args []string, fail func(string, ...any) int) int {
	if len(args) < 2 {
		return fail("want UID:GID PATH...")
	}
	u, g, ok := strings.Cut(args[0], ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil {
		return fail("bad owner %q: want UID:GID", args[0])
	}
	for _, p := range args[1:] {
		if err := os.Lchown(p, uid, gid); err != nil {
			return fail("%v", err)
		}
	}
	return 0
}

// chmod sets the permission bits of PATHs to octal MODE, e.g. on sysfs
// files, which a write step would write into instead.
func chmod(args []string, fail func(string, ...any) int) int {
	if len(args) < 2 {
		return fail("want MODE PATH...")
	}
	m, err := strconv.ParseUint(args[0], 8, 32)
	if err != nil || m > 0o7777 {
		return fail("bad mode %q: want octal", args[0])
	}
	for _, p := range args[1:] {
		if err := unix.Chmod(p, uint32(m)); err != nil {
			return fail("%s: %v", p, err)
		}
	}
	return 0
}
