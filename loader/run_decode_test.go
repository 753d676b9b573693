package loader

import (
	"encoding/binary"
	"encoding/json"
	"github.com/khtool/kh/internal/tracefs"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"
)

// eventType builds a struct like the test programs' struct event, plus
// members that exercise every decoder path.
func eventType() *btf.Struct {
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	s32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	s8 := &btf.Int{Name: "signed char", Size: 1, Encoding: btf.Signed}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	u8 := &btf.Int{Name: "unsigned char", Size: 1}
	boolT := &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}
	kind := &btf.Enum{Name: "kh_kind", Size: 4, Values: []btf.EnumValue{{Name: "KH_TRACEPOINT", Value: 1}, {Name: "KH_KPROBE", Value: 2}}}
	inner := &btf.Struct{Name: "", Size: 4, Members: []btf.Member{{Name: "a", Type: u8, Offset: 0}, {Name: "b", Type: u8, Offset: 8}}}
	named := &btf.Struct{Name: "pair", Size: 2, Members: []btf.Member{{Name: "x", Type: u8, Offset: 0}, {Name: "y", Type: s8, Offset: 8}}}
	return &btf.Struct{Name: "event", Size: 48, Members: []btf.Member{
		{Name: "kind", Type: kind, Offset: 0},
		{Name: "pid", Type: &btf.Typedef{Name: "__u32", Type: u32}, Offset: 32},
		{Name: "ret", Type: s32, Offset: 64},
		{Name: "comm", Type: &btf.Array{Index: u32, Type: char, Nelems: 8}, Offset: 96},
		{Name: "ok", Type: boolT, Offset: 160},
		{Name: "flags", Type: u32, Offset: 168, BitfieldSize: 3},
		{Name: "neg", Type: s32, Offset: 171, BitfieldSize: 4},
		{Name: "", Type: inner, Offset: 192},
		{Name: "p", Type: named, Offset: 224},
		{Name: "ptr", Type: &btf.Pointer{Target: u8}, Offset: 256},
		{Name: "raw", Type: &btf.Array{Index: u32, Type: u8, Nelems: 3}, Offset: 320},
		{Name: "f", Type: &btf.Float{Name: "float", Size: 4}, Offset: 352},
	}}
}

