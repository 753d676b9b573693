package tracing_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/khtool/kh/tracing"
)

// Check this machine and print the report as kh doctor does.
func ExampleDoctor() {
	rep, err := tracing.Doctor(context.Background(), tracing.DoctorOptions{})
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
	var checks []tracing.Check
	for _, c := range tracing.DefaultChecks() {
		if c.Name == "btf" || c.Name == "config" {
			checks = append(checks, c)
		}
	}
	checks = append(checks, tracing.Check{
		Name: "clang",
		Probe: func(_ context.Context, env *tracing.Env) tracing.Result {
			if _, err := os.Stat(env.Path("/usr/bin/clang")); err != nil {
				return tracing.Result{Status: tracing.StatusWarn, Value: "not installed", Fix: "apt install clang"}
			}
			return tracing.Result{Status: tracing.StatusOK, Value: "/usr/bin/clang"}
		},
	})
	rep, err := tracing.Doctor(context.Background(), tracing.DoctorOptions{Checks: checks})
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
