package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "HOME=/root"}, []string{"HOME=/tmp", "KH_X=1"})
	want := []string{"PATH=/bin", "HOME=/tmp", "KH_X=1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mergeEnv = %q, want %q", got, want)
	}
	if v := getenv(got, "KH_X"); v != "1" {
		t.Errorf("getenv = %q", v)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "prog")
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := lookPath("prog", "/nonexistent:"+dir); err != nil || p != exe {
		t.Errorf("lookPath(prog) = %q, %v", p, err)
	}
	if _, err := lookPath("data", dir); err == nil || !strings.Contains(err.Error(), "not found in PATH="+dir) {
		t.Errorf("lookPath(data) err = %v", err)
	}
	if _, err := lookPath(filepath.Join(dir, "data"), ""); err == nil || !strings.Contains(err.Error(), "not an executable") {
		t.Errorf("lookPath(abs data) err = %v", err)
	}
}
