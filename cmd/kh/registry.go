package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/khtool/kh/btf"
	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/kconfig"
	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/registry"
	"github.com/spf13/cobra"
)

// registryFlags connect to a registry: --insecure, --ca-file (also
// KH_REGISTRY_INSECURE=1, KH_REGISTRY_CA_FILE).
type registryFlags struct {
	insecure bool
	caFile   string
}

func (r *registryFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&r.insecure, "insecure", false, "talk plain HTTP, not TLS, to a registry that is not on loopback (also KH_REGISTRY_INSECURE=1; a loopback registry gets plain HTTP when it does not speak TLS)")
	fl.StringVar(&r.caFile, "ca-file", "", "trust the CA certificates of this PEM `FILE` too (also KH_REGISTRY_CA_FILE)")
}

// open opens repository ref with the flags and the environment.
func (r *registryFlags) open(a *app, ref string) (*registry.Repository, error) {
	opts := registry.Options{Insecure: r.insecure, CAFile: r.caFile, Log: a.logger()}
	if !opts.Insecure {
		opts.Insecure = a.getenv("KH_REGISTRY_INSECURE") == "1"
	}
	if opts.CAFile == "" {
		opts.CAFile = a.getenv("KH_REGISTRY_CA_FILE")
	}
	repo, err := registry.Open(ref, opts)
	if err != nil {
		return nil, &usageError{err}
	}
	return repo, nil
}

// remoteFlags are the flags of commands that read a kernel's artifacts
// from a registry: --registry (or KH_REGISTRY) and the kernel to look
// up, the running one's build ID by default.
type remoteFlags struct {
	registryFlags
	ref     string
	buildID string
	release string
	arch    string
}

// add adds --registry, --insecure, --ca-file and, with query, the
// flags that select another kernel (--build-id, --release, --arch).
func (r *remoteFlags) add(cmd *cobra.Command, query bool) {
	r.registryFlags.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&r.ref, "registry", "", "OCI repository `REPO` (HOST[:PORT]/PATH) of kernel artifacts, looked up by the running kernel's build ID when the kernel has no source of its own (also KH_REGISTRY)")
	if !query {
		return
	}
	fl.StringVar(&r.buildID, "build-id", "", "with --registry: the artifact of this kernel build `ID` (hex GNU build ID) instead of the running kernel's")
	fl.StringVar(&r.release, "release", "", "with --registry: the artifact of this kernel `RELEASE` (and --arch) instead of the running kernel's")
	fl.StringVar(&r.arch, "arch", "", "with --release: the kernel's `SRCARCH` (x86, arm64, ...; default this machine's)")
}

// open returns the repository (nil without --registry or KH_REGISTRY)
// and the query for another kernel (zero for the running kernel).
func (r *remoteFlags) open(a *app) (*registry.Repository, registry.Query, error) {
	ref := r.ref
	if ref == "" {
		ref = a.getenv("KH_REGISTRY")
	}
	q := registry.Query{BuildID: r.buildID, Release: r.release, Arch: r.arch}
	switch {
	case q.BuildID != "" && (q.Release != "" || q.Arch != ""):
		return nil, q, usagef("--build-id and --release/--arch are exclusive")
	case q.Arch != "" && q.Release == "":
		return nil, q, usagef("--arch goes with --release")
	case ref == "" && q != (registry.Query{}):
		return nil, q, usagef("--build-id and --release look up a registry: give --registry REPO (or KH_REGISTRY)")
	case ref == "":
		return nil, q, nil
	}
	if q.Release != "" && q.Arch == "" {
		u, err := kernel.Running()
		if err != nil {
			return nil, q, err
		}
		q.Arch = kernel.SrcArch(u.Machine)
	}
	repo, err := r.registryFlags.open(a, ref)
	return repo, q, err
}

