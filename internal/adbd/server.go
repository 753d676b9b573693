package adbd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Shell runs the commands of shell: and exec: as Shell -c CMD;
	// "/system/bin/sh" if empty. An empty CMD (an interactive `adb
	// shell`) runs Shell with no arguments.
	Shell string
	// Env is the commands' environment; os.Environ() if nil.
	Env []string
	// Dir is the commands' working directory; "/" if empty.
	Dir string
	// Banner is the device banner's properties, e.g.
	// "ro.product.model=rig"; the features are added to it.
	Banner string
	// KillGrace is how long a hung-up command has between SIGHUP and
	// SIGKILL; 2s if zero.
	KillGrace time.Duration

	// Unauthorized makes the daemon ask for authentication (AUTH TOKEN)
	// and accept no answer: the host lists it as "unauthorized", as a
	// device whose USB debugging prompt was not accepted.
	Unauthorized bool

	// CloseAfter, if positive, breaks the whole connection once a stream
	// has sent that many bytes of its output: a device that goes away in
	// the middle of a transfer.
	CloseAfter int64
	// FlipAt, if positive, inverts the byte at that offset of every
	// stream's output: corruption on the way.
	FlipAt int64

	// Log receives a line per connection and stream; nil discards them.
	Log *slog.Logger
}

// features is what the daemon advertises in its CNXN banner.
const features = "shell_v2,cmd"

// Server is a running daemon. Its zero value is not usable; see New.
type Server struct {
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	conns map[*conn]bool
}

// New returns a server with opts.
func New(opts Options) *Server {
	if opts.Shell == "" {
		opts.Shell = "/system/bin/sh"
	}
	if opts.Dir == "" {
		opts.Dir = "/"
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.KillGrace <= 0 {
		opts.KillGrace = 2 * time.Second
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{opts: opts, log: log, conns: map[*conn]bool{}}
}

// Serve accepts connections on l until ctx is done or l fails, serving
// each in its own goroutine. It closes l and every connection, and hangs
// up every command, before it returns.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer s.closeAll()
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		c := s.newConn(nc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.serve()
			s.log.Info("connection closed", "remote", nc.RemoteAddr().String(), "err", err)
		}()
	}
}

func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.nc.Close()
	}
}

// conn is one host connection and its streams.
type conn struct {
	s  *Server
	nc net.Conn

	wmu     sync.Mutex // serialises writes to nc
	maxData int

	mu      sync.Mutex
	streams map[uint32]*stream
	nextID  uint32
	broken  bool
}

func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, maxData: maxPayload, streams: map[uint32]*stream{}, nextID: 1}
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
	return c
}

func (c *conn) send(m message) error {
	b := encodeMessage(m)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// breakConn ends the connection at once (a fault, or a protocol error).
func (c *conn) breakConn() {
	c.mu.Lock()
	c.broken = true
	c.mu.Unlock()
	c.nc.Close()
}

func (c *conn) serve() error {
	defer func() {
		c.nc.Close()
		c.mu.Lock()
		ss := make([]*stream, 0, len(c.streams))
		for _, st := range c.streams {
			ss = append(ss, st)
		}
		c.streams = map[uint32]*stream{}
		c.mu.Unlock()
		for _, st := range ss {
			st.hangUp()
		}
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}()
	connected := false
	for {
		m, err := readMessage(c.nc)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		switch m.cmd {
		case cmdCNXN:
			if c.s.opts.Unauthorized {
				// Ask for a signature we will never accept: the host
				// shows the device as unauthorized.
				if err := c.send(message{cmd: cmdAUTH, arg0: authToken, data: make([]byte, 20)}); err != nil {
					return err
				}
				continue
			}
			if m.arg1 > 0 && int(m.arg1) < c.maxData {
				c.maxData = int(m.arg1)
			}
			banner := "device::" + c.s.opts.Banner
			if banner[len(banner)-1] != ':' && !strings.HasSuffix(banner, ";") {
				banner += ";"
			}
			banner += "features=" + features
			connected = true
			if err := c.send(message{cmd: cmdCNXN, arg0: protocolVersion, arg1: maxPayload, data: []byte(banner)}); err != nil {
				return err
			}
		case cmdAUTH:
			if !c.s.opts.Unauthorized {
				// No authentication: a host only sends AUTH in answer to ours.
				return &ProtocolError{"unexpected AUTH"}
			}
			// A signature: refused, ask again. A public key: the host
			// now waits for the user to accept it on the device, which
			// never happens.
			if m.arg0 == authSignature {
				if err := c.send(message{cmd: cmdAUTH, arg0: authToken, data: make([]byte, 20)}); err != nil {
					return err
				}
			}
		case cmdOPEN:
			if !connected {
				return &ProtocolError{"OPEN before CNXN"}
			}
			c.open(m.arg0, strings.TrimRight(string(m.data), "\x00"))
		case cmdOKAY:
			if st := c.stream(m.arg1); st != nil {
				st.okay()
			}
		case cmdWRTE:
			st := c.stream(m.arg1)
			if st == nil {
				c.send(message{cmd: cmdCLSE, arg0: 0, arg1: m.arg0})
				continue
			}
			st.input(m.data)
		case cmdCLSE:
			if st := c.stream(m.arg1); st != nil {
				c.s.log.Info("host closed the stream", "service", st.service)
				c.remove(st)
				st.hangUp()
			}
		case cmdSYNC:
			// Obsolete; ignore.
		default:
			return &ProtocolError{"unknown command " + cmdName(m.cmd)}
		}
	}
}

func (c *conn) stream(local uint32) *stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[local]
}

