package shquote

import "testing"

func TestSh(t *testing.T) {
	for in, want := range map[string]string{
		"/run/kh/6.1-abc":       "/run/kh/6.1-abc",
		"-DX=1":                 "-DX=1",
		`-DKBUILD_MODNAME="kh"`: `'-DKBUILD_MODNAME="kh"'`,
		"a b":                   "'a b'",
		"it's":                  `'it'\''s'`,
		"":                      "''",
	} {
		if got := Sh(in); got != want {
			t.Errorf("Sh(%q) = %s, want %s", in, got, want)
		}
	}
	if got := Join([]string{"-I/a b", "-include", "/k.h"}); got != "'-I/a b' -include /k.h" {
		t.Errorf("Join: %s", got)
	}
}

func TestFish(t *testing.T) {
	for in, want := range map[string]string{
		"/run/kh/6.1-abc": "/run/kh/6.1-abc",
		"it's":            `'it\'s'`,
		`a\b`:             `'a\\b'`,
	} {
		if got := Fish(in); got != want {
			t.Errorf("Fish(%q) = %s, want %s", in, got, want)
		}
	}
}
