package kconfig

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Prefix is the prefix of every option name in a .config file.
const Prefix = "CONFIG_"

// Name returns the canonical name of an option: name with the CONFIG_
// prefix, added if missing ("KPROBES" and "CONFIG_KPROBES" both give
// "CONFIG_KPROBES").
func Name(name string) string {
	if strings.HasPrefix(name, Prefix) {
		return name
	}
	return Prefix + name
}

// Config is a kernel configuration: the lines of a .config file, in order,
// with an index of its options. The zero value is not usable; get a Config
// from Parse, ParseAutoconf or one of the loaders.
//
// Values are kept exactly as .config writes them: "y" or "m" for bool and
// tristate options, a quoted and escaped string ("\"lz4\""), a number
// verbatim ("250", "0x1000000"). An option that is "not set" (written as
// "# CONFIG_FOO is not set", or absent) has no value: Get reports false.
type Config struct {
	// Source says where the configuration was read from.
	Source Source

	lines   []line
	index   map[string]int // option name -> index in lines (the last one)
	newline bool           // the text ended with a newline
	// fromHeader is set for a configuration read back from autoconf.h,
	// where a bool option set to y and an int option set to 1 look alike.
	fromHeader bool
}

// line is one line of a .config: an option (name set) or anything else.
type line struct {
	text  string
	name  string // "" for comments and blank lines
	value string // "" for "# CONFIG_X is not set"
}

