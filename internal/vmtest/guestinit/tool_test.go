package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestWatch runs vmtest watch on the host with a shell script standing in
// for a tracing tool: it triggers until the event, interrupts the tool
// (which ignores the first SIGINT, as a Python tool can) and reports the
// tool's status; a missing event fails within the timeout.
func TestWatch(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	flag := filepath.Join(dir, "triggered")
	stopped := filepath.Join(dir, "stopped")
	// Ready at once; prints the event once the trigger ran; exits 0 on
	// the second SIGINT and records it.
	tool := `n=0; trap 'n=$((n+1)); if [ $n -ge 2 ]; then touch ` + stopped + `; exit 0; fi' INT
echo HEADER
while :; do [ -e ` + flag + ` ] && echo "event seen"; sleep 0.1; done`
	if code := tool1("watch", "-ready", "HEADER", "-want", "event seen", "-timeout", "30", "--",
		"sh", "-c", tool, "--trigger", "touch", flag); code != 0 {
		t.Fatalf("watch exited %d", code)
	}
	if _, err := os.Stat(stopped); err != nil {
		t.Errorf("the tool did not get a second SIGINT: %v", err)
	}

	if code := tool1("watch", "-want", "never", "-timeout", "1", "--", "sh", "-c", "echo HEADER; exec sleep 30"); code != 1 {
		t.Errorf("watch without the event exited %d, want 1", code)
	}
}

func tool1(name string, args ...string) int { return tool(name, args) }
