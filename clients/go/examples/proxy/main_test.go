package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/internal/testdaemon"
)

func TestMain(m *testing.M) { os.Exit(testdaemon.Main(m)) }

// build compiles the example as a user would run it.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "proxy")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var (
	baseline  = regexp.MustCompile(`round trip: min ([0-9.]+)ms over 5 \(the link's round trip is 40ms\)`)
	withToxic = regexp.MustCompile(`with toxic latency_downstream \(\+50ms\): min ([0-9.]+)ms over 5`)
	slower    = regexp.MustCompile(`with the reverse delay raised to 40ms: min ([0-9.]+)ms over 5`)
	session   = regexp.MustCompile(`session \d+: application 127\.0\.0\.1:\d+, upstream 127\.0\.0\.1:\d+; the application's endpoint sent (\d+) segments`)
	counters  = regexp.MustCompile(`counters: 1 connection accepted, (\d+) bytes upstream, (\d+) bytes downstream`)
)

func number(t *testing.T, re *regexp.Regexp, out string) float64 {
	t.Helper()
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in the output:\n%s", re, out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The measurement: round trips take at least the link's 40 ms, and the
// latency toxic adds its 50 ms.
func TestMeasure(t *testing.T) {
	addr := testdaemon.Addr(t)
	out, err := exec.Command(build(t), "-target", addr, "-name", fmt.Sprintf("measure-%d", os.Getpid())).CombinedOutput()
	if err != nil {
		t.Fatalf("proxy: %v\n%s", err, out)
	}
	s := string(out)
	if rtt := number(t, baseline, s); rtt < 40 {
		t.Fatalf("round trip %vms over a link of 20ms each way:\n%s", rtt, s)
	}
	if rtt := number(t, withToxic, s); rtt < 90 {
		t.Fatalf("round trip %vms with 50ms more latency:\n%s", rtt, s)
	}
	// 20 ms forward, 40 ms reverse, and the toxic's 50 ms still there.
	if rtt := number(t, slower, s); rtt < 110 {
		t.Fatalf("round trip %vms with the reverse delay raised to 40ms:\n%s", rtt, s)
	}
	if number(t, session, s) == 0 {
		t.Fatalf("no segment sent:\n%s", s)
	}
	// 1 + 5 + 5 + 5 requests of 10 bytes each way.
	m := counters.FindStringSubmatch(s)
	if m == nil || m[1] != "160" || m[2] != "160" {
		t.Fatalf("counters line missing or wrong:\n%s", s)
	}
	if !strings.HasSuffix(s, "deleted\n") {
		t.Fatalf("the proxy was not deleted:\n%s", s)
	}
}

// syncBuffer collects the program's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// In front of a real service the program reports each connection until
// interrupted, then deletes the proxy.
func TestInFrontOfUpstream(t *testing.T) {
	addr := testdaemon.Addr(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				io.Copy(conn, conn)
			}()
		}
	}()

	cmd := exec.Command(build(t), "-target", addr, "-upstream", l.Addr().String(),
		"-name", fmt.Sprintf("front-%d", os.Getpid()), "-delay", "5ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var out syncBuffer
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			lines <- sc.Text()
		}
	}()
	wait := func(re *regexp.Regexp) []string {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("the program ended before printing %q:\n%s\n%s", re, &out, &stderr)
				}
				if m := re.FindStringSubmatch(line); m != nil {
					return m
				}
			case <-deadline:
				t.Fatalf("no %q within 60s:\n%s\n%s", re, &out, &stderr)
			}
		}
	}
	listen := wait(regexp.MustCompile(`listening on (\S+), relaying to`))[1]
	wait(regexp.MustCompile(`watching its connections`))

	conn, err := net.DialTimeout("tcp", listen, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo %q, %v", got, err)
	}
	wait(regexp.MustCompile(`session \d+: connection from ` + regexp.QuoteMeta(conn.LocalAddr().String()) + `$`))
	wait(regexp.MustCompile(`session \d+: application side established$`))
	conn.Close()
	wait(regexp.MustCompile(`session \d+: application side fin_wait_1$`))

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	wait(regexp.MustCompile(`^proxy "front-\d+" deleted$`))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v\n%s\n%s", err, &out, &stderr)
	}
}
