// Command orasget is the baseline of scripts/bench-registry: what a user
// of oras-go (or of the oras CLI, `oras pull --plain-http REF -o DIR`)
// does to get a kernel artifact's files: copy the artifact REF from the
// registry into a directory, each layer written to a file named by its
// title annotation (kheaders.tar.xz, vmlinux.btf, config), with oras-go's
// own digest verification.
//
//	go run ./scripts/orasget HOST:PORT/REPO:TAG DIR
package main

import (
	"context"
	"fmt"
	"os"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/file"
	"oras.land/oras-go/v2/registry/remote"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: orasget HOST:PORT/REPO:TAG DIR")
		os.Exit(2)
	}
	if err := get(context.Background(), os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "orasget:", err)
		os.Exit(1)
	}
}

func get(ctx context.Context, ref, dir string) error {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return err
	}
	repo.PlainHTTP = true
	fs, err := file.New(dir)
	if err != nil {
		return err
	}
	defer fs.Close()
	tag := repo.Reference.Reference
	_, err = oras.Copy(ctx, repo, tag, fs, tag, oras.DefaultCopyOptions)
	return err
}
