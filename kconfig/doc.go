// Package kconfig reads a Linux kernel's configuration (its .config) from
// every place it hides, compares configurations, and writes the
// configuration as the C header the kernel build makes of it.
//
// Tracing tools need to know how the running kernel was configured: is
// CONFIG_KPROBES on, which CONFIG_ values do BPF programs' __kconfig
// externs and #ifdefs see, and do a set of kernel headers belong to this
// kernel. The configuration can be found in several places:
//
//   - /proc/config.gz, when the kernel has CONFIG_IKCONFIG_PROC;
//   - /boot/config-RELEASE, installed by distributions with the kernel;
//   - the configs module (CONFIG_IKCONFIG=m), read from disk without
//     loading it;
//   - inside any kernel image (vmlinux, bzImage, Image, Image.gz, an
//     Android boot.img...) built with CONFIG_IKCONFIG: the .config,
//     gzip-compressed, between the markers IKCFG_ST and IKCFG_ED, the
//     image itself maybe compressed with any of the kernel's compressors
//     (this is what scripts/extract-ikconfig does; see Extract);
//   - a kernel header or build tree: include/config/auto.conf, or
//     include/generated/autoconf.h read back.
//
// Running finds the running kernel's configuration, Open reads one from a
// file or directory, OpenTree from a header tree. A Config keeps the
// .config text (Bytes returns it unchanged) and answers Get, Enabled and
// String; Diff compares two; Autoconf writes include/generated/autoconf.h
// as scripts/kconfig/confdata.c does.
//
// Values are the .config notation throughout: "y", "m", a quoted string,
// a number. n is "not set": absent from Options and Map, false from Get.
//
// All input is treated as hostile: sizes are capped, decoding stops when
// the configuration is found, and bad input is a one-line error.
package kconfig
