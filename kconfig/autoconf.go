package kconfig

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Autoconf writes the configuration as include/generated/autoconf.h, the
// way the kernel build does (scripts/kconfig/confdata.c,
// print_symbol_for_c): y becomes "#define CONFIG_FOO 1", m becomes
// "#define CONFIG_FOO_MODULE 1", strings stay quoted and escaped, numbers
// are written verbatim, and options that are not set are left out. The
// heading comment names the kernel as the .config heading does.
//
// The build writes the symbols in the order of its symbol hash table:
// by FNV-1a hash of the name modulo 9973, and within one bucket newest
// symbol first. Autoconf reproduces that order; within a bucket it can
// only assume that symbols were created in .config order, which is not
// always so (a symbol used before it is defined is created early), so two
// options sharing a bucket may come out swapped (a handful per kernel).
// A configuration read from auto.conf or autoconf.h is already in the
// build's order and is written in exactly that order.
//
// One ambiguity cannot be resolved from a .config: a hex option written
// without "0x" gets the prefix from the kernel build, which knows the
// type; here it is written as read.
func (c *Config) Autoconf(w io.Writer) error {
	var b bytes.Buffer
	heading := c.Heading()
	if heading == "" {
		heading = "Linux Kernel Configuration"
	}
	fmt.Fprintf(&b, "/*\n * Automatically generated file; DO NOT EDIT.\n * %s\n */\n", heading)
	for _, o := range hashOrder(c.Options()) {
		switch v := o.Value; v {
		case "y":
			fmt.Fprintf(&b, "#define %s 1\n", o.Name)
		case "m":
			fmt.Fprintf(&b, "#define %s_MODULE 1\n", o.Name)
		default:
			fmt.Fprintf(&b, "#define %s %s\n", o.Name, v)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// AutoconfBytes returns Autoconf's output.
func (c *Config) AutoconfBytes() []byte {
	var b bytes.Buffer
	_ = c.Autoconf(&b) // a bytes.Buffer does not fail
	return b.Bytes()
}

// symbolHashSize and symbolHash are scripts/kconfig's symbol table
// (SYMBOL_HASHSIZE, strhash: 32-bit FNV-1a).
const symbolHashSize = 9973

func symbolHash(name string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 0x01000193
	}
	return h % symbolHashSize
}

// hashOrder sorts options into the kernel's symbol table order.
func hashOrder(opts []Option) []Option {
	type keyed struct {
		Option
		bucket uint32
		pos    int
	}
	ks := make([]keyed, len(opts))
	sorted := true
	for i, o := range opts {
		ks[i] = keyed{o, symbolHash(strings.TrimPrefix(o.Name, Prefix)), i}
		if i > 0 && ks[i].bucket < ks[i-1].bucket {
			sorted = false
		}
	}
	// Already in table order (auto.conf, autoconf.h): keep it. Otherwise
	// the newest symbol of a bucket comes first.
	dir := -1
	if sorted {
		dir = 1
	}
	sort.SliceStable(ks, func(i, j int) bool {
		if ks[i].bucket != ks[j].bucket {
			return ks[i].bucket < ks[j].bucket
		}
		return dir*ks[i].pos < dir*ks[j].pos
	})
	out := make([]Option, len(ks))
	for i, k := range ks {
		out[i] = k.Option
	}
	return out
}

// ParseAutoconf reads include/generated/autoconf.h back into a
// configuration. Comments and blank lines are skipped; every other line
// must be "#define CONFIG_NAME VALUE".
//
// The header loses information, so reading it back is ambiguous in two
// ways, resolved as the kernel's own IS_ENABLED/IS_MODULE macros read it:
// "#define CONFIG_FOO_MODULE 1" is FOO=m (never an option named
// FOO_MODULE set to y), and "#define CONFIG_FOO 1" is FOO=y (an int
// option set to 1 reads as y; Diff treats y and 1 as equal when one side
// came from a header). Options that were n are absent. Strings keep their
// quotes and escapes, as in .config.
func ParseAutoconf(data []byte) (*Config, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("empty file, not an autoconf.h")
	}
	text := stripComments(string(data))
	c := &Config{index: map[string]int{}, newline: true, fromHeader: true}
	if h := autoconfHeading(string(data)); h != "" {
		for _, t := range []string{"#", "# Automatically generated file; DO NOT EDIT.", "# " + h, "#"} {
			c.lines = append(c.lines, line{text: t})
		}
	}
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		f := strings.Fields(t)
		if len(f) < 3 || f[0] != "#define" || !strings.HasPrefix(f[1], Prefix) || !validName(f[1][len(Prefix):]) {
			return nil, fmt.Errorf("line %d: not an autoconf.h line: %q", i+1, clip(l))
		}
		name := f[1]
		value := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(t, "#define")), name))
		if base, ok := strings.CutSuffix(name, "_MODULE"); ok && value == "1" && base != Prefix[:len(Prefix)-1] {
			name, value = base, "m"
		} else if value == "1" {
			value = "y"
		}
		if err := checkValue(value); err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", i+1, name, err)
		}
		c.index[name] = len(c.lines)
		c.lines = append(c.lines, line{text: name + "=" + value, name: name, value: value})
	}
	if len(c.index) == 0 {
		return nil, fmt.Errorf("no #define CONFIG_ lines, not an autoconf.h")
	}
	return c, nil
}

// stripComments removes C comments, keeping line breaks so that line
// numbers stay right.
func stripComments(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "/*")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.Index(s[i+2:], "*/")
		if j < 0 {
			b.WriteString(strings.Repeat("\n", strings.Count(s[i:], "\n")))
			return b.String()
		}
		b.WriteString(strings.Repeat("\n", strings.Count(s[i:i+2+j+2], "\n")))
		s = s[i+2+j+2:]
	}
}

// autoconfHeading finds " * Linux/x86 ... Kernel Configuration" in the
// heading comment, if the header still has it.
func autoconfHeading(s string) string {
	for i, l := range strings.SplitN(s, "\n", 8) {
		if i > 6 {
			break
		}
		t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "*"))
		if strings.HasSuffix(t, "Kernel Configuration") {
			return t
		}
	}
	return ""
}
