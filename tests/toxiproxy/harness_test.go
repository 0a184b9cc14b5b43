// Package toxiproxy_test runs toxiproxy's own Go client package and its
// toxiproxy-cli (github.com/Shopify/toxiproxy/v2, the version go.mod pins)
// against a toxiproxy-compatible HTTP API, and measures each toxic's effect
// on connections through the proxies it creates.
//
// The server under test is given by the environment (test.sh sets it):
//
//	TOXIPROXY_ADDR    host:port of the HTTP API
//	TOXIPROXY_CLI     toxiproxy-cli built from the pinned module
//	TOXIPROXY_TARGET  "tcpemud" or "toxiproxy" (toxiproxy's own server, which
//	                  the same tests must pass against)
//
// Without TOXIPROXY_ADDR every test skips with the reason, except under
// CI=true, where that fails. The tests run one after another: ResetState
// touches every proxy, and timing asserts are lower bounds (or generous upper
// bounds) that hold on a busy two-core machine.
package toxiproxy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

const (
	// ioTimeout bounds any read or write that is expected to complete.
	ioTimeout = 20 * time.Second
	// eventually bounds polling for a state change (a listener opening or
	// closing, a connection being closed).
	eventually = 15 * time.Second
)

var (
	apiAddr    string
	cliPath    string
	target     string
	skipReason string
)

func TestMain(m *testing.M) {
	apiAddr = os.Getenv("TOXIPROXY_ADDR")
	cliPath = os.Getenv("TOXIPROXY_CLI")
	target = os.Getenv("TOXIPROXY_TARGET")
	if apiAddr == "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "FAIL: TOXIPROXY_ADDR is not set; run tests/toxiproxy/test.sh")
			os.Exit(1)
		}
		skipReason = "TOXIPROXY_ADDR is not set: run tests/toxiproxy/test.sh, which starts the server"
		fmt.Fprintf(os.Stderr, "\n*** every test skips: %s ***\n", skipReason)
	}
	os.Exit(m.Run())
}

// newClient returns toxiproxy's client for the server under test, or skips t.
func newClient(t *testing.T) *toxiproxy.Client {
	t.Helper()
	if apiAddr == "" {
		t.Skip(skipReason)
	}
	return toxiproxy.NewClient(apiAddr)
}

// createProxy creates a proxy named name on a free loopback port in front of
// upstream, checks what the server returns, and deletes it when t ends.
func createProxy(t *testing.T, c *toxiproxy.Client, name, upstream string) *toxiproxy.Proxy {
	t.Helper()
	p, err := c.CreateProxy(name, "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatalf("CreateProxy(%q, 127.0.0.1:0, %q): %v", name, upstream, err)
	}
	t.Cleanup(func() {
		if err := p.Delete(); err != nil {
			var apiErr *toxiproxy.ApiError
			// A test that deleted the proxy itself leaves a 404 here.
			if !errors.As(err, &apiErr) || apiErr.Status != 404 {
				t.Errorf("deleting proxy %q: %v", name, err)
			}
		}
	})
	if p.Name != name || p.Upstream != upstream || !p.Enabled {
		t.Fatalf("CreateProxy returned name=%q upstream=%q enabled=%v, want %q %q true",
			p.Name, p.Upstream, p.Enabled, name, upstream)
	}
	checkBoundListen(t, p.Listen)
	return p
}

// checkBoundListen checks that listen is 127.0.0.1 with the port the server
// bound for a requested port 0.
func checkBoundListen(t *testing.T, listen string) {
	t.Helper()
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host != "127.0.0.1" || port == "0" || port == "" {
		t.Fatalf("listen = %q, want 127.0.0.1:<the bound port> for a requested 127.0.0.1:0", listen)
	}
}

// addToxic adds a toxic with toxicity 1 through the Proxy method (whose
// errors wrap *toxiproxy.ApiError) and fails t on an error.
func addToxic(t *testing.T, p *toxiproxy.Proxy, name, typ, stream string, attrs toxiproxy.Attributes) *toxiproxy.Toxic {
	t.Helper()
	toxic, err := p.AddToxic(name, typ, stream, 1, attrs)
	if err != nil {
		t.Fatalf("AddToxic(%q, %q, %q, 1, %v) on %q: %v", name, typ, stream, attrs, p.Name, err)
	}
	return toxic
}

// apiStatus returns the status of the *toxiproxy.ApiError that err wraps, or
// fails t.
func apiStatus(t *testing.T, err error) int {
	t.Helper()
	var apiErr *toxiproxy.ApiError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) wraps no *toxiproxy.ApiError", err, err)
	}
	if apiErr.Message == "" {
		t.Errorf("ApiError with status %d has an empty message", apiErr.Status)
	}
	return apiErr.Status
}

// upstreamServer is a TCP server on a free loopback port that runs handle
// for every connection, which it closes afterwards.
type upstreamServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startUpstream(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &upstreamServer{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				handle(c)
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return ln.Addr().String()
}

// startEcho starts an upstream that echoes what it reads, prefixed once by
// banner, until EOF.
func startEcho(t *testing.T, banner string) string {
	return startUpstream(t, func(c net.Conn) {
		if banner != "" {
			if _, err := io.WriteString(c, banner); err != nil {
				return
			}
		}
		_, _ = io.Copy(c, c)
	})
}

// startSender starts an upstream that writes payload to each connection and
// closes it.
func startSender(t *testing.T, payload []byte) string {
	return startUpstream(t, func(c net.Conn) {
		_, _ = c.Write(payload)
	})
}

// dial connects to addr (a proxy's listen address) and closes the connection
// when t ends.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads back len(msg) bytes, which must equal msg.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write through the proxy: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read %d bytes back through the proxy: %v (got %q)", len(msg), err, got)
	}
	if string(got) != msg {
		t.Fatalf("echo through the proxy = %q, want %q", got, msg)
	}
}

// echoWorks dials addr and checks a round trip through the echo upstream.
func echoWorks(t *testing.T, addr, banner string) {
	t.Helper()
	c := dial(t, addr)
	if banner != "" {
		readExactly(t, c, banner)
	}
	roundTrip(t, c, "ping through "+addr)
	c.Close()
}

// readExactly reads len(want) bytes, which must equal want.
func readExactly(t *testing.T, c net.Conn, want string) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read %q: %v (got %q)", want, err, got)
	}
	if string(got) != want {
		t.Fatalf("read %q, want %q", got, want)
	}
}

// readToEnd reads until EOF or an error other than the deadline, within
// limit; it returns the bytes read and the error that ended the stream (nil
// for EOF). Hitting the deadline fails t.
func readToEnd(t *testing.T, c net.Conn, limit time.Duration) ([]byte, error) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(limit)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection was still open after %v (read %d bytes)", limit, buf.Len())
	}
	return buf.Bytes(), err
}

// isReset reports whether err is a connection reset.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET)
}

// waitUntil polls cond every 50 ms until it holds or eventually passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", eventually, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// refused reports whether a connection to addr is refused.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// pattern returns n bytes that differ from one offset to the next.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// atLeast fails t unless elapsed >= min.
func atLeast(t *testing.T, what string, elapsed, min time.Duration) {
	t.Helper()
	if elapsed < min {
		t.Errorf("%s took %v, want at least %v", what, elapsed, min)
	} else {
		t.Logf("%s took %v (at least %v)", what, elapsed, min)
	}
}

// proxyName is a name unique to this test: the test's name, made of the
// characters a proxy name may have.
func proxyName(t *testing.T, suffix string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, t.Name())
	if suffix != "" {
		name += "." + suffix
	}
	return name
}
