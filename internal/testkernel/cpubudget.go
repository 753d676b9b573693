package testkernel

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// CPUBudget returns a context that is cancelled, failing the test with
// "more than d of CPU time: why", once the test process has used d of CPU
// time (user and system, all threads) from now: a hang guard for work that
// must be linear, which a loaded machine does not trip as a wall-clock
// limit would.
func CPUBudget(t testing.TB, d time.Duration, why string) (context.Context, context.CancelFunc) {
	t.Helper()
	used := func() time.Duration {
		var u syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
			t.Error(err)
			return 0
		}
		return time.Duration(u.Utime.Nano() + u.Stime.Nano())
	}
	start := used()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if used()-start > d {
					t.Errorf("more than %v of CPU time: %s", d, why)
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}
