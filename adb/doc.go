// Package adb gives kh an Android device's kernel from the workstation,
// through the real adb client (Android's platform tools; $ADB or PATH) the
// user already has: no adb protocol of kh's own, no pty (every transfer
// is `adb exec-out`, `adb push` or `adb shell -T`, so bytes arrive
// unchanged).
//
//	d, err := adb.Open(ctx, adb.Options{})        // -s, $ANDROID_SERIAL or the only device
//	tree, info, err := adb.Fetch(ctx, d, kheaders.Options{})
//	// tree.Path: the device kernel's headers, in the workstation's cache
//
// # The pieces
//
//   - Open selects the device as adb does and fails with a typed error
//     when there is none (*NoDeviceError), several (*SeveralDevicesError)
//     or it is unauthorized or offline (*StateError); ErrNoADB without a
//     client.
//   - Device.Probe asks, in one round trip, for the kernel's release,
//     machine and GNU build ID, the boot, the uid and how to get root
//     (adb root, su 0, su -c), and which header sources exist: the sysfs
//     archive, kheaders module files where kh fetch looks on a device
//     (/system_dlkm, /vendor_dlkm, /vendor, /odm, /lib/modules/RELEASE;
//     flat or under the release; .ko, .ko.xz, .ko.zst, .ko.gz), BTF and
//     /proc/config.gz.
//   - Fetch picks the source as kh fetch does on the device, pulls only
//     that one (one round trip, as root when possible; its size and an end
//     marker checked, and the whole xz stream verified by the extraction;
//     when kh refuses what arrived, the device's SHA-256 tells a damaged
//     transfer, a *TransferError, from a bad file), checks a module's
//     vermagic against the device's release (*VermagicError), and
//     publishes the tree in the host's cache with kheaders.Publish. A
//     hint keyed by the kernel's build ID and the source's stat identity
//     makes the next Fetch for the same device and boot one short round
//     trip.
//   - Device.ReadFile pulls any other file (BTF, configuration) with the
//     device's SHA-256 checked.
//   - Device.Config and Device.BTF read the device's configuration and
//     BTF.
//   - Device.Run pushes a kh for the device (FindKh, CheckKh) and more
//     files to a private directory under /data/local/tmp, runs kh there
//     as root (ErrNoRoot when the device gives none), streams its output,
//     interrupts it when the context ends and always removes the
//     directory.
//
// Nothing here writes on the device except Run's directory.
package adb
