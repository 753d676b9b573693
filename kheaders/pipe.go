package kheaders

import (
	"context"
	"errors"
	"io"
	"sync"
)

// pipe runs a reader (the xz decoder) on its own goroutine and hands its
// output over in large chunks, so that decoding on one core overlaps with
// file creation on another. (An io.Pipe hands over every small Read
// synchronously, which is slower than no overlap at all.)
type pipe struct {
	ctx    context.Context
	full   chan chunk
	free   chan []byte
	done   chan struct{}
	exited chan struct{} // closed when the producer has returned
	once   sync.Once
	cur    []byte // unread part of the current chunk
	curBuf []byte // the current chunk's buffer, returned to free when used
	err    error
}

type chunk struct {
	buf []byte
	n   int
	err error
}

const (
	pipeChunk  = 256 << 10
	pipeChunks = 12
)

var errStreamTooLong = errors.New("decompressed stream is longer than the size limit")

// newPipe starts copying r to the returned pipe; more than max bytes is
// an error. The producer stops at ctx's end, between chunks; r itself
// should stop within a chunk too (xz.Reader.SetContext), so that stop
// returns promptly. Call stop when done reading.
func newPipe(ctx context.Context, r io.Reader, max int64) *pipe {
	p := &pipe{
		ctx:    ctx,
		full:   make(chan chunk, pipeChunks),
		free:   make(chan []byte, pipeChunks+1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range pipeChunks + 1 {
		p.free <- make([]byte, pipeChunk)
	}
	go p.produce(r, max)
	return p
}

func (p *pipe) produce(r io.Reader, max int64) {
	defer close(p.exited)
	var total int64
	for {
		// At ctx's end the producer stops on its own (the reader sees
		// ctx.Err() from Read), also while nobody reads.
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.done:
			return
		case <-p.ctx.Done():
			return
		}
		if p.ctx.Err() != nil {
			return
		}
		n, err := fill(r, buf)
		if total += int64(n); total > max && err == nil {
			err = &ArchiveError{Err: errStreamTooLong}
		}
		select {
		case p.full <- chunk{buf, n, err}:
		case <-p.done:
			return
		case <-p.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// fill reads into buf until it is full or r fails (io.EOF at the end).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (p *pipe) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		// Nothing more after the end of ctx, not even what is queued.
		p.cur, p.err = nil, err
	}
	for len(p.cur) == 0 {
		if p.err != nil {
			return 0, p.err
		}
		if p.curBuf != nil {
			p.free <- p.curBuf // never blocks: free holds every buffer
			p.curBuf = nil
		}
		select {
		case c := <-p.full:
			p.curBuf, p.cur, p.err = c.buf, c.buf[:c.n], c.err
		case <-p.ctx.Done():
			p.err = p.ctx.Err()
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// stop ends the producer goroutine and waits until it has returned, so
// that the reader it was reading can be closed.
func (p *pipe) stop() {
	p.once.Do(func() { close(p.done) })
	<-p.exited
}
