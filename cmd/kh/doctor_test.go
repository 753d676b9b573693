package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/doctor"
	tk "github.com/khtool/kh/internal/testkernel"
)

func TestDoctorCLI(t *testing.T) {
	out, errs, code := kh(t, "doctor", "-o", "json")
	var rep struct {
		Schema int  `json:"schema"`
		OK     bool `json:"ok"`
		Checks []struct {
			Name, Status string
			Essential    bool
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor -o json: %v\n%s", err, out)
	}
	if rep.Schema != 1 || len(rep.Checks) == 0 {
		t.Errorf("schema %d, %d checks", rep.Schema, len(rep.Checks))
	}
	// Exit status 1 exactly when an essential check failed.
	failed := false
	for _, c := range rep.Checks {
		if c.Essential && c.Status == "fail" {
			failed = true
		}
	}
	if failed == rep.OK || (code == 0) != rep.OK || (code != 0 && code != exitFailure) {
		t.Errorf("ok %v, essential failure %v, exit %d (stderr %q)", rep.OK, failed, code, errs)
	}

	text, _, code2 := kh(t, "doctor")
	if code2 != code || !strings.HasPrefix(text, "kh doctor: Linux ") {
		t.Errorf("text: exit %d, output %q", code2, text)
	}
	if _, _, code := kh(t, "doctor", "-o", "xml"); code != exitUsage {
		t.Errorf("-o xml: exit %d", code)
	}
	if _, _, code := kh(t, "doctor", "extra"); code != exitUsage {
		t.Errorf("extra argument: exit %d", code)
	}
	if os.Geteuid() != 0 {
		_, errs, code := kh(t, "doctor", "--fix")
		if code != exitFailure || !strings.Contains(errs, "needs root") {
			t.Errorf("--fix as a user: exit %d, %q", code, errs)
		}
	}
}

// TestDoctorAsUser is issue 14 item 4 on the real system: kh doctor run
// as an unprivileged user reports the refused bpf() as a permission
// denial with the fix to run as root, and no check blames a missing
// kernel feature (CONFIG_BPF_EVENTS) for it.
func TestDoctorAsUser(t *testing.T) {
	tk.NeedRoot(t)
	setpriv := tk.NeedTool(t, "setpriv")
	bin := khBinary(t)
	os.Chmod(filepath.Dir(bin), 0o755)
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin, "doctor", "-o", "json")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
	out, _ := cmd.Output()
	var rep struct {
		Checks []struct{ Name, Status, Value, Fix string } `json:"checks"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("doctor -o json as nobody: %v\n%s", err, out)
	}
	for _, c := range rep.Checks {
		if c.Name == "bpf" && (!strings.HasPrefix(c.Value, doctor.DeniedPermission) || !strings.Contains(c.Fix, "run kh as root")) {
			t.Errorf("bpf as nobody: %q, fix %q", c.Value, c.Fix)
		}
		if strings.Contains(c.Fix, "CONFIG_BPF_EVENTS") {
			t.Errorf("%s blames a kernel feature for a permission failure: %q, fix %q", c.Name, c.Value, c.Fix)
		}
	}
}
