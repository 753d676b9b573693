package loader

import (
	"context"
	"errors"
	"fmt"
	"github.com/khtool/kh/internal/tracefs"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
)

// RunOptions control Run.
type RunOptions struct {
	LoadOptions
	StreamOptions
	// Duration stops the run after this long; zero runs until ctx is done.
	Duration time.Duration
	// Attached, when not nil, is called once every program is attached,
	// before the first event (kh run says there what it attached).
	Attached func(progs []*Program)
}

// StreamOptions control Stream.
type StreamOptions struct {
	// Sink receives the events. Required.
	Sink Sink
	// RecordTypes names the BTF type of the records of a map (map name to
	// type name), overriding the convention described in the package
	// documentation.
	RecordTypes map[string]string
	// PerfBufferSize is the per-CPU buffer of perf event arrays in bytes;
	// zero means 64 KiB.
	PerfBufferSize int
	// Undecoded, when not nil, is called for each ring buffer or perf
	// event array whose records have no known type and so are sent as
	// raw bytes (printed as hex). nil logs a warning that says why.
	Undecoded func(mapName string)
}

// RecordMapError is a record type given for a map that is not a ring
// buffer or perf event array of the object.
type RecordMapError struct {
	Map  string   // the map named
	Have []string // the object's ring buffers and perf event arrays
}

func (e *RecordMapError) Error() string {
	have := "none"
	if len(e.Have) > 0 {
		have = strings.Join(e.Have, ", ")
	}
	return fmt.Sprintf("a record type for map %q, which is not a ring buffer or perf event array of the object (it has: %s)", e.Map, have)
}

// UndecodedWhy says why records print as hex: the usual C pattern keeps
// the record's struct out of the object's BTF.
const UndecodedWhy = "the object's BTF has no struct named like the map or \"event\": clang records the types of globals and function signatures, not of a local pointer such as struct event *e = bpf_ringbuf_reserve(...)"

// checkRecordTypes checks that every map of types is a ring buffer or
// perf event array of the object.
func checkRecordTypes(spec *ebpf.CollectionSpec, types map[string]string) error {
	var have []string
	for name, m := range spec.Maps {
		if m.Type == ebpf.RingBuf || m.Type == ebpf.PerfEventArray {
			have = append(have, name)
		}
	}
	slices.Sort(have)
	for _, name := range slices.Sorted(maps.Keys(types)) {
		if !slices.Contains(have, name) {
			return &RecordMapError{Map: name, Have: have}
		}
	}
	return nil
}

