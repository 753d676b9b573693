package loader_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/khtool/kh/loader"
)

// Run a BPF object for ten seconds, printing its events as JSON lines.
// (Needs root and a compiled object, so it is not run as a test.)
func ExampleRun() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := loader.Run(ctx, "opensnoop.bpf.o", loader.RunOptions{
		StreamOptions: loader.StreamOptions{Sink: loader.JSONSink(os.Stdout)},
		Duration:      10 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Load, attach and stream step by step, handling events in Go.
func ExampleLoad() {
	ctx := context.Background()
	obj, err := loader.Load(ctx, "trace.bpf.o", loader.LoadOptions{KConfig: "/boot/config-6.1.0"})
	if err != nil {
		log.Fatal(err)
	}
	defer obj.Close() // detaches and unloads everything
	for _, p := range obj.Programs() {
		fmt.Println(p.Name, p.Attach.Kind, p.Attach.Target)
	}
	if err := obj.Attach(ctx); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = obj.Stream(ctx, loader.StreamOptions{Sink: loader.SinkFunc(func(e loader.Event) error {
		if f, ok := e.Data.(loader.Fields); ok {
			fmt.Println("pid", f.Get("pid"))
		}
		return nil
	})})
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleParseSection() {
	for _, sec := range []string{"kprobe/vfs_read+0x10", "tp/syscalls/sys_enter_openat", "uprobe//usr/bin/bash:readline", "xdp"} {
		ap, err := loader.ParseSection(sec)
		if err != nil {
			fmt.Println(sec, "->", "error")
			continue
		}
		fmt.Printf("%s -> %s %s %s %d\n", sec, ap.Kind, ap.Path, ap.Target, ap.Offset)
	}
	// Output:
	// kprobe/vfs_read+0x10 -> kprobe  vfs_read 16
	// tp/syscalls/sys_enter_openat -> tracepoint  syscalls/sys_enter_openat 0
	// uprobe//usr/bin/bash:readline -> uprobe /usr/bin/bash readline 0
	// xdp -> error
}

func ExampleEvent_String() {
	e := loader.Event{Kind: loader.EventRecord, Map: "events", CPU: -1,
		Data: loader.Fields{{Name: "pid", Value: uint64(7)}, {Name: "comm", Value: "sh"}}}
	fmt.Println(e)
	// Output: events: pid=7 comm="sh"
}
