// Package testdaemon runs a tcpemud for a package's tests. TestMain calls
// Main; each test calls Addr. The binary is $TCPEMUD, or build/server/tcpemud
// of the repository (../../build/server/tcpemud from the module root). A
// $TCPEMUD that is not an executable, or a daemon that does not start, fails
// the package; when $TCPEMUD is unset and the default path has no binary
// (the module alone, or no build yet), the tests that need a daemon skip with
// the reason, except under CI=true, where that fails too.
package testdaemon

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	addr       string
	skipReason string
)

// Main starts the daemon, runs the tests and stops the daemon, checking that
// it exits 0 on SIGTERM. A $TCPEMUD that names no executable fails, and so
// does a missing binary under CI=true; a missing binary at the default path
// otherwise lets each test that needs the daemon skip with the reason. Use it
// as
//
//	func TestMain(m *testing.M) { os.Exit(testdaemon.Main(m)) }
func Main(m *testing.M) int {
	bin, err := Binary()
	if err != nil {
		if os.Getenv("TCPEMUD") != "" {
			fmt.Fprintf(os.Stderr, "FAIL: $TCPEMUD is given but cannot be run: %v\n", err)
			return 1
		}
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "FAIL: no tcpemud to test against: %v\n", err)
			return 1
		}
		skipReason = fmt.Sprintf("no tcpemud to test against (%v); build it or set TCPEMUD", err)
		fmt.Fprintf(os.Stderr, "\n*** testdaemon: the tests that need the daemon skip: %s ***\n", skipReason)
		return m.Run()
	}
	d, err := Start(bin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	addr = d.Addr
	code := m.Run()
	if err := d.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Addr returns the test daemon's host:port, or skips t.
func Addr(t testing.TB) string {
	t.Helper()
	if addr == "" {
		t.Skip(skipReason)
	}
	return addr
}

// Replicas starts n more daemons of their own for t, independent replicas
// (one shard each), and returns their host:port; each is stopped, and must
// exit 0, when t ends. It skips t as Addr does.
func Replicas(t testing.TB, n int) []string {
	t.Helper()
	if addr == "" {
		t.Skip(skipReason)
	}
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	addrs := make([]string, 0, n)
	for range n {
		d, err := Start(bin, "--shards", "1")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := d.Stop(); err != nil {
				t.Error(err)
			}
		})
		addrs = append(addrs, d.Addr)
	}
	return addrs
}

// StartFor starts a daemon of t's own with these extra flags (one shard) and
// returns its host:port; it is stopped, and must exit 0, when t ends. It
// skips t as Addr does.
func StartFor(t testing.TB, flags ...string) string {
	t.Helper()
	if addr == "" {
		t.Skip(skipReason)
	}
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Start(bin, append([]string{"--shards", "1"}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
	})
	return d.Addr
}

// Binary returns the tcpemud to run: $TCPEMUD if set (relative paths are
// taken from the module root), else build/server/tcpemud of the repository.
func Binary() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := os.Getenv("TCPEMUD")
	from := "TCPEMUD"
	if bin == "" {
		bin = filepath.Join("..", "..", "build", "server", "tcpemud")
		from = "default path"
	}
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(root, bin)
	}
	st, err := os.Stat(bin)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", from, bin, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s %s is not an executable file", from, bin)
	}
	return bin, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Daemon is a running tcpemud.
type Daemon struct {
	Addr   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan error
}

var servingLine = regexp.MustCompile(`serving gRPC on port (\d+)`)

// Start runs bin on a free loopback port (the daemon binds port 0 and
// reports the port) with metrics off and two shards, and waits until it
// serves.
func Start(bin string, extraArgs ...string) (*Daemon, error) {
	args := append([]string{"--listen", "127.0.0.1:0", "--metrics_listen", "", "--shards", "2"}, extraArgs...)
	cmd := exec.Command(bin, args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	d := &Daemon{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	port := make(chan string, 1)
	go func() {
		r := bufio.NewReader(pipe)
		for {
			line, err := r.ReadString('\n')
			d.stderr.WriteString(line)
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case port <- m[1]:
				default:
				}
			}
			if err != nil {
				break
			}
		}
		d.exited <- cmd.Wait()
	}()
	select {
	case p := <-port:
		d.Addr = "127.0.0.1:" + p
		return d, nil
	case err := <-d.exited:
		return nil, fmt.Errorf("%s exited before serving: %v\n%s", bin, err, d.stderr)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-d.exited
		return nil, fmt.Errorf("%s did not report its port within 20s\n%s", bin, d.stderr)
	}
}

// Stop sends SIGTERM and waits; the daemon must exit 0 within 15 s.
func (d *Daemon) Stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("tcpemud: SIGTERM: %w", err)
	}
	select {
	case err := <-d.exited:
		if err != nil {
			return fmt.Errorf("tcpemud exited with %v after SIGTERM; its log:\n%s", err, d.stderr)
		}
		return nil
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("tcpemud did not exit within 15s of SIGTERM; its log:\n%s", d.stderr)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(s.b.String())
}
