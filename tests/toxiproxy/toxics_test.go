package toxiproxy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

const httpBody = "hello from the upstream HTTP server\n"

// startHTTP starts an HTTP upstream that answers every request with httpBody.
func startHTTP(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, httpBody)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// timedGet makes a GET on a new connection through the proxy at listen and
// returns how long it took from the dial to the whole body.
func timedGet(t *testing.T, listen string) time.Duration {
	t.Helper()
	hc := &http.Client{
		Timeout:   ioTimeout,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
	start := time.Now()
	resp, err := hc.Get("http://" + listen + "/")
	if err != nil {
		t.Fatalf("GET through the proxy: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != httpBody {
		t.Fatalf("GET through the proxy: HTTP %d %q (%v), want 200 %q", resp.StatusCode, body, err, httpBody)
	}
	return elapsed
}

// timedRoundTrip dials listen and times the dial and one echo round trip.
func timedRoundTrip(t *testing.T, listen string) time.Duration {
	t.Helper()
	start := time.Now()
	c := dial(t, listen)
	roundTrip(t, c, "timed round trip")
	elapsed := time.Since(start)
	c.Close()
	return elapsed
}

func TestLatencyToxic(t *testing.T) {
	c := newClient(t)
	p := createProxy(t, c, proxyName(t, ""), startHTTP(t))
	t.Logf("GET with no toxic: %v", timedGet(t, p.Listen))

	addToxic(t, p, "", "latency", "", toxiproxy.Attributes{"latency": 300})
	atLeast(t, "GET with 300 ms downstream latency", timedGet(t, p.Listen), 300*time.Millisecond)

	addToxic(t, p, "", "latency", "upstream", toxiproxy.Attributes{"latency": 200})
	atLeast(t, "GET with 300 ms downstream and 200 ms upstream latency", timedGet(t, p.Listen), 500*time.Millisecond)

	if _, err := p.UpdateToxic("latency_downstream", -1, toxiproxy.Attributes{"latency": 700}); err != nil {
		t.Fatalf("UpdateToxic: %v", err)
	}
	atLeast(t, "GET with 700 ms downstream and 200 ms upstream latency", timedGet(t, p.Listen), 900*time.Millisecond)

	if err := p.RemoveToxic("latency_upstream"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpdateToxic("latency_downstream", -1, toxiproxy.Attributes{"latency": 400, "jitter": 100}); err != nil {
		t.Fatalf("UpdateToxic: %v", err)
	}
	atLeast(t, "GET with 400 ms ± 100 ms downstream latency", timedGet(t, p.Listen), 300*time.Millisecond)
	if err := p.RemoveToxic("latency_downstream"); err != nil {
		t.Fatal(err)
	}
	t.Logf("GET after removing the toxics: %v", timedGet(t, p.Listen))
}

// TestLatencyToxicOnOpenConnection: a toxic added while a connection is open
// acts on that connection.
func TestLatencyToxicOnOpenConnection(t *testing.T) {
	c := newClient(t)
	p := createProxy(t, c, proxyName(t, ""), startEcho(t, ""))
	conn := dial(t, p.Listen)
	roundTrip(t, conn, "before the toxic")

	addToxic(t, p, "", "latency", "", toxiproxy.Attributes{"latency": 400})
	start := time.Now()
	roundTrip(t, conn, "after the toxic")
	atLeast(t, "a round trip on a connection opened before the 400 ms latency toxic", time.Since(start), 400*time.Millisecond)
}

func TestToxicityZero(t *testing.T) {
	c := newClient(t)
	p := createProxy(t, c, proxyName(t, ""), startEcho(t, ""))
	if _, err := p.AddToxic("never", "latency", "downstream", 0, toxiproxy.Attributes{"latency": 8000}); err != nil {
		t.Fatalf("AddToxic with toxicity 0: %v", err)
	}
	for i := 0; i < 3; i++ {
		if elapsed := timedRoundTrip(t, p.Listen); elapsed > 6*time.Second {
			t.Errorf("round trip %d with an 8 s latency toxic of toxicity 0 took %v", i, elapsed)
		}
	}
	// Toxicity 1 on the same toxic: every new connection gets it.
	if _, err := p.UpdateToxic("never", 1, toxiproxy.Attributes{"latency": 300}); err != nil {
		t.Fatal(err)
	}
	atLeast(t, "a round trip once toxicity is 1", timedRoundTrip(t, p.Listen), 300*time.Millisecond)
}

func TestBandwidthToxic(t *testing.T) {
	c := newClient(t)
	payload := pattern(128 * 1024)
	p := createProxy(t, c, proxyName(t, "down"), startSender(t, payload))
	// 50 KB/s: 131072 bytes take about 2.6 s.
	addToxic(t, p, "", "bandwidth", "", toxiproxy.Attributes{"rate": 50})
	start := time.Now()
	conn := dial(t, p.Listen)
	got, err := readToEnd(t, conn, 60*time.Second)
	elapsed := time.Since(start)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read %d of %d bytes (%v), intact=%v", len(got), len(payload), err, bytes.Equal(got, payload))
	}
	atLeast(t, "128 KiB downstream at 50 KB/s", elapsed, 1500*time.Millisecond)

	// Upstream: 64 KiB echoed back, the upstream direction at 32 KB/s.
	q := createProxy(t, c, proxyName(t, "up"), startEcho(t, ""))
	addToxic(t, q, "", "bandwidth", "upstream", toxiproxy.Attributes{"rate": 32})
	data := pattern(64 * 1024)
	start = time.Now()
	conn = dial(t, q.Listen)
	if err := conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		t.Fatal(err)
	}
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(data)
		werr <- err
	}()
	back := make([]byte, len(data))
	if _, err := io.ReadFull(conn, back); err != nil || !bytes.Equal(back, data) {
		t.Fatalf("echo of 64 KiB through the upstream bandwidth toxic: %v, intact=%v", err, bytes.Equal(back, data))
	}
	elapsed = time.Since(start)
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	atLeast(t, "64 KiB upstream at 32 KB/s", elapsed, 1200*time.Millisecond)
}

