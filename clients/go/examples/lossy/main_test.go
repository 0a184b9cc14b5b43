package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpemu/tcpemu/clients/go/internal/testdaemon"
)

func TestMain(m *testing.M) { os.Exit(testdaemon.Main(m)) }

// build compiles the example as a user would run it.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lossy")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var summary = regexp.MustCompile(`session over after [0-9.]+s: (\d+) retransmissions \((\d+) fast, (\d+) after RTO\), (\d+) segments dropped`)

func runLossy(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-target", testdaemon.Addr(t)}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lossy %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestLossyVirtual(t *testing.T) {
	testdaemon.Addr(t)
	bin := build(t)
	out := runLossy(t, bin)
	m := summary.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "server read 1048576 bytes; SHA-256 matches") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	total, _ := strconv.Atoi(m[1])
	if total == 0 || strings.Count(out, " retransmit_") != total {
		t.Fatalf("%d retransmissions in the summary, %d listed:\n%s", total, strings.Count(out, " retransmit_"), out)
	}
	// The same seed gives the same run.
	if again := runLossy(t, bin); again[strings.Index(again, "\n"):] != out[strings.Index(out, "\n"):] {
		t.Fatalf("two runs with seed 1 differ:\n%s\n---\n%s", out, again)
	}
}

func TestLossyRealtime(t *testing.T) {
	testdaemon.Addr(t)
	out := runLossy(t, build(t), "-realtime", "-bytes", "100000", "-delay", "10ms", "-loss", "0.02")
	if !summary.MatchString(out) || !strings.Contains(out, "server read 100000 bytes; SHA-256 matches") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}
