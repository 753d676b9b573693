package kconfig

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// FuzzScan feeds arbitrary bytes to the image scanner: it must return a
// configuration or an error, never panic, and stay within its limits.
// The seed corpus is in testdata/fuzz/FuzzScan.
func FuzzScan(f *testing.F) {
	f.Add([]byte("IKCFG_ST\x1f\x8b\x08\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cfg, where, err := Extract(ctx, data)
		if err == nil && (where == "" || len(cfg) > MaxConfigSize) {
			t.Fatalf("found %d bytes at %q", len(cfg), where)
		}
		if err != nil && bytes.ContainsRune([]byte(err.Error()), '\n') {
			t.Fatalf("multi-line error %q", err)
		}
		// What Load makes of it must not panic either.
		if c, err := Load(ctx, data); err == nil {
			_ = c.Bytes()
			_ = c.AutoconfBytes()
		}
	})
}

// FuzzParse checks that the .config parser never panics, that what it
// accepts round-trips byte for byte, and that autoconf.h written from it
// reads back as the same configuration.
func FuzzParse(f *testing.F) {
	f.Add([]byte("#\n# Linux/x86 6.1.0 Kernel Configuration\n#\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_S=\"a\\\"b\\\\\"\nCONFIG_H=0x10\n"))
	f.Add([]byte("CONFIG_X=1\r\nCONFIG_X_MODULE=y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Bytes(), data) {
			t.Fatalf("round trip: %q -> %q", data, c.Bytes())
		}
		for _, o := range c.Options() {
			if v, ok := c.Get(o.Name); !ok || v != o.Value {
				t.Fatalf("Get(%s) = %q, %v; Options says %q", o.Name, v, ok, o.Value)
			}
		}
		if _, err := ParseAutoconf(c.AutoconfBytes()); err != nil && len(c.Options()) > 0 {
			t.Fatalf("autoconf.h of %q does not parse: %v", data, err)
		}
		_, _ = ParseAutoconf(data)
	})
}