func TestSlowCloseToxic(t *testing.T) {
	c := newClient(t)
	p := createProxy(t, c, proxyName(t, ""), startSender(t, []byte("goodbye")))
	addToxic(t, p, "", "slow_close", "", toxiproxy.Attributes{"delay": 1200})
	start := time.Now()
	conn := dial(t, p.Listen)
	got, err := readToEnd(t, conn, 30*time.Second)
	elapsed := time.Since(start)
	if err != nil || string(got) != "goodbye" {
		t.Fatalf("read %q (%v), want \"goodbye\" then EOF", got, err)
	}
	atLeast(t, "EOF after the upstream's close with a 1200 ms slow_close", elapsed, 1200*time.Millisecond)
}

func TestTimeoutToxic(t *testing.T) {
	c := newClient(t)
	p := createProxy(t, c, proxyName(t, ""), startEcho(t, ""))

	// timeout 0: a black hole, the connection stays open.
	addToxic(t, p, "hole", "timeout", "", toxiproxy.Attributes{"timeout": 0})
	conn := dial(t, p.Listen)
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "into the hole"); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read through a timeout 0 toxic: %q, %v; want nothing and the connection open until the deadline", buf[:n], err)
	}
	conn.Close()

	// timeout 800: no data, the connection closes after the timeout.
	if _, err := p.UpdateToxic("hole", -1, toxiproxy.Attributes{"timeout": 800}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	conn = dial(t, p.Listen)
	if err := conn.SetWriteDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "into the hole"); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err := readToEnd(t, conn, 30*time.Second)
	elapsed := time.Since(start)
	if len(got) != 0 {
		t.Errorf("read %q through a timeout toxic, want nothing", got)
	}
	t.Logf("the connection ended with %v", err)
	atLeast(t, "the close of a connection with an 800 ms timeout toxic", elapsed, 800*time.Millisecond)

	// Removed: new connections relay again.
	if err := p.RemoveToxic("hole"); err != nil {
		t.Fatal(err)
	}
	echoWorks(t, p.Listen, "")
}

