package tracefs

import (
	"testing"
)

func TestParsePrintk(t *testing.T) {
	cases := []struct {
		line string
		want Printk
		ok   bool
	}{
		{"           <...>-1234    [003] d..31  5678.123456: bpf_trace_printk: kh-tp faccessat tgid=1234",
			Printk{Task: "<...>", PID: 1234, CPU: 3, Timestamp: "5678.123456", Text: "kh-tp faccessat tgid=1234"}, true},
		{"  kworker/u4:1-56 [000] .... 1.000001: bpf_trace_printk: a: b: c",
			Printk{Task: "kworker/u4:1", PID: 56, CPU: 0, Timestamp: "1.000001", Text: "a: b: c"}, true},
		{"my-task name-9 [1] 2.5: bpf_trace_printk: x",
			Printk{Task: "my-task name", PID: 9, CPU: 1, Timestamp: "2.5", Text: "x"}, true},
		{"garbage: bpf_trace_printk: y", Printk{PID: -1, CPU: -1, Text: "y"}, true},
		{"  sh-1 [000] d..1 3.0: sched_switch: prev=...", Printk{}, false},
		{"", Printk{}, false},
	}
	for _, c := range cases {
		got, ok := ParsePrintk(c.line)
		got.Line = ""
		if ok != c.ok || got != c.want {
			t.Errorf("ParsePrintk(%q) = %+v %v, want %+v %v", c.line, got, ok, c.want, c.ok)
		}
	}
}
