package adbd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// service returns the function that serves a service string, or nil if
// the daemon does not offer it.
func (s *Server) service(name string) func(*stream) error {
	switch {
	case name == "sync:":
		return serveSync
	case name == "root:":
		return s.serveRoot
	case strings.HasPrefix(name, "exec:"):
		cmd := strings.TrimPrefix(name, "exec:")
		return func(st *stream) error { return s.runRaw(st, cmd) }
	case strings.HasPrefix(name, "shell:"):
		cmd := strings.TrimPrefix(name, "shell:")
		return func(st *stream) error { return s.runRaw(st, cmd) }
	case strings.HasPrefix(name, "shell,"):
		// shell,ARG,ARG...:CMD, e.g. shell,v2,raw:ls or
		// shell,v2,TERM=xterm,pty:.
		i := strings.IndexByte(name, ':')
		if i < 0 {
			return nil
		}
		args, cmd := strings.Split(name[len("shell,"):i], ","), name[i+1:]
		v2 := false
		for _, a := range args {
			if a == "v2" {
				v2 = true
			}
		}
		if !v2 {
			return func(st *stream) error { return s.runRaw(st, cmd) }
		}
		return func(st *stream) error { return s.runV2(st, cmd) }
	}
	return nil
}

func (s *Server) serveRoot(st *stream) error {
	msg := "adbd cannot run as root in production builds\n"
	if os.Geteuid() == 0 {
		msg = "adbd is already running as root\n"
	}
	_, err := io.WriteString(st, msg)
	return err
}

// command returns the process for a shell or exec command line.
func (s *Server) command(line string) *exec.Cmd {
	var c *exec.Cmd
	if line == "" {
		c = exec.Command(s.opts.Shell)
	} else {
		c = exec.Command(s.opts.Shell, "-c", line)
	}
	c.Env = s.opts.Env
	c.Dir = s.opts.Dir
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c
}

// start starts c and arranges for its process group to be hung up when
// the stream is.
func (s *Server) start(st *stream, c *exec.Cmd) error {
	if err := c.Start(); err != nil {
		return err
	}
	pid := c.Process.Pid
	st.whenHungUp(func() {
		s.log.Info("hanging up", "service", st.service, "pid", pid)
		syscall.Kill(-pid, syscall.SIGHUP)
		go func() {
			time.Sleep(s.opts.KillGrace)
			syscall.Kill(-pid, syscall.SIGKILL)
		}()
	})
	return nil
}

// runRaw runs line with the stream as its stdin and its merged stdout
// and stderr, as adbd does without the shell protocol.
func (s *Server) runRaw(st *stream, line string) error {
	c := s.command(line)
	out, err := pipeTo(st)
	if err != nil {
		return err
	}
	c.Stdout, c.Stderr = out.w, out.w
	in, err := c.StdinPipe()
	if err != nil {
		return err
	}
	if err := s.start(st, c); err != nil {
		out.w.Close()
		io.WriteString(st, "error: "+err.Error()+"\n")
		return err
	}
	out.w.Close()
	go func() {
		io.Copy(in, st)
		in.Close()
	}()
	out.wait()
	return c.Wait()
}

// outPipe copies what a command writes into a stream.
type outPipe struct {
	w    *os.File
	done chan struct{}
}

func (o *outPipe) wait() { <-o.done }

// pipeTo returns a pipe whose read end is copied into w until EOF; a
// failed write to w (the host went away) stops the copy, and the command
// then gets EPIPE.
func pipeTo(w io.Writer) (*outPipe, error) {
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	o := &outPipe{w: pw, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		defer r.Close()
		buf := make([]byte, maxPayload)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return o, nil
}

// Shell protocol (AOSP adb/shell_protocol.h): packets of a 1-byte id and
// a 4-byte little-endian length, then the data.
const (
	shellStdin       = 0
	shellStdout      = 1
	shellStderr      = 2
	shellExit        = 3
	shellCloseStdin  = 4
	shellWindowSize  = 5
	shellPacketLimit = maxPayload - 5
)

// v2Writer frames writes as shell protocol packets of one id; writes of
// several ids are serialised.
type v2Writer struct {
	mu *sync.Mutex
	st *stream
	id byte
}

func (w *v2Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > shellPacketLimit {
			chunk = chunk[:shellPacketLimit]
		}
		if err := w.packet(chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

func (w *v2Writer) packet(data []byte) error {
	b := make([]byte, 5+len(data))
	b[0] = w.id
	binary.LittleEndian.PutUint32(b[1:], uint32(len(data)))
	copy(b[5:], data)
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.st.Write(b)
	return err
}

// runV2 runs line with the shell protocol: stdin packets to its stdin,
// its stdout and stderr as separate packets, then its exit status.
func (s *Server) runV2(st *stream, line string) error {
	var mu sync.Mutex
	c := s.command(line)
	stdout, err := pipeTo(&v2Writer{&mu, st, shellStdout})
	if err != nil {
		return err
	}
	stderr, err := pipeTo(&v2Writer{&mu, st, shellStderr})
	if err != nil {
		stdout.w.Close()
		return err
	}
	c.Stdout, c.Stderr = stdout.w, stderr.w
	in, err := c.StdinPipe()
	if err != nil {
		return err
	}
	exit := &v2Writer{&mu, st, shellExit}
	if err := s.start(st, c); err != nil {
		stdout.w.Close()
		stderr.w.Close()
		(&v2Writer{&mu, st, shellStderr}).Write([]byte(err.Error() + "\n"))
		exit.packet([]byte{127})
		return err
	}
	stdout.w.Close()
	stderr.w.Close()
	go func() {
		defer in.Close()
		readV2Input(st, in)
	}()
	stdout.wait()
	stderr.wait()
	err = c.Wait()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return err
		}
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	return exit.packet([]byte{byte(code)})
}

// readV2Input copies stdin packets from the host into w until the host
// closes stdin or the stream.
func readV2Input(r io.Reader, w io.Writer) error {
	var h [5]byte
	for {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return err
		}
		n := binary.LittleEndian.Uint32(h[1:])
		if n > maxAccepted {
			return fmt.Errorf("shell packet of %d bytes", n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return err
		}
		switch h[0] {
		case shellStdin:
			if _, err := w.Write(data); err != nil {
				return err
			}
		case shellCloseStdin:
			return nil
		case shellWindowSize:
			// No pty: nothing to resize.
		}
	}
}
