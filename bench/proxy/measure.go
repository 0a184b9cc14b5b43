package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// dial connects to addr with a deadline for the whole exchange.
func dial(addr string, timeout time.Duration) (*net.TCPConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	if err := tc.SetDeadline(time.Now().Add(timeout)); err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}

// bulkResult is one bulk transfer: payload bytes per second and the CPU
// time the proxy process used for it.
type bulkResult struct {
	bytesPerSec float64
	proxyCPU    float64 // seconds; 0 for the direct connection
}

// bulk moves n bytes one way: towards the upstream (cmdSink) or from it
// (cmdGen). The time runs from the request to the last byte: for cmdSink
// until the upstream's answer that it read all n bytes.
func bulk(t target, cmd byte, n int64) (bulkResult, error) {
	cpu0, err := proxyCPU(t)
	if err != nil {
		return bulkResult{}, err
	}
	start := time.Now()
	c, err := dial(t.addr, 10*time.Minute)
	if err != nil {
		return bulkResult{}, err
	}
	defer c.Close()
	var hdr [9]byte
	hdr[0] = cmd
	binary.BigEndian.PutUint64(hdr[1:], uint64(n))
	if _, err := c.Write(hdr[:]); err != nil {
		return bulkResult{}, err
	}
	buf := make([]byte, bulkChunk)
	if cmd == cmdSink {
		if err := writeN(c, buf, n); err != nil {
			return bulkResult{}, err
		}
		var ack [1]byte
		if _, err := io.ReadFull(c, ack[:]); err != nil {
			return bulkResult{}, fmt.Errorf("waiting for the upstream's answer: %w", err)
		}
	} else if err := readN(c, buf, n); err != nil {
		return bulkResult{}, err
	}
	elapsed := time.Since(start)
	cpu1, err := proxyCPU(t)
	if err != nil {
		return bulkResult{}, err
	}
	return bulkResult{
		bytesPerSec: float64(n) / elapsed.Seconds(),
		proxyCPU:    cpu1 - cpu0,
	}, nil
}

func proxyCPU(t target) (float64, error) {
	if t.pid == 0 {
		return 0, nil
	}
	return cpuSeconds(t.pid)
}

// latency times n 1-byte request/response round trips on one connection,
// after warmup untimed ones, and returns their p50 and p99.
func latency(t target, n, warmup int) (p50, p99 time.Duration, err error) {
	c, err := dial(t.addr, 5*time.Minute)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if _, err := c.Write([]byte{cmdEcho}); err != nil {
		return 0, 0, err
	}
	req := []byte{'x'}
	var resp [1]byte
	rtts := make([]time.Duration, 0, n)
	for i := 0; i < warmup+n; i++ {
		start := time.Now()
		if _, err := c.Write(req); err != nil {
			return 0, 0, err
		}
		if _, err := io.ReadFull(c, resp[:]); err != nil {
			return 0, 0, err
		}
		if i >= warmup {
			rtts = append(rtts, time.Since(start))
		}
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	return percentile(rtts, 0.50), percentile(rtts, 0.99), nil
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// pingOnce sends the echo command and one byte on c and waits for the byte
// back: the connection is then open end to end, to the upstream.
func pingOnce(c net.Conn) error {
	if _, err := c.Write([]byte{cmdEcho, 'x'}); err != nil {
		return err
	}
	var b [1]byte
	_, err := io.ReadFull(c, b[:])
	return err
}

// idleResult is what holding n idle connections cost the proxy.
type idleResult struct {
	bytesPerConn float64       // RSS growth per connection
	open         time.Duration // to open all n, one after the other
}

// idleMemory opens n connections through the proxy one after the other,
// each open to the upstream (one 1-byte round trip), waits settle, and
// reads the growth of the proxy's RSS per connection. Opening them all must
// take less than budget. It closes them before returning.
func idleMemory(ctx context.Context, t target, up *upstream, n int, settle, budget time.Duration) (idleResult, error) {
	if err := waitIdle(ctx, up); err != nil {
		return idleResult{}, err
	}
	before, err := rssBytes(t.pid)
	if err != nil {
		return idleResult{}, err
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	deadline := start.Add(budget)
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			return idleResult{}, ctx.Err()
		}
		c, err := dial(t.addr, time.Until(deadline))
		if err == nil {
			conns = append(conns, c)
			err = pingOnce(c)
		}
		if err != nil {
			return idleResult{}, fmt.Errorf("connection %d of %d, %.1f s after the first: %w",
				i+1, n, time.Since(start).Seconds(), err)
		}
	}
	res := idleResult{open: time.Since(start)}
	if got := up.active.Load(); got < int64(n) {
		return idleResult{}, fmt.Errorf("%d connections open at the upstream, want %d", got, n)
	}
	select {
	case <-ctx.Done():
		return idleResult{}, ctx.Err()
	case <-time.After(settle):
	}
	after, err := rssBytes(t.pid)
	if err != nil {
		return idleResult{}, err
	}
	res.bytesPerConn = float64(after-before) / float64(n)
	return res, nil
}

// waitIdle waits until the upstream has no connection open.
func waitIdle(ctx context.Context, up *upstream) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return poll(ctx, func() error {
		if a := up.active.Load(); a != 0 {
			return fmt.Errorf("%d connections still open at the upstream", a)
		}
		return nil
	})
}

// connRate opens, uses (one 1-byte round trip) and closes connections from
// workers goroutines for d, and returns the completed connections per second.
func connRate(ctx context.Context, t target, up *upstream, workers int, d time.Duration) (float64, error) {
	if err := waitIdle(ctx, up); err != nil {
		return 0, err
	}
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				c, err := dial(t.addr, 30*time.Second)
				if err == nil {
					err = pingOnce(c)
					c.Close()
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(done.Load()) / elapsed.Seconds(), nil
}