// pullLayer returns layer k of the artifact q selects, or of the
// running kernel's build ID when q is zero.
func pullLayer(ctx context.Context, repo *registry.Repository, q registry.Query, k registry.Kind) ([]byte, *registry.Entry, error) {
	if q == (registry.Query{}) {
		id, err := kernel.BuildID("/sys/kernel/notes")
		if err != nil {
			return nil, nil, fmt.Errorf("the running kernel's build ID: %w", err)
		}
		q.BuildID = id
	}
	e, err := repo.Resolve(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	data, err := repo.Fetch(ctx, e, k)
	return data, e, err
}

// pushOptions are the flags and argument of `kh push`.
type pushOptions struct {
	registry                              registryFlags
	repo                                  string
	from, btfFile, configFile, kernelFile string
	release, arch, buildID                string
	without                               string
	replace                               bool
	output                                string
}

// pushCmd is `kh push REPO`.
func (a *app) pushCmd() *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:   "push REPO",
		Short: "Publish a kernel's headers archive, BTF and configuration to an OCI registry, keyed by its build ID",
		Long: `push publishes one OCI artifact per kernel build to the repository REPO
(HOST[:PORT]/PATH): its layers are the kheaders archive (byte for byte as the
kernel built it), the raw BTF and the .config; its annotations say the
release, SRCARCH, GNU build ID and where the archive came from. It is tagged
buildid-ID (what kh fetch --registry looks up) and RELEASE-ARCH (for humans).
Pushing the same artifact again writes nothing; a different artifact under a
build ID that is taken is refused unless --replace.

Without --from, --btf or --config it publishes the running kernel's:
/sys/kernel/kheaders.tar.xz or the kheaders module on disk, ` + btf.KernelPath + `,
its configuration, uname -r and the build ID in /sys/kernel/notes. With them
(a kernel build's CI, next to make), the identity comes from --build-id or
--kernel vmlinux (its .notes section), and --release and --arch default to
what the archive holds. The archive is checked exactly as kh fetch checks it
before anything is sent.

Credentials come from the docker/podman credential files ($REGISTRY_AUTH_FILE,
$XDG_RUNTIME_DIR/containers/auth.json, $DOCKER_CONFIG/config.json,
~/.docker/config.json; credential helpers too) and are never printed.`,
		Example: `  kh push registry.example/kernels/kh
  kh push --from out/kheaders.tar.xz --btf out/vmlinux.btf --config out/.config \
      --kernel out/vmlinux registry.example/kernels/kh
  kh push --btf /sys/kernel/btf/vmlinux --config /proc/config.gz \
      --release "$(uname -r)" --arch x86 --build-id ID localhost:5000/kh`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.repo = args[0]
			return a.runPush(cmd.Context(), &o)
		},
	}
	o.registry.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.from, "from", "", "the kheaders archive (kheaders.tar.xz) or kheaders module (.ko, .ko.xz, .ko.zst, .ko.gz) `FILE`")
	fl.StringVar(&o.btfFile, "btf", "", "the kernel's raw BTF `FILE` (vmlinux.btf, /sys/kernel/btf/vmlinux)")
	fl.StringVar(&o.configFile, "config", "", "the kernel's configuration `FILE` (.config, config.gz, or any image kh config reads)")
	fl.StringVar(&o.kernelFile, "kernel", "", "read the build ID from the .notes section of this ELF kernel image `FILE` (vmlinux)")
	fl.StringVar(&o.release, "release", "", "the kernel's `RELEASE` (uname -r; default: the archive's)")
	fl.StringVar(&o.arch, "arch", "", "the kernel's `SRCARCH` (default: the archive's, or the configuration's)")
	fl.StringVar(&o.buildID, "build-id", "", "the kernel's GNU build `ID` (hex, as in /sys/kernel/notes)")
	fl.StringVar(&o.without, "without", "", "leave out these layers (comma-separated: headers, btf, config)")
	fl.BoolVar(&o.replace, "replace", false, "move the build ID's tag from a different artifact to this one")
	outputFlag(cmd, &o.output)
	return cmd
}

