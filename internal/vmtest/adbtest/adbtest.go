// Package adbtest runs the real adb client and a private adb server for
// tests: the server listens on a port of its own (ANDROID_ADB_SERVER_PORT),
// so tests neither use nor disturb a developer's adb server on 5037, and
// it is killed when the test ends.
package adbtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/khtool/kh/internal/testkernel"
)

// Server is a private adb server.
type Server struct {
	// ADB is the adb client's path.
	ADB string
	// Port is the server's port.
	Port int
}

// Env returns the environment that points adb (and kh, which runs adb)
// at this server, on top of os.Environ() without ANDROID_SERIAL.
func (s *Server) Env() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "ANDROID_SERIAL=") && !strings.HasPrefix(e, "ANDROID_ADB_SERVER_PORT=") && !strings.HasPrefix(e, "ADB_SERVER_SOCKET=") {
			env = append(env, e)
		}
	}
	return append(env, "ANDROID_ADB_SERVER_PORT="+strconv.Itoa(s.Port), "ADB="+s.ADB)
}

// Start starts a private adb server (skipping the test if adb is not
// installed) and kills it when the test ends. Setenv is not used, so
// tests using it may run in parallel.
func Start(t testing.TB) *Server {
	t.Helper()
	adb := testkernel.NeedTool(t, "adb")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{ADB: adb, Port: port}
	if out, err := s.Run(t, "start-server"); err != nil {
		t.Fatalf("adb start-server: %v: %s", err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, s.ADB, "kill-server")
		c.Env = s.Env()
		c.Run()
	})
	return s
}

// Command returns an adb command for this server.
func (s *Server) Command(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, s.ADB, args...)
	c.Env = s.Env()
	return c
}

// Run runs adb ARGS (bounded to a minute) and returns its combined output.
func (s *Server) Run(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return s.Command(ctx, args...).CombinedOutput()
}

// Connect runs `adb connect ADDR`, retrying while the daemon is not yet
// listening (a guest still starting it), and fails the test if it does
// not connect within a minute.
func (s *Server) Connect(t testing.TB, addr string) {
	t.Helper()
	s.ConnectState(t, addr, "device")
}

// ConnectState is Connect for a device expected in another state, such
// as "unauthorized".
func (s *Server) ConnectState(t testing.TB, addr, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := s.Run(t, "connect", addr)
		// adb connect says "failed to authenticate" for a device that
		// wants a key the host does not have: it is then "unauthorized".
		if err == nil && (bytes.Contains(out, []byte("connected to")) || bytes.Contains(out, []byte("failed to authenticate"))) {
			if s.state(t, addr) == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("adb connect %s: %v: %s", addr, err, out)
		}
		s.Run(t, "disconnect", addr)
		time.Sleep(500 * time.Millisecond)
	}
}

func (s *Server) state(t testing.TB, serial string) string {
	out, _ := s.Run(t, "devices")
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == serial {
			return f[1]
		}
	}
	return ""
}

// Disconnect runs `adb disconnect ADDR`.
func (s *Server) Disconnect(t testing.TB, addr string) {
	t.Helper()
	if out, err := s.Run(t, "disconnect", addr); err != nil {
		t.Errorf("adb disconnect %s: %v: %s", addr, err, out)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is 127.0.0.1:PORT.
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
