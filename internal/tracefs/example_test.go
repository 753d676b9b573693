package tracefs_test

import (
	"fmt"

	"github.com/khtool/kh/internal/tracefs"
)

func ExampleParsePrintk() {
	p, _ := tracefs.ParsePrintk("            bash-1234    [001] d..31  5678.123456: bpf_trace_printk: hello 42")
	fmt.Println(p.Task, p.PID, p.CPU, p.Text)
	// Output: bash 1234 1 hello 42
}