func TestDecodeRecord(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the test record is laid out little-endian")
	}
	raw := make([]byte, 48)
	binary.LittleEndian.PutUint32(raw[0:], 2)          // kind
	binary.LittleEndian.PutUint32(raw[4:], 4242)       // pid
	binary.LittleEndian.PutUint32(raw[8:], 0xfffffffe) // ret = -2
	copy(raw[12:], "sh\x00junk")                       // comm
	raw[20] = 1                                        // ok
	raw[21] = 0b1_1011_101                             // flags=5 (3 bits), neg=0b1011=-5 (4 bits)
	raw[24], raw[25] = 7, 9                            // anonymous a, b
	raw[28], raw[29] = 200, 0xff                       // p.x, p.y=-1
	binary.LittleEndian.PutUint64(raw[32:], 0xffff8881deadbeef)
	raw[40], raw[41], raw[42] = 1, 2, 3
	binary.LittleEndian.PutUint32(raw[44:], 0x3fc00000) // 1.5

	d := &recordDecoder{name: "event", typ: eventType(), size: 48}
	v, err := d.decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	f := v.(Fields)
	want := `kind="KH_KPROBE" pid=4242 ret=-2 comm="sh" ok=true flags=5 neg=-5 a=7 b=9 p={x=200 y=-1} ptr="0xffff8881deadbeef" raw=[1 2 3] f=1.5`
	if got := f.String(); got != want {
		t.Errorf("text:\n got %s\nwant %s", got, want)
	}
	js, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"kind":"KH_KPROBE","pid":4242,"ret":-2,"comm":"sh","ok":true,"flags":5,"neg":-5,"a":7,"b":9,"p":{"x":200,"y":-1},"ptr":"0xffff8881deadbeef","raw":[1,2,3],"f":1.5}`
	if string(js) != wantJSON {
		t.Errorf("json:\n got %s\nwant %s", js, wantJSON)
	}
	if _, err := d.decode(raw[:47]); err == nil {
		t.Error("short record: no error")
	}
	// Unknown enum values decode as numbers.
	binary.LittleEndian.PutUint32(raw[0:], 99)
	v, _ = d.decode(raw)
	if got := v.(Fields).Get("kind"); got != uint64(99) {
		t.Errorf("unknown enum value: %#v", got)
	}
}

func TestFindRecordType(t *testing.T) {
	b, err := btf.NewBuilder([]btf.Type{
		eventType(),
		&btf.Struct{Name: "records", Size: 4, Members: []btf.Member{{Name: "n", Type: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}}}},
		&btf.Int{Name: "scalar", Size: 4},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(strings.NewReader(string(blob)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ m, override, want string }{
		{"records", "", "records"}, // named like the map
		{"events", "", "event"},    // the "event" fallback
		{"records", "event", "event"},
		{"x", "scalar", "scalar"}, // an explicit type need not be a struct
	} {
		d, err := findRecordType(spec, c.m, c.override)
		if err != nil || d == nil || d.name != c.want {
			t.Errorf("map %s override %q: %+v %v, want %s", c.m, c.override, d, err, c.want)
		}
	}
	if _, err := findRecordType(spec, "x", "nosuch"); err == nil {
		t.Error("missing explicit type: no error")
	}
	if d, err := findRecordType(nil, "x", ""); d != nil || err != nil {
		t.Error("no BTF: want no decoder and no error")
	}
}

func TestEventFormats(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p, _ := tracefs.ParsePrintk("  sh-7    [001] d..31  12.500000: bpf_trace_printk: hello world")
	cases := []struct {
		e          Event
		text, json string
	}{
		{Event{Kind: EventPrintk, Time: ts, Printk: &p, CPU: 1},
			"printk: sh-7 [001] 12.500000: hello world",
			`{"kind":"printk","time":"2026-01-02T03:04:05Z","task":"sh","pid":7,"cpu":1,"ts":"12.500000","text":"hello world"}`},
		{Event{Kind: EventRecord, Time: ts, Map: "events", MapType: "ringbuf", CPU: -1, Raw: []byte{1, 2}, Type: "event", Data: Fields{{"a", uint64(1)}, {"s", "x"}}},
			`events: a=1 s="x"`,
			`{"kind":"record","time":"2026-01-02T03:04:05Z","map":"events","map_type":"ringbuf","type":"event","data":{"a":1,"s":"x"}}`},
		{Event{Kind: EventRecord, Time: ts, Map: "perf", MapType: "perf", CPU: 0, Raw: []byte{0xab, 0xcd}},
			"perf: 2 bytes: abcd",
			`{"kind":"record","time":"2026-01-02T03:04:05Z","map":"perf","map_type":"perf","cpu":0,"hex":"abcd"}`},
		{Event{Kind: EventLost, Time: ts, Map: "perf", MapType: "perf", CPU: 1, Lost: 3},
			"perf: lost 3 records on cpu 1",
			`{"kind":"lost","time":"2026-01-02T03:04:05Z","map":"perf","map_type":"perf","cpu":1,"lost":3}`},
	}
	for _, c := range cases {
		if got := c.e.String(); got != c.text {
			t.Errorf("text %q, want %q", got, c.text)
		}
		js, err := json.Marshal(c.e)
		if err != nil || string(js) != c.json {
			t.Errorf("json %s %v\nwant %s", js, err, c.json)
		}
	}
	var b strings.Builder
	TextSink(&b).Event(cases[3].e)
	JSONSink(&b).Event(cases[3].e)
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 2 {
		t.Errorf("sinks wrote %q, want two lines", b.String())
	}
}