func TestResetPeerToxic(t *testing.T) {
	c := newClient(t)
	p := createProxy(t, c, proxyName(t, ""), startEcho(t, ""))

	addToxic(t, p, "", "reset_peer", "", toxiproxy.Attributes{"timeout": 0})
	if err := writeAndExpectReset(t, p.Listen); err != nil {
		t.Errorf("reset_peer (timeout 0): %v", err)
	}

	if _, err := p.UpdateToxic("reset_peer_downstream", -1, toxiproxy.Attributes{"timeout": 700}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := writeAndExpectReset(t, p.Listen); err != nil {
		t.Errorf("reset_peer (timeout 700): %v", err)
	}
	atLeast(t, "the reset with a 700 ms reset_peer", time.Since(start), 700*time.Millisecond)
}

// writeAndExpectReset dials listen, writes a request to the echo upstream and
// reads until the connection ends, which must be a reset. It may be seen by
// the dial, by the write or by a read, whichever comes after it (the kernel
// reports it once): toxiproxy resets when the upstream's answer reaches the
// toxic, tcpemud (docs/proxy.md) `timeout` after the connection opened, which
// for 0 can be before the dial has returned.
func writeAndExpectReset(t *testing.T, listen string) error {
	t.Helper()
	conn, err := net.DialTimeout("tcp", listen, ioTimeout)
	if err != nil {
		if isReset(err) {
			return nil
		}
		return fmt.Errorf("dial: %v, want success or connection reset by peer", err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetWriteDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "ping"); err != nil {
		if isReset(err) {
			return nil
		}
		return fmt.Errorf("write: %v, want success or connection reset by peer", err)
	}
	got, err := readToEnd(t, conn, ioTimeout)
	if !isReset(err) {
		return fmt.Errorf("read %q then %v, want connection reset by peer", got, err)
	}
	return nil
}

func TestLimitDataToxic(t *testing.T) {
	c := newClient(t)
	payload := pattern(10000)
	p := createProxy(t, c, proxyName(t, ""), startSender(t, payload))
	addToxic(t, p, "", "limit_data", "", toxiproxy.Attributes{"bytes": 1000})
	conn := dial(t, p.Listen)
	got, err := readToEnd(t, conn, 30*time.Second)
	if err != nil {
		t.Errorf("the stream after limit_data ended with %v, want EOF", err)
	}
	if !bytes.Equal(got, payload[:1000]) {
		t.Errorf("read %d bytes through limit_data 1000 (a prefix: %v), want exactly the first 1000",
			len(got), bytes.HasPrefix(payload, got))
	}
}

func TestSlicerToxic(t *testing.T) {
	c := newClient(t)
	p := createProxy(t, c, proxyName(t, ""), startEcho(t, ""))
	slicer := toxiproxy.Attributes{"average_size": 64, "size_variation": 16, "delay": 10}
	addToxic(t, p, "", "slicer", "downstream", slicer)
	addToxic(t, p, "", "slicer", "upstream", slicer)
	data := pattern(256 * 1024)
	conn := dial(t, p.Listen)
	if err := conn.SetDeadline(time.Now().Add(120 * time.Second)); err != nil {
		t.Fatal(err)
	}
	werr := make(chan error, 1)
	go func() {
		_, err := conn.Write(data)
		werr <- err
	}()
	got := make([]byte, len(data))
	if n, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("256 KiB echoed through slicers both ways: read %d bytes (%v), intact=%v", n, err, bytes.Equal(got, data))
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}