func (c *conn) remove(st *stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streams[st.local] == st {
		delete(c.streams, st.local)
	}
}

// open starts a service for the host's stream remote.
func (c *conn) open(remote uint32, service string) {
	run := c.s.service(service)
	if run == nil || remote == 0 {
		c.s.log.Info("service refused", "service", service)
		c.send(message{cmd: cmdCLSE, arg0: 0, arg1: remote})
		return
	}
	c.mu.Lock()
	local := c.nextID
	c.nextID++
	st := newStream(c, local, remote, service)
	c.streams[local] = st
	c.mu.Unlock()
	c.s.log.Info("stream opened", "service", service)
	if err := c.send(message{cmd: cmdOKAY, arg0: local, arg1: remote}); err != nil {
		return
	}
	go func() {
		err := run(st)
		if err != nil {
			c.s.log.Info("service ended", "service", service, "err", err)
		}
		st.closeOut()
	}()
}

// stream is one open service: bytes from the host arrive through in,
// bytes to the host leave through Write, one WRTE at a time (each waits
// for the host's OKAY).
type stream struct {
	c             *conn
	local, remote uint32
	service       string

	ready  chan struct{} // the host's OKAY for our last WRTE
	done   chan struct{} // closed on hang-up
	once   sync.Once
	closed sync.Once

	inR *io.PipeReader
	inW *io.PipeWriter

	sent int64

	hmu    sync.Mutex
	onHang []func()
}

func newStream(c *conn, local, remote uint32, service string) *stream {
	r, w := io.Pipe()
	return &stream{c: c, local: local, remote: remote, service: service,
		ready: make(chan struct{}, 1), done: make(chan struct{}), inR: r, inW: w}
}

func (st *stream) okay() {
	select {
	case st.ready <- struct{}{}:
	default:
	}
}

// input delivers a WRTE's data to the service and acknowledges it once
// the service has taken it (flow control: the host sends the next WRTE
// only after our OKAY).
func (st *stream) input(data []byte) {
	go func() {
		// Order is kept because the host waits for this OKAY before it
		// sends more.
		if _, err := st.inW.Write(data); err != nil {
			return
		}
		st.c.send(message{cmd: cmdOKAY, arg0: st.local, arg1: st.remote})
	}()
}

// Read reads what the host wrote to the stream.
func (st *stream) Read(p []byte) (int, error) { return st.inR.Read(p) }

// Write sends p to the host in messages of at most the connection's
// payload size, each after the host acknowledged the previous one.
func (st *stream) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > st.c.maxData {
			chunk = chunk[:st.c.maxData]
		}
		data := append([]byte(nil), chunk...)
		if f := st.c.s.opts.FlipAt; f > 0 && f >= st.sent && f < st.sent+int64(len(data)) {
			data[f-st.sent] ^= 0xff
		}
		if ca := st.c.s.opts.CloseAfter; ca > 0 && st.sent+int64(len(data)) > ca {
			cut := ca - st.sent
			if cut > 0 {
				st.c.send(message{cmd: cmdWRTE, arg0: st.local, arg1: st.remote, data: data[:cut]})
			}
			st.c.s.log.Info("fault: breaking the connection", "service", st.service, "after", ca)
			st.c.breakConn()
			return n, net.ErrClosed
		}
		if err := st.c.send(message{cmd: cmdWRTE, arg0: st.local, arg1: st.remote, data: data}); err != nil {
			return n, err
		}
		select {
		case <-st.ready:
		case <-st.done:
			return n, net.ErrClosed
		}
		st.sent += int64(len(data))
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// whenHungUp registers f to run when the host closes the stream or the
// connection ends.
func (st *stream) whenHungUp(f func()) {
	st.hmu.Lock()
	defer st.hmu.Unlock()
	select {
	case <-st.done:
		go f()
	default:
		st.onHang = append(st.onHang, f)
	}
}

// hangUp ends the stream from the host's side.
func (st *stream) hangUp() {
	st.once.Do(func() {
		st.hmu.Lock()
		close(st.done)
		fs := st.onHang
		st.onHang = nil
		st.hmu.Unlock()
		st.inW.CloseWithError(io.EOF)
		for _, f := range fs {
			f()
		}
	})
}

// closeOut ends the stream from the device's side: the service is done.
func (st *stream) closeOut() {
	st.closed.Do(func() {
		select {
		case <-st.done:
			// The host closed it already.
		default:
			st.c.remove(st)
			st.c.send(message{cmd: cmdCLSE, arg0: st.local, arg1: st.remote})
			st.hangUp()
		}
	})
}
