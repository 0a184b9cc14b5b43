package tcpemu_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
)

// BenchmarkEventsIterator measures how many events a second one EventStream
// delivers through Next from a bulk transfer on a virtual network, while
// other goroutines keep the sender's buffer full and advance the clock.
// Every event of the session is watched (all kinds, both endpoints). The
// figure covers the daemon producing and encoding the events as well as the
// client decoding them; events/s is the metric, lost/op the events the
// daemon dropped because the stream fell behind.
//
// TCPEMU_BENCH_STEP sets the virtual time per AdvanceTime call (default
// 50ms).
func BenchmarkEventsIterator(b *testing.B) {
	c := dial(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	step := 50 * time.Millisecond
	if v := os.Getenv("TCPEMU_BENCH_STEP"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("TCPEMU_BENCH_STEP: %v", err)
		}
		step = d
	}

	net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(1))
	if err != nil {
		b.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := net.CreateLink(ctx, tcpemu.WithDelay(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	s, err := c.OpenSession(ctx, link, tcpemu.WithTCP(tcpemu.SendBuffer(4<<20), tcpemu.RecvBuffer(4<<20)))
	if err != nil {
		b.Fatal(err)
	}
	events, err := s.Events(ctx, tcpemu.WithMaxBatch(4096))
	if err != nil {
		b.Fatal(err)
	}
	defer events.Close()
	if !events.Next() { // the replayed SYN: the stream is live
		b.Fatal(events.Err())
	}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the application: keeps the send buffer full
		defer wg.Done()
		for ctx.Err() == nil {
			if _, err := s.WriteFill(ctx, 1<<30, tcpemu.WithWait(time.Hour)); err != nil && ctx.Err() == nil {
				b.Error(err)
				return
			}
		}
	}()
	// seen is the network time of the newest event read. The clock stays at
	// most two steps ahead of it, so that the daemon's queue for the stream
	// (36864 events by default) does not overflow while the reader catches up.
	var seen atomic.Int64
	go func() { // the clock
		defer wg.Done()
		for ctx.Err() == nil {
			res, err := net.Advance(ctx, step)
			if err != nil {
				if ctx.Err() == nil {
					b.Error(err)
				}
				return
			}
			for ctx.Err() == nil && time.Duration(seen.Load()) < res.Now-step {
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()

	lost := events.Lost()
	var kinds [16]int
	b.ResetTimer()
	for range b.N {
		if !events.Next() {
			b.Fatalf("stream ended: %v", events.Err())
		}
		ev := events.Event()
		kinds[ev.Kind&15]++
		seen.Store(int64(ev.Time))
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events.Lost()-lost)/float64(b.N), "lost/op")
	if testing.Verbose() {
		b.Logf("N=%d step=%v kinds sent=%d received=%d lost=%d", b.N, step,
			kinds[tcpemu.KindSegmentSent], kinds[tcpemu.KindSegmentReceived], events.Lost()-lost)
	}
}
