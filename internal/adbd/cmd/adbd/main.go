// Command adbd is the test rig's adb daemon (package
// github.com/khtool/kh/internal/adbd): it listens on TCP, speaks the adb
// wire protocol without authentication, runs shell and exec commands
// through a shell and serves sync (push, pull). kh's tests install it in
// their guests and start it with `vmtest spawn`.
//
//	adbd [-listen :5555] [-shell /system/bin/sh] [-dir /] [-uid N -gid N -groups A,B]
//	     [-close-after BYTES] [-flip-at OFFSET] [-unauthorized] [-v]
//
// -uid, -gid and -groups drop the daemon's privileges once it listens,
// as adbd runs as the shell user on a production build. -close-after,
// -flip-at and -unauthorized stage faults (see adbd.Options).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/khtool/kh/internal/adbd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "adbd: "+err.Error())
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", ":5555", "TCP address to listen on")
	shell := flag.String("shell", "/system/bin/sh", "shell that runs commands (SHELL -c CMD)")
	dir := flag.String("dir", "/", "working directory of commands")
	banner := flag.String("banner", "ro.product.name=khrig;ro.product.model=khrig;ro.product.device=khrig", "device banner properties")
	uid := flag.Int("uid", -1, "drop to this user id once listening")
	gid := flag.Int("gid", -1, "drop to this group id once listening")
	groups := flag.String("groups", "", "supplementary group ids (comma-separated) with -uid")
	closeAfter := flag.Int64("close-after", 0, "fault: break the connection once a stream has sent this many bytes")
	flipAt := flag.Int64("flip-at", 0, "fault: invert the byte at this offset of every stream's output")
	unauthorized := flag.Bool("unauthorized", false, "fault: ask for authentication and accept none (the host lists the device as unauthorized)")
	verbose := flag.Bool("v", false, "log connections and streams on stderr")
	flag.Parse()
	if flag.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if *uid >= 0 {
		if err := dropPrivileges(*uid, *gid, *groups); err != nil {
			return err
		}
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	env := os.Environ()
	if os.Getenv("PATH") == "" {
		env = append(env, "PATH=/system/bin:/bin:/sbin")
	}
	srv := adbd.New(adbd.Options{Shell: *shell, Dir: *dir, Env: env, Banner: *banner,
		CloseAfter: *closeAfter, FlipAt: *flipAt, Unauthorized: *unauthorized, Log: log})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("listening", "addr", l.Addr().String(), "uid", os.Getuid())
	return srv.Serve(ctx, l)
}

func dropPrivileges(uid, gid int, groups string) error {
	if gid < 0 {
		gid = uid
	}
	var gs []int
	for _, g := range strings.Split(groups, ",") {
		if g == "" {
			continue
		}
		n, err := strconv.Atoi(g)
		if err != nil {
			return fmt.Errorf("-groups: %w", err)
		}
		gs = append(gs, n)
	}
	if err := syscall.Setgroups(gs); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid: %w", err)
	}
	return nil
}
