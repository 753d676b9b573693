package loader

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/khtool/kh/internal/tracefs"
	"io"
	"time"
)

// Printk is one bpf_printk line read from trace_pipe: the task, thread
// ID, CPU and timestamp the kernel printed, and the message.
type Printk = tracefs.Printk

// EventKind says what an Event carries.
type EventKind string

// Event kinds.
const (
	// EventPrintk is a bpf_printk line read from tracefs trace_pipe.
	EventPrintk EventKind = "printk"
	// EventRecord is a record from a ring buffer or perf event array.
	EventRecord EventKind = "record"
	// EventLost reports records a perf event array dropped.
	EventLost EventKind = "lost"
)

// Event is something a running object produced.
type Event struct {
	Kind EventKind
	// Time is when kh received the event.
	Time time.Time

	// Printk is the parsed trace_pipe line (EventPrintk).
	Printk *Printk

	// Map is the map a record came from (EventRecord, EventLost), and
	// MapType its type: "ringbuf" or "perf".
	Map, MapType string
	// CPU is the CPU of a perf record or loss, -1 for ring buffers.
	CPU int
	// Raw is the record as the program wrote it (perf records may carry
	// up to 7 bytes of alignment padding).
	Raw []byte
	// Type names the BTF type the record was decoded with, and Data is
	// the decoded record (usually Fields); both are empty when the
	// record was not decoded.
	Type string
	Data any
	// DecodeError says why a record of a known type was not decoded.
	DecodeError string
	// Lost is the number of records lost (EventLost).
	Lost uint64
}

// MarshalJSON writes the event in kh run's JSON lines format:
//
//	{"kind":"printk","time":T,"task":"sh","pid":7,"cpu":0,"ts":"12.5","text":"..."}
//	{"kind":"record","time":T,"map":"events","map_type":"ringbuf","type":"event","data":{...}}
//	{"kind":"record","time":T,"map":"events","map_type":"perf","cpu":1,"hex":"0a0b..."}
//	{"kind":"lost","time":T,"map":"events","map_type":"perf","cpu":1,"lost":3}
func (e Event) MarshalJSON() ([]byte, error) {
	type printk struct {
		Kind EventKind `json:"kind"`
		Time time.Time `json:"time"`
		Task string    `json:"task"`
		PID  int       `json:"pid"`
		CPU  int       `json:"cpu"`
		TS   string    `json:"ts,omitempty"`
		Text string    `json:"text"`
	}
	type record struct {
		Kind        EventKind `json:"kind"`
		Time        time.Time `json:"time"`
		Map         string    `json:"map"`
		MapType     string    `json:"map_type"`
		CPU         *int      `json:"cpu,omitempty"`
		Type        string    `json:"type,omitempty"`
		Data        any       `json:"data,omitempty"`
		Hex         string    `json:"hex,omitempty"`
		DecodeError string    `json:"decode_error,omitempty"`
		Lost        uint64    `json:"lost,omitempty"`
	}
	switch e.Kind {
	case EventPrintk:
		p := e.Printk
		if p == nil {
			p = &tracefs.Printk{}
		}
		return json.Marshal(printk{e.Kind, e.Time, p.Task, p.PID, p.CPU, p.Timestamp, p.Text})
	default:
		r := record{Kind: e.Kind, Time: e.Time, Map: e.Map, MapType: e.MapType, Type: e.Type, Data: e.Data, DecodeError: e.DecodeError, Lost: e.Lost}
		if e.CPU >= 0 {
			cpu := e.CPU
			r.CPU = &cpu
		}
		if e.Kind == EventRecord && e.Data == nil {
			r.Hex = hex.EncodeToString(e.Raw)
			if r.Hex == "" {
				r.Hex = "-"
			}
		}
		return json.Marshal(r)
	}
}

// String formats the event as one line of kh run's text output:
//
//	printk: sh-7 [000] 12.5: TEXT
//	events: kind=1 pid=7 comm="sh"
//	events: 16 bytes: 0a0b...
//	events: lost 3 records on cpu 1
func (e Event) String() string {
	switch e.Kind {
	case EventPrintk:
		p := e.Printk
		if p == nil {
			return "printk:"
		}
		return fmt.Sprintf("printk: %s-%d [%03d] %s: %s", p.Task, p.PID, p.CPU, p.Timestamp, p.Text)
	case EventLost:
		return fmt.Sprintf("%s: lost %d records on cpu %d", e.Map, e.Lost, e.CPU)
	}
	if e.Data != nil {
		if f, ok := e.Data.(Fields); ok {
			return e.Map + ": " + f.String()
		}
		return e.Map + ": " + formatValue(e.Data)
	}
	return fmt.Sprintf("%s: %d bytes: %s", e.Map, len(e.Raw), hex.EncodeToString(e.Raw))
}

// Sink receives the events of a running object. Calls are never
// concurrent. An error stops the run and is returned by Stream or Run.
type Sink interface {
	Event(Event) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event) error

// Event calls f(e).
func (f SinkFunc) Event(e Event) error { return f(e) }

// TextSink writes each event as one line of text (Event.String) to w.
func TextSink(w io.Writer) Sink {
	return SinkFunc(func(e Event) error {
		_, err := fmt.Fprintln(w, e.String())
		return err
	})
}

// JSONSink writes each event as one JSON object per line (Event.MarshalJSON) to w.
func JSONSink(w io.Writer) Sink {
	enc := json.NewEncoder(w)
	return SinkFunc(func(e Event) error { return enc.Encode(e) })
}
