package adbd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/khtool/kh/internal/adbd"
	"github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/internal/vmtest/adbtest"
)

// startDaemon serves opts on 127.0.0.1 until the test ends and connects
// the private adb server to it; it returns the device's serial.
func startDaemon(t *testing.T, adb *adbtest.Server, opts adbd.Options) string {
	t.Helper()
	if opts.Shell == "" {
		opts.Shell = testkernel.NeedTool(t, "sh")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- adbd.New(opts).Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	serial := l.Addr().String()
	adb.Connect(t, serial)
	return serial
}

func run(t *testing.T, adb *adbtest.Server, stdin []byte, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := adb.Command(ctx, args...)
	var o, e bytes.Buffer
	c.Stdout, c.Stderr = &o, &e
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	err := c.Run()
	if err != nil && c.ProcessState == nil {
		t.Fatalf("adb %q: %v", args, err)
	}
	return o.Bytes(), e.Bytes(), c.ProcessState.ExitCode()
}

func TestRealClient(t *testing.T) {
	adb := adbtest.Start(t)
	dev := startDaemon(t, adb, adbd.Options{Banner: "ro.product.model=khrig"})

	out, _, _ := run(t, adb, nil, "devices", "-l")
	if !bytes.Contains(out, []byte(dev+" ")) || !bytes.Contains(out, []byte("model:khrig")) {
		t.Errorf("adb devices -l:\n%s", out)
	}

	t.Run("shell_v2", func(t *testing.T) {
		o, e, code := run(t, adb, nil, "-s", dev, "shell", "echo out; echo err >&2; exit 3")
		if string(o) != "out\n" || string(e) != "err\n" || code != 3 {
			t.Errorf("adb shell: stdout %q stderr %q exit %d; want out, err, 3", o, e, code)
		}
		o, _, code = run(t, adb, []byte("from stdin\n"), "-s", dev, "shell", "-T", "cat")
		if string(o) != "from stdin\n" || code != 0 {
			t.Errorf("adb shell cat: stdout %q exit %d", o, code)
		}
	})

	t.Run("exec-out", func(t *testing.T) {
		data := make([]byte, 3<<20)
		rand.Read(data)
		for i := range 256 {
			data[i] = byte(i) // every byte value, \r\n included
		}
		p := filepath.Join(t.TempDir(), "blob")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		o, _, code := run(t, adb, nil, "-s", dev, "exec-out", "cat "+p)
		if code != 0 || !bytes.Equal(o, data) {
			t.Errorf("exec-out cat: exit %d, %d bytes, equal %v", code, len(o), bytes.Equal(o, data))
		}
	})

	t.Run("push-pull-ls", func(t *testing.T) {
		dir := t.TempDir()
		data := make([]byte, 5<<20+17)
		rand.Read(data)
		src := filepath.Join(dir, "src")
		os.WriteFile(src, data, 0o640)
		dst := filepath.Join(dir, "sub", "pushed")
		if _, e, code := run(t, adb, nil, "-s", dev, "push", src, dst); code != 0 {
			t.Fatalf("push: exit %d: %s", code, e)
		}
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("pushed file: %v, equal %v", err, bytes.Equal(got, data))
		}
		back := filepath.Join(dir, "back")
		o, e, code := run(t, adb, nil, "-s", dev, "pull", dst, back)
		if code != 0 {
			t.Fatalf("pull: exit %d: %s", code, e)
		}
		if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("pulled file: %v, equal %v", err, bytes.Equal(got, data))
		}
		o, _, code = run(t, adb, nil, "-s", dev, "ls", filepath.Join(dir, "sub"))
		if code != 0 || !bytes.Contains(o, []byte(" pushed\n")) {
			t.Errorf("adb ls: exit %d:\n%s", code, o)
		}
		o, e, code = run(t, adb, nil, "-s", dev, "pull", filepath.Join(dir, "absent"), filepath.Join(dir, "x"))
		if code == 0 || !bytes.Contains(append(o, e...), []byte("does not exist")) {
			t.Errorf("pull of a missing file: exit %d: %s", code, e)
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
			t.Error("a failed pull left a file")
		}
	})

	t.Run("root", func(t *testing.T) {
		o, _, _ := run(t, adb, nil, "-s", dev, "root")
		want := "adbd cannot run as root in production builds\n"
		if os.Geteuid() == 0 {
			want = "adbd is already running as root\n"
		}
		if string(o) != want {
			t.Errorf("adb root: %q, want %q", o, want)
		}
	})

	t.Run("hang-up", func(t *testing.T) {
		pidFile := filepath.Join(t.TempDir(), "pid")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := adb.Command(ctx, "-s", dev, "shell", "echo $$ > "+pidFile+"; exec sleep 100")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		pid := waitPID(t, pidFile)
		c.Process.Signal(os.Interrupt) // what Ctrl-C does to the client
		c.Wait()
		deadline := time.Now().Add(20 * time.Second)
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("the command (pid %d) still runs after the client went away", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func waitPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUnauthorized(t *testing.T) {
	adb := adbtest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- adbd.New(adbd.Options{Shell: testkernel.NeedTool(t, "sh"), Unauthorized: true}).Serve(ctx, l)
	}()
	defer func() {
		cancel()
		<-done
	}()
	dev := l.Addr().String()
	adb.ConnectState(t, dev, "unauthorized")
	o, e, code := run(t, adb, nil, "-s", dev, "shell", "true")
	if code == 0 || !bytes.Contains(append(o, e...), []byte("unauthorized")) {
		t.Errorf("adb shell on an unauthorized device: exit %d: %s%s", code, o, e)
	}
}

func TestFaults(t *testing.T) {
	adb := adbtest.Start(t)
	dir := t.TempDir()
	data := make([]byte, 1<<20)
	rand.Read(data)
	p := filepath.Join(dir, "blob")
	os.WriteFile(p, data, 0o644)

	flip := startDaemon(t, adb, adbd.Options{FlipAt: 100000})
	o, _, code := run(t, adb, nil, "-s", flip, "exec-out", "cat "+p)
	if code != 0 || len(o) != len(data) {
		t.Fatalf("exec-out through FlipAt: exit %d, %d bytes", code, len(o))
	}
	var diff []int
	for i := range o {
		if o[i] != data[i] {
			diff = append(diff, i)
		}
	}
	if len(diff) != 1 || diff[0] != 100000 {
		t.Errorf("bytes that differ: %v, want [100000]", diff)
	}

	cut := startDaemon(t, adb, adbd.Options{CloseAfter: 300000})
	back := filepath.Join(dir, "back")
	_, e, code := run(t, adb, nil, "-s", cut, "pull", p, back)
	if code == 0 {
		t.Errorf("pull through a connection that breaks succeeded: %s", e)
	}
	if got, err := os.ReadFile(back); err == nil && bytes.Equal(got, data) {
		t.Error("the whole file arrived although the connection broke")
	}
}