// Option is one option that is set.
type Option struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Parse parses the text of a .config or include/config/auto.conf file.
// Every line must be an option ("CONFIG_FOO=value"), a "# CONFIG_FOO is
// not set" line, another comment or blank; anything else is an error
// naming the line, so that a file which is not a kernel configuration is
// refused rather than read as an empty one. A file with no option at all
// is an error too.
func Parse(data []byte) (*Config, error) {
	c := &Config{index: map[string]int{}}
	if len(data) == 0 {
		return nil, fmt.Errorf("empty file, not a kernel configuration")
	}
	text := string(data)
	c.newline = strings.HasSuffix(text, "\n")
	text = strings.TrimSuffix(text, "\n")
	options := 0
	for i, raw := 0, text; ; i++ {
		l, rest, more := strings.Cut(raw, "\n")
		raw = rest
		ln, err := parseLine(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if ln.name != "" {
			c.index[ln.name] = len(c.lines)
			options++
		}
		c.lines = append(c.lines, ln)
		if !more {
			break
		}
	}
	if options == 0 {
		return nil, fmt.Errorf("no CONFIG_ options, not a kernel configuration")
	}
	return c, nil
}

func parseLine(l string) (line, error) {
	s := strings.TrimSuffix(l, "\r")
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return line{text: l}, nil
	case strings.HasPrefix(t, "#"):
		if rest, ok := strings.CutPrefix(t, "# "+Prefix); ok {
			if name, ok := strings.CutSuffix(rest, " is not set"); ok && validName(name) {
				return line{text: l, name: Prefix + name}, nil
			}
		}
		return line{text: l}, nil
	case strings.HasPrefix(t, Prefix):
		name, value, ok := strings.Cut(t, "=")
		if !ok || !validName(name[len(Prefix):]) {
			return line{}, fmt.Errorf("not a kernel config line: %q", clip(l))
		}
		if err := checkValue(value); err != nil {
			return line{}, fmt.Errorf("%s: %w", name, err)
		}
		return line{text: l, name: name, value: value}, nil
	}
	return line{}, fmt.Errorf("not a kernel config line: %q", clip(l))
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkValue accepts the values .config can hold: a string must be quoted
// with its quotes and backslashes escaped; anything else is one word.
func checkValue(v string) error {
	if v == "" {
		return fmt.Errorf("empty value")
	}
	if v[0] == '"' {
		if _, err := Unquote(v); err != nil {
			return err
		}
		return nil
	}
	if strings.ContainsAny(v, " \t\"\\") {
		return fmt.Errorf("bad value %q", clip(v))
	}
	return nil
}

// Unquote returns the text of a string value as .config writes it: the
// quotes removed and the backslash escapes of '"' and '\' undone.
func Unquote(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", fmt.Errorf("bad string value %q", clip(v))
	}
	var b strings.Builder
	in := v[1 : len(v)-1]
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch c {
		case '\\':
			if i+1 >= len(in) {
				return "", fmt.Errorf("bad string value %q: trailing backslash", clip(v))
			}
			i++
			b.WriteByte(in[i])
		case '"':
			return "", fmt.Errorf("bad string value %q: unescaped quote", clip(v))
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// Quote writes s as a .config string value: quoted, with '"' and '\'
// escaped (scripts/kconfig/confdata.c, escape_string_value).
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// Get returns the value of option name (with or without the CONFIG_
// prefix) as .config writes it, and whether the option is set. An option
// that is absent or "not set" (n) gives "", false.
func (c *Config) Get(name string) (string, bool) {
	i, ok := c.index[Name(name)]
	if !ok || c.lines[i].value == "" {
		return "", false
	}
	return c.lines[i].value, true
}

// Enabled reports whether a bool or tristate option is y or m.
func (c *Config) Enabled(name string) bool {
	v, _ := c.Get(name)
	return v == "y" || v == "m"
}

// String returns the text of a string option, unquoted; ok is false when
// the option is not set or is not a string.
func (c *Config) String(name string) (s string, ok bool) {
	v, set := c.Get(name)
	if !set || !strings.HasPrefix(v, `"`) {
		return "", false
	}
	s, err := Unquote(v)
	return s, err == nil
}

// Options returns the options that are set, in file order (an option
// given twice is listed where it last appears, with its last value).
func (c *Config) Options() []Option {
	var out []Option
	for i, l := range c.lines {
		if l.name != "" && l.value != "" && c.index[l.name] == i {
			out = append(out, Option{l.name, l.value})
		}
	}
	return out
}

// Map returns the options that are set, by name.
func (c *Config) Map() map[string]string {
	m := make(map[string]string, len(c.index))
	for _, o := range c.Options() {
		m[o.Name] = o.Value
	}
	return m
}

// Bytes returns the configuration as .config text. For a configuration
// parsed from text it is that text, byte for byte.
func (c *Config) Bytes() []byte {
	var b bytes.Buffer
	for i, l := range c.lines {
		b.WriteString(l.text)
		if i < len(c.lines)-1 || c.newline {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Heading returns the kernel's description of itself from the comment
// .config starts with ("Linux/x86 6.1.192 Kernel Configuration"), or "".
func (c *Config) Heading() string {
	for i, l := range c.lines {
		if i > 5 || l.name != "" {
			break
		}
		t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l.text), "#"))
		if strings.HasSuffix(t, "Kernel Configuration") {
			return t
		}
	}
	return ""
}

// Change is one difference between two configurations. Old is "" for an
// option only the new one sets, New is "" for one only the old one sets.
type Change struct {
	Name string `json:"name"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// Diff returns the options whose values differ between a and b, sorted
// by name. "Not set" and absent are the same (n). When either
// configuration was read back from an autoconf.h, "y" and "1" compare
// equal, since autoconf.h writes both as 1.
func Diff(a, b *Config) []Change {
	am, bm := a.Map(), b.Map()
	loose := a.fromHeader || b.fromHeader
	same := func(x, y string) bool {
		if x == y {
			return true
		}
		return loose && (x == "y" && y == "1" || x == "1" && y == "y")
	}
	var out []Change
	for n, av := range am {
		if bv, ok := bm[n]; !ok || !same(av, bv) {
			out = append(out, Change{Name: n, Old: av, New: bv})
		}
	}
	for n, bv := range bm {
		if _, ok := am[n]; !ok {
			out = append(out, Change{Name: n, New: bv})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