// runPush is `kh push` once its command line is parsed.
func (a *app) runPush(ctx context.Context, o *pushOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	repo, err := o.registry.open(a, o.repo)
	if err != nil {
		return err
	}
	var art *registry.Artifact
	if o.from == "" && o.btfFile == "" && o.configFile == "" {
		if o.release != "" || o.arch != "" || o.buildID != "" || o.kernelFile != "" {
			return usagef("--release, --arch, --build-id and --kernel describe the files given with --from, --btf or --config; without them kh pushes the running kernel's")
		}
		art, err = a.runningArtifact(ctx)
	} else {
		art, err = a.fileArtifact(ctx, o)
	}
	if err != nil {
		return err
	}
	for _, k := range strings.Split(o.without, ",") {
		switch registry.Kind(k) {
		case "":
		case registry.Headers:
			art.Headers = nil
		case registry.BTF:
			art.BTF = nil
		case registry.Config:
			art.Config = nil
		default:
			return usagef("--without %q: want headers, btf or config", k)
		}
	}
	res, err := repo.Push(ctx, art, registry.PushOptions{Replace: o.replace})
	if err != nil {
		return err
	}
	if o.output == "json" {
		return a.printJSON(res)
	}
	what := "pushed"
	if res.Unchanged {
		what = "unchanged"
	}
	_, err = fmt.Fprintf(a.stdout, "%s %s:%s (%s) %s %s, %s, %s\n", what, repo.Ref, res.Tags[0], res.Tags[1], res.Digest, layerList(&res.Entry), humanBytes(res.Size), plural(res.Uploaded, "blob")+" uploaded")
	return err
}

