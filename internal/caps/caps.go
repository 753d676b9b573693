// Package caps reads this process's effective Linux capabilities and says
// whether they allow loading tracing BPF programs; the doctor and the
// loader share it.
//
// It only reads capget(2); it must not raise or drop capabilities.
package caps

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Capability numbers (linux/capability.h).
const (
	SysAdmin = 21
	Syslog   = 34
	Perfmon  = 38
	BPF      = 39
)

// Effective returns the effective capabilities of this process (bit n is
// capability n, as capget(2) reports it).
func Effective() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("capget: %w", err)
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, nil
}

// Has reports whether capability n is in caps.
func Has(caps uint64, n int) bool { return caps&(1<<n) != 0 }

// CanTrace reports whether caps allow loading tracing programs:
// CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON.
func CanTrace(caps uint64) bool {
	return Has(caps, SysAdmin) || (Has(caps, BPF) && Has(caps, Perfmon))
}
