package doctor_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/khtool/kh/doctor"
)

// Check this machine and print the report as kh doctor does.
func ExampleRun() {
	rep, err := doctor.Run(context.Background(), doctor.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rep.WriteText(os.Stdout)
	if !rep.OK {
		fmt.Println("missing:", rep.Failed())
	}
}

// A check list is data: run only some checks, or add your own.
func ExampleDefaultChecks() {
	var checks []doctor.Check
	for _, c := range doctor.DefaultChecks() {
		if c.Name == "btf" || c.Name == "config" {
			checks = append(checks, c)
		}
	}
	checks = append(checks, doctor.Check{
		Name: "clang",
		Probe: func(_ context.Context, env *doctor.Target) doctor.Finding {
			if _, err := os.Stat(env.Path("/usr/bin/clang")); err != nil {
				return doctor.Finding{Status: doctor.StatusWarn, Value: "not installed", Fix: "apt install clang"}
			}
			return doctor.Finding{Status: doctor.StatusOK, Value: "/usr/bin/clang"}
		},
	})
	rep, err := doctor.Run(context.Background(), doctor.Options{Checks: checks})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range rep.Checks {
		fmt.Println(c.Name)
	}
	// Output:
	// btf
	// config
	// clang
}