// runningArtifact collects the running kernel's artifacts.
func (a *app) runningArtifact(ctx context.Context) (*registry.Artifact, error) {
	log := a.logger()
	u, err := kernel.Running()
	if err != nil {
		return nil, err
	}
	id, err := kernel.BuildID("/sys/kernel/notes")
	if err != nil {
		return nil, fmt.Errorf("the running kernel's build ID: %w", err)
	}
	art := &registry.Artifact{Identity: registry.Identity{Release: u.Release, Arch: kernel.SrcArch(u.Machine), BuildID: id}}
	arc, err := kheaders.RunningArchive(ctx, kheaders.Options{Log: log})
	var nf *kheaders.NotFoundError
	switch {
	case errors.As(err, &nf):
		log.Warn("the running kernel has no kheaders archive: pushing its BTF and configuration only", "looked", strings.Join(nf.Looked, "; "))
	case err != nil:
		return nil, err
	default:
		if _, err := kheaders.Validate(ctx, arc.Data, kheaders.Limits{}); err != nil {
			return nil, fmt.Errorf("%s: %w", arc.Source.Location, err)
		}
		art.Headers, art.Source = arc.Data, string(arc.Source.Kind)
	}
	if data, err := os.ReadFile(btf.KernelPath); err == nil {
		art.BTF = data
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if cfg, err := kconfig.Running(ctx, kconfig.Options{Logger: log}); err == nil {
		art.Config = cfg.Bytes()
	} else {
		log.Warn("the running kernel's configuration is not readable: not pushed", "err", err)
	}
	if art.Headers == nil && art.BTF == nil {
		return nil, fmt.Errorf("the running kernel %s has neither a kheaders archive nor BTF to publish", u.Release)
	}
	return art, nil
}

// fileArtifact collects the artifacts given as files, and their identity.
func (a *app) fileArtifact(ctx context.Context, o *pushOptions) (*registry.Artifact, error) {
	from, btfFile, configFile, kernelFile := o.from, o.btfFile, o.configFile, o.kernelFile
	release, arch, buildID := o.release, o.arch, o.buildID
	art := &registry.Artifact{}
	switch {
	case buildID != "" && kernelFile != "":
		return nil, usagef("--build-id and --kernel are exclusive")
	case buildID != "":
		art.BuildID = buildID
	case kernelFile != "":
		id, err := kernel.ImageBuildID(kernelFile)
		if err != nil {
			return nil, err
		}
		art.BuildID = id
	default:
		return nil, usagef("give the kernel's build ID: --build-id ID, or --kernel vmlinux")
	}
	art.Release, art.Arch = release, arch
	if from != "" {
		arc, err := kheaders.ReadArchive(from)
		if err != nil {
			return nil, err
		}
		st, err := kheaders.Validate(ctx, arc.Data, kheaders.Limits{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		if arc.Release != "" && arc.Release != st.Release {
			return nil, fmt.Errorf("%s: the module is for %s but its archive holds headers of %s", from, arc.Release, st.Release)
		}
		if art.Release == "" {
			art.Release = st.Release
		} else if art.Release != st.Release {
			return nil, fmt.Errorf("%s holds headers of kernel %s, not --release %s", from, st.Release, art.Release)
		}
		if art.Arch == "" {
			art.Arch = st.Arch
		} else if art.Arch != st.Arch {
			return nil, fmt.Errorf("%s holds headers for arch %s, not --arch %s", from, st.Arch, art.Arch)
		}
		art.Headers, art.Source = arc.Data, string(arc.Source.Kind)
	}
	if btfFile != "" {
		data, err := os.ReadFile(btfFile)
		if err != nil {
			return nil, err
		}
		if _, err := btf.Parse(data); err != nil {
			return nil, fmt.Errorf("%s: %w", btfFile, err)
		}
		art.BTF = data
	}
	if configFile != "" {
		cfg, err := kconfig.Open(ctx, configFile)
		if err != nil {
			return nil, err
		}
		art.Config = cfg.Bytes()
		if art.Arch == "" {
			// "Linux/x86 6.1.192 Kernel Configuration"
			if h, ok := strings.CutPrefix(cfg.Heading(), "Linux/"); ok {
				art.Arch, _, _ = strings.Cut(h, " ")
			}
		}
	}
	if art.Release == "" || art.Arch == "" {
		return nil, usagef("give the kernel's --release and --arch (they are read from --from's archive when there is one)")
	}
	return art, nil
}

func layerList(e *registry.Entry) string {
	var n []string
	for _, l := range e.Layers {
		n = append(n, string(l.Kind))
	}
	return strings.Join(n, "+")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// registryCmd is `kh registry`: commands about a repository.
func (a *app) registryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Inspect an OCI repository of kernel artifacts",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.registryLsCmd())
	return cmd
}

// registryLsOptions are the flags and argument of `kh registry ls`.
type registryLsOptions struct {
	registry registryFlags
	repo     string
	output   string
}

func (a *app) registryLsCmd() *cobra.Command {
	var o registryLsOptions
	cmd := &cobra.Command{
		Use:     "ls REPO",
		Aliases: []string{"list"},
		Short:   "List the kernel artifacts in a repository: release, arch, build ID, layers, size",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.repo = args[0]
			return a.runRegistryLs(cmd.Context(), &o)
		},
	}
	o.registry.add(cmd)
	outputFlag(cmd, &o.output)
	return cmd
}

// runRegistryLs is `kh registry ls` once its command line is parsed.
func (a *app) runRegistryLs(ctx context.Context, o *registryLsOptions) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	repo, err := o.registry.open(a, o.repo)
	if err != nil {
		return err
	}
	list, err := repo.List(ctx)
	if err != nil {
		return err
	}
	if o.output == "json" {
		if list == nil {
			list = []registry.Entry{}
		}
		return a.printJSON(list)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tARCH\tBUILD ID\tLAYERS\tSIZE\tTAGS")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Release, e.Arch, e.BuildID, layerList(&e), humanBytes(e.Size), strings.Join(e.Tags, ","))
	}
	return tw.Flush()
}

// registryAdvice is what to do about a registry error, or "".
func registryAdvice(err error) string {
	var re *registry.Error
	if !errors.As(err, &re) {
		return ""
	}
	var me *registry.MismatchError
	var ce *registry.ConflictError
	switch {
	case errors.Is(err, registry.ErrUnauthorized):
		return "log in with `docker login` or `podman login`, or point REGISTRY_AUTH_FILE (or DOCKER_CONFIG) at the credentials"
	case errors.Is(err, registry.ErrCertificate):
		return "pass --ca-file (or KH_REGISTRY_CA_FILE) with the registry's CA certificate"
	case strings.Contains(err.Error(), "HTTP response to HTTPS client"):
		return "the registry speaks plain HTTP: pass --insecure (or KH_REGISTRY_INSECURE=1) if that is intended"
	case errors.Is(err, registry.ErrUnreachable):
		return "check the registry's address and that it is up"
	case errors.As(err, &me):
		return "the published artifact is wrong: publish the right one with kh push --replace"
	case errors.As(err, &ce):
		return "pass --replace if the published artifact is wrong"
	case errors.Is(err, registry.ErrNotFound):
		return "publish it with kh push (from the kernel's CI, or on a machine running that kernel)"
	}
	return ""
}
