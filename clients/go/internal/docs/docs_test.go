// Package docs runs the programs in docs/go.md against the test daemon, so
// that the documentation cannot drift from the API: every ```go block is a
// whole program taking -target, it must be gofmt-formatted, build and exit 0
// (run in a temporary directory), and an ```output block right after it must
// be exactly what it prints. A program with a "// Needs root" comment line
// (TAP devices) runs only as root with /dev/net/tun, and skips, saying so,
// elsewhere. A program that calls tcpemu.DialSharded gets two replicas of its
// own, as -target host:port,host:port.
package docs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/internal/testdaemon"
)

func TestMain(m *testing.M) { os.Exit(testdaemon.Main(m)) }

type snippet struct {
	heading string
	line    int
	code    string
	output  *string
}

var (
	fence     = regexp.MustCompile("^```(\\w*)\\s*$")
	needsRoot = regexp.MustCompile(`(?m)^\s*// Needs root`)
)

// noRoot says why programs that need root cannot run here ("" if they can).
func noRoot() string {
	if os.Geteuid() != 0 {
		return "needs root (TAP devices, ip addr)"
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return "/dev/net/tun is missing"
	}
	return ""
}

func parse(t *testing.T, path string) []snippet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out     []snippet
		heading string
		lang    string
		start   int
		body    strings.Builder
		inBlock bool
		lastGo  = -1 // index in out of a go block that an output block may follow
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := fence.FindStringSubmatch(line)
		switch {
		case inBlock && line == "```":
			inBlock = false
			switch lang {
			case "go":
				out = append(out, snippet{heading: heading, line: start, code: body.String()})
				lastGo = len(out) - 1
			case "output":
				if lastGo < 0 {
					t.Fatalf("%s:%d: an output block must follow a go block", path, start)
				}
				o := body.String()
				out[lastGo].output = &o
				lastGo = -1
			default:
				lastGo = -1
			}
		case inBlock:
			body.WriteString(line + "\n")
		case m != nil:
			inBlock, lang, start = true, m[1], n
			body.Reset()
		case strings.HasPrefix(line, "#"):
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
			lastGo = -1
		case strings.TrimSpace(line) != "":
			lastGo = -1
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if inBlock {
		t.Fatalf("%s: unclosed code block from line %d", path, start)
	}
	return out
}

func TestDocsGoMd(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(root, "..", "..", "docs", "go.md")
	if _, err := os.Stat(doc); errors.Is(err, fs.ErrNotExist) {
		// The module without its repository (a copy of clients/go alone):
		// the document lives in the repository's docs/.
		why := fmt.Sprintf("%s does not exist: the module is outside the tcpemu repository, whose docs/go.md this test runs", doc)
		fmt.Fprintf(os.Stderr, "\n*** SKIPPING TestDocsGoMd: %s ***\n", why)
		t.Skip("SKIPPING: " + why)
	}
	snippets := parse(t, doc)
	if len(snippets) == 0 {
		t.Fatalf("%s has no go blocks", doc)
	}
	for i, sn := range snippets {
		name := fmt.Sprintf("%d_%s", i+1, sn.heading)
		t.Run(name, func(t *testing.T) {
			if !strings.HasPrefix(sn.code, "package main\n") {
				t.Fatalf("docs/go.md:%d: a go block must be a whole program (package main)", sn.line)
			}
			formatted, err := format.Source([]byte(sn.code))
			if err != nil {
				t.Fatalf("docs/go.md:%d: %v", sn.line, err)
			}
			if !bytes.Equal(formatted, []byte(sn.code)) {
				t.Fatalf("docs/go.md:%d: not gofmt-formatted; formatted:\n%s", sn.line, formatted)
			}
			addr := testdaemon.Addr(t)
			bin := buildSnippet(t, root, i, sn)
			if why := noRoot(); why != "" && needsRoot.MatchString(sn.code) {
				fmt.Fprintf(os.Stderr, "\n*** SKIPPING docs/go.md:%d: %s ***\n", sn.line, why)
				t.Skipf("SKIPPING docs/go.md:%d: %s", sn.line, why)
			}
			if strings.Contains(sn.code, "tcpemu.DialSharded(") {
				addr = strings.Join(testdaemon.Replicas(t, 2), ",")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-target", addr)
			cmd.Dir = t.TempDir() // for the files a program writes
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("docs/go.md:%d: %v\nstdout:\n%s\nstderr:\n%s", sn.line, err, &stdout, &stderr)
			}
			if sn.output != nil && stdout.String() != *sn.output {
				t.Fatalf("docs/go.md:%d: the program printed\n%s\nthe doc says\n%s", sn.line, &stdout, *sn.output)
			}
		})
	}
}

// buildSnippet compiles the program as a package inside this module, through
// an overlay, so that it imports this module's packages without touching the
// source tree.
func buildSnippet(t *testing.T, root string, i int, sn snippet) string {
	t.Helper()
	tmp := t.TempDir()
	src := filepath.Join(tmp, "main.go")
	if err := os.WriteFile(src, []byte(sn.code), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(root, "internal", "docs", fmt.Sprintf("snippet%d", i+1))
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(pkg, "main.go"): src},
	})
	if err != nil {
		t.Fatal(err)
	}
	ov := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(tmp, "snippet")
	cmd := exec.Command("go", "build", "-overlay", ov, "-o", bin, "./"+filepath.ToSlash(mustRel(t, root, pkg)))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docs/go.md:%d does not build: %v\n%s", sn.line, err, out)
	}
	return bin
}

func mustRel(t *testing.T, base, target string) string {
	t.Helper()
	rel, err := filepath.Rel(base, target)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}