// Run loads the BPF object at path, attaches its programs, streams what
// they produce to opts.Sink until ctx is done or opts.Duration has
// passed, then detaches and unloads everything, also when a step fails
// half-way. An interrupted or timed-out run returns nil.
func Run(ctx context.Context, path string, opts RunOptions) error {
	if opts.Sink == nil {
		return errors.New("run: no event sink")
	}
	obj, err := Load(ctx, path, opts.LoadOptions)
	if err != nil {
		return err
	}
	defer obj.Close()
	if err := checkRecordTypes(obj.spec, opts.RecordTypes); err != nil {
		return err
	}
	if err := obj.Attach(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if opts.Attached != nil {
		opts.Attached(obj.Programs())
	}
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	if err := obj.Stream(ctx, opts.StreamOptions); err != nil {
		return err
	}
	return obj.Close()
}

// Stream sends what the object's programs produce to opts.Sink until ctx
// is done: bpf_printk lines from tracefs trace_pipe (only when a program
// calls bpf_trace_printk; trace_pipe is system-wide, so lines of other
// BPF programs show up too) and the records of every ring buffer and
// perf event array, decoded through BTF where a record type is known.
// It returns nil when ctx ends it, or the first error of a reader or of
// the sink.
func (o *Object) Stream(ctx context.Context, opts StreamOptions) error {
	if opts.Sink == nil {
		return errors.New("stream: no event sink")
	}
	if o.coll == nil {
		return errors.New("stream: object is closed")
	}
	if err := checkRecordTypes(o.spec, opts.RecordTypes); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	var sinkMu sync.Mutex
	emit := func(e Event) error {
		sinkMu.Lock()
		defer sinkMu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
		return opts.Sink.Event(e)
	}
	start := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				fail(err)
			}
		}()
	}

	if o.printk {
		dir, _, err := tracefs.EnsureTraceFS(o.logger)
		if err != nil {
			return fmt.Errorf("bpf_printk output: %w", err)
		}
		start(func() error {
			return tracefs.ReadTracePipe(ctx, dir, func(p tracefs.Printk) error {
				return emit(Event{Kind: EventPrintk, Time: time.Now(), Printk: &p, CPU: p.CPU})
			})
		})
	}

	for _, name := range slices.Sorted(maps.Keys(o.coll.Maps)) {
		m := o.coll.Maps[name]
		if m.Type() != ebpf.RingBuf && m.Type() != ebpf.PerfEventArray {
			continue
		}
		dec, err := findRecordType(o.spec.Types, name, opts.RecordTypes[name])
		if err != nil {
			cancel()
			wg.Wait()
			return fmt.Errorf("map %s: %w", name, err)
		}
		switch {
		case dec != nil:
			o.logger.Debug("decoding records", "map", name, "type", dec.name, "size", dec.size)
		case opts.Undecoded != nil:
			opts.Undecoded(name)
		default:
			o.logger.Warn("records of map "+name+" print as hex: "+UndecodedWhy+"; a global of the type (struct event *unused __attribute__((unused));) or StreamOptions.RecordTypes fixes it", "map", name)
		}
		rec := recordEmitter{name: name, dec: dec, emit: emit}
		if m.Type() == ebpf.RingBuf {
			rd, err := ringbuf.NewReader(m)
			if err != nil {
				cancel()
				wg.Wait()
				return fmt.Errorf("map %s: %w", name, err)
			}
			start(func() error { return rec.ringbuf(ctx, rd) })
			continue
		}
		size := opts.PerfBufferSize
		if size <= 0 {
			size = 64 << 10
		}
		rd, err := perf.NewReader(m, size)
		if err != nil {
			cancel()
			wg.Wait()
			return fmt.Errorf("map %s: %w", name, err)
		}
		start(func() error { return rec.perf(ctx, rd) })
	}
	<-ctx.Done()
	wg.Wait()
	return firstErr
}

// recordEmitter turns the records of one map into events.
type recordEmitter struct {
	name string
	dec  *recordDecoder
	emit func(Event) error
}

func (r *recordEmitter) record(mapType string, cpu int, raw []byte) error {
	e := Event{Kind: EventRecord, Time: time.Now(), Map: r.name, MapType: mapType, CPU: cpu, Raw: raw}
	if r.dec != nil {
		v, err := r.dec.decode(raw)
		if err != nil {
			e.DecodeError = err.Error()
		} else {
			e.Type, e.Data = r.dec.name, v
		}
	}
	return r.emit(e)
}

// ringbuf reads a ring buffer until ctx is done.
func (r *recordEmitter) ringbuf(ctx context.Context, rd *ringbuf.Reader) error {
	return readUntilDone(ctx, rd, func() error {
		rec, err := rd.Read()
		if err != nil {
			return fmt.Errorf("map %s: %w", r.name, err)
		}
		return r.record("ringbuf", -1, rec.RawSample)
	})
}

// perf reads a perf event array until ctx is done.
func (r *recordEmitter) perf(ctx context.Context, rd *perf.Reader) error {
	return readUntilDone(ctx, rd, func() error {
		rec, err := rd.Read()
		if err != nil {
			return fmt.Errorf("map %s: %w", r.name, err)
		}
		if rec.LostSamples > 0 {
			return r.emit(Event{Kind: EventLost, Time: time.Now(), Map: r.name, MapType: "perf", CPU: rec.CPU, Lost: rec.LostSamples})
		}
		return r.record("perf", rec.CPU, rec.RawSample)
	})
}

// readUntilDone calls read until it fails or ctx is done; rd is closed
// when ctx ends, which ends a blocked read with os.ErrClosed (ringbuf
// and perf readers both use it).
func readUntilDone(ctx context.Context, rd io.Closer, read func() error) error {
	defer rd.Close()
	stop := context.AfterFunc(ctx, func() { rd.Close() })
	defer stop()
	for {
		if err := read(); err != nil {
			if errors.Is(err, os.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}
