package mountinfo

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	info := `22 1 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw
30 22 0:12 / /sys/kernel/tracing rw,nosuid,nodev,noexec,relatime shared:14 - tracefs tracefs rw
31 22 0:7 / /sys/kernel/debug rw,relatime - debugfs debugfs rw
40 1 0:40 / /mnt/with\040space rw - tmpfs tmp\040fs rw
bad line
41 1 0:41 / /x rw - 
50 1 0:42 / /mnt/with\040space rw - tmpfs kh-cache rw
`
	mounts, err := Parse(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 5 {
		t.Fatalf("%d mounts: %+v", len(mounts), mounts)
	}
	if m, ok := At(mounts, "tracefs", "/sys/kernel/tracing"); !ok || m.Source != "tracefs" {
		t.Errorf("tracefs: %+v %v", m, ok)
	}
	if _, ok := At(mounts, "tracefs", "/sys/kernel/debug"); ok {
		t.Error("tracefs found on the debugfs mount point")
	}
	if m, ok := First(mounts, "tmpfs"); !ok || m.Dir != "/mnt/with space" || m.Source != "tmp fs" {
		t.Errorf("escaped mount: %+v %v", m, ok)
	}
	if m, ok := At(mounts, "", "/mnt/with space"); !ok || m.Source != "kh-cache" {
		t.Errorf("the last mount on a path is the visible one: %+v %v", m, ok)
	}
	if _, ok := First(mounts, "bpf"); ok {
		t.Error("bpf found")
	}
	if got := Unescape(`a\134b\0`); got != `a\b\0` {
		t.Errorf("unescape: %q", got)
	}
	if got := Unescape(`tab\011nl\012`); got != "tab\tnl\n" {
		t.Errorf("unescape: %q", got)
	}
}
