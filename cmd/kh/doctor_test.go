package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
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
