package tcpemuv1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// protocVersionLine is the header comment naming protoc's version, which the
// generated code does not depend on; the plugin versions are pinned and
// compared.
var protocVersionLine = regexp.MustCompile(`(?m)^// [-\t ]*protoc +v[0-9.]+\n`)

func TestGeneratedCodeIsFresh(t *testing.T) {
	script, err := filepath.Abs("../../../generate.sh")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("bash", script, out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if os.Getenv("CI") != "true" && strings.Contains(msg, "not found") {
			t.Skipf("cannot regenerate: %s", msg)
		}
		t.Fatalf("generate.sh %s: %v\n%s", out, err, msg)
	}
	for _, name := range []string{"tcpemu.pb.go", "tcpemu_grpc.pb.go"} {
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := os.ReadFile(filepath.Join(out, "gen", "tcpemu", "v1", name))
		if err != nil {
			t.Fatalf("regenerated %s missing: %v", name, err)
		}
		a := protocVersionLine.ReplaceAll(committed, nil)
		b := protocVersionLine.ReplaceAll(fresh, nil)
		if !bytes.Equal(a, b) {
			t.Errorf("gen/tcpemu/v1/%s is stale: run `go generate ./gen/...` "+
				"in clients/go and commit the result (first difference at line %d)",
				name, firstDiffLine(a, b))
		}
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
