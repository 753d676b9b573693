package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

// readmeMarker marks a README.md code block that TestReadme runs.
const readmeMarker = "<!-- readme-test -->"

// readmeBlock is a marked code block of README.md.
type readmeBlock struct {
	line  int    // of the opening fence
	shell string // sh or bash, from the fence's info string
	text  string
}

// readmeBlocks returns the marked blocks of a README: a marker line, then
// (after blank lines) a ```sh or ```bash fence. Unmarked blocks, which
// other sections add freely, are not run.
func readmeBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		marked bool
		cur    *readmeBlock
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur != nil && strings.HasPrefix(line, "```"):
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case strings.TrimSpace(line) == readmeMarker:
			marked = true
		case marked && strings.HasPrefix(line, "```"):
			shell := strings.TrimPrefix(line, "```")
			if shell != "sh" && shell != "bash" {
				t.Fatalf("%s:%d: a marked block must be sh or bash, not %q", path, n, shell)
			}
			cur, marked = &readmeBlock{line: n, shell: shell}, false
		case marked && strings.TrimSpace(line) != "":
			t.Fatalf("%s:%d: %s is not followed by a code block", path, n, readmeMarker)
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: unterminated code block", path, cur.line)
	}
	return blocks
}

// TestReadme runs README.md's marked shell blocks as written (issue 14:
// the README's commands must work when copied into a shell). Each runs
// in its shell with -e (and bash's pipefail where the block sets it), in
// a directory holding the fixtures the examples name: kheaders.tar.xz
// and kheaders.ko (the x86_64 test kernel's) and prog.bpf.c; kh is the
// command built from this tree, first in $PATH, with a fresh tmpfs cache.
func TestReadme(t *testing.T) {
	blocks := readmeBlocks(t, "../../README.md")
	if len(blocks) < 5 {
		t.Fatalf("README.md has %d marked blocks; the examples lost their markers?", len(blocks))
	}
	kt := testkernel(t, "x86_64")
	tk.NeedTool(t, "clang")
	tk.NeedTool(t, "llc")
	bash := tk.NeedTool(t, "bash")
	bin := khBinary(t)
	dir := t.TempDir()
	for name, src := range map[string]string{
		"kheaders.tar.xz": filepath.Join(kt, "kheaders.tar.xz"),
		"kheaders.ko":     filepath.Join(kt, "kheaders.ko"),
		"prog.bpf.c":      tracingTestdata(t, "task.bpf.c"),
		"kh_helpers.h":    tracingTestdata(t, "kh_helpers.h"),
		"sleeps.h":        tracingTestdata(t, "sleeps.h"),
	} {
		if err := os.Symlink(src, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(),
		"PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"),
		"KH_CACHE_DIR="+cacheDir(t),
		"HOME="+t.TempDir(),
	)
	for _, b := range blocks {
		t.Run(strings.ReplaceAll(strings.Fields(b.text)[0]+"@"+strconv.Itoa(b.line), "/", "_"), func(t *testing.T) {
			shell := "sh"
			if b.shell == "bash" {
				shell = bash
			}
			cmd := exec.Command(shell, "-e", "-c", b.text)
			cmd.Dir, cmd.Env = dir, env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("README.md:%d:\n%s\n%v\n%s", b.line, b.text, err, out)
			}
		})
	}
}

// TestReadmeBlocksParse: the extractor finds marked blocks only.
func TestReadmeBlocksParse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "R.md")
	os.WriteFile(p, []byte("# x\n```sh\nnot run\n```\n"+readmeMarker+"\n\n```bash\necho run\n```\n```sh\nnot run either\n```\n"), 0o644)
	b := readmeBlocks(t, p)
	if len(b) != 1 || b[0].text != "echo run\n" || b[0].shell != "bash" || b[0].line != 7 {
		t.Errorf("blocks %+v", b)
	}
}
