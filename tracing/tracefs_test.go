package tracing

import (
	"strings"
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

func TestParseMountinfo(t *testing.T) {
	info := `22 1 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw
30 22 0:12 / /sys/kernel/tracing rw,nosuid,nodev,noexec,relatime shared:14 - tracefs tracefs rw
31 22 0:7 / /sys/kernel/debug rw,relatime - debugfs debugfs rw
40 1 0:40 / /mnt/with\040space rw - tmpfs tmp\040fs rw
bad line
41 1 0:41 / /x rw - 
`
	mounts, err := parseMountinfo(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 4 {
		t.Fatalf("%d mounts: %+v", len(mounts), mounts)
	}
	if m, ok := MountedAt(mounts, "tracefs", "/sys/kernel/tracing"); !ok || m.Source != "tracefs" {
		t.Errorf("tracefs: %+v %v", m, ok)
	}
	if _, ok := MountedAt(mounts, "tracefs", "/sys/kernel/debug"); ok {
		t.Error("tracefs found on the debugfs mount point")
	}
	if m, ok := FirstMount(mounts, "tmpfs"); !ok || m.Dir != "/mnt/with space" || m.Source != "tmp fs" {
		t.Errorf("escaped mount: %+v %v", m, ok)
	}
	if _, ok := FirstMount(mounts, "bpf"); ok {
		t.Error("bpf found")
	}
	if got := unescapeMount(`a\134b\0`); got != `a\b\0` {
		t.Errorf("unescape: %q", got)
	}
}
