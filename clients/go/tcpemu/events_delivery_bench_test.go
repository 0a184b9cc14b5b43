package tcpemu_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/internal/testdaemon"
	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
)

// envInt reads a positive integer from the environment, or def.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s: %q is not a positive integer", name, v)
	}
	return n
}

// BenchmarkEventsDelivery measures how many events a second one EventStream
// consumes (Next and Event for each) when a daemon of its own (2 shards, a
// per-subscriber queue of 4 Mi events, so nothing is dropped) runs bulk
// transfers as fast as it can: TCPEMU_BENCH_NETWORKS VIRTUAL networks (default
// 2) of TCPEMU_BENCH_SESSIONS sessions (default 8), each moving
// TCPEMU_BENCH_MIB MiB (default 16) over a 1 ms, 10 Gbit/s link, written and
// closed before AdvanceTime runs until idle on every network at once. The
// stream watches everything; the time runs from the start of AdvanceTime to
// the last SESSION_DESTROYED. The same setup as bench/event_delivery_bench.cc,
// which measures the daemon alone. One iteration is one whole run; events/s
// is the metric.
func BenchmarkEventsDelivery(b *testing.B) {
	addr := testdaemon.StartFor(b, "--shards", "2", "--event_queue", "4194304")
	ctx := context.Background()
	c, err := tcpemu.Dial(ctx, addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	networks := envInt(b, "TCPEMU_BENCH_NETWORKS", 2)
	sessions := envInt(b, "TCPEMU_BENCH_SESSIONS", 8)
	mib := envInt(b, "TCPEMU_BENCH_MIB", 16)
	batch := envInt(b, "TCPEMU_BENCH_MAX_BATCH", 1024)

	var total, lost int64
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		nets := make([]*tcpemu.Network, 0, networks)
		for i := range networks {
			net, err := c.CreateNetwork(ctx, tcpemu.Virtual(), tcpemu.WithSeed(uint64(i+1)))
			if err != nil {
				b.Fatal(err)
			}
			link, err := net.CreateLink(ctx, tcpemu.WithDelay(time.Millisecond), tcpemu.WithRate(10_000_000_000))
			if err != nil {
				b.Fatal(err)
			}
			for range sessions {
				s, err := c.OpenSession(ctx, link, tcpemu.WithTCP(tcpemu.SendBuffer(64<<20)))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.WriteFill(ctx, int64(mib)<<20); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Close(ctx, tcpemu.EndpointClient); err != nil {
					b.Fatal(err)
				}
			}
			nets = append(nets, net)
		}
		events, err := c.Events(ctx, tcpemu.WithMaxBatch(uint32(batch)))
		if err != nil {
			b.Fatal(err)
		}
		if err := events.WaitSubscribed(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for _, net := range nets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := net.AdvanceUntilIdle(ctx); err != nil {
					b.Error(err)
				}
			}()
		}
		want := networks * sessions // one SESSION_DESTROYED per session
		destroyed := 0
		var n int64
		lost0 := events.Lost()
		for destroyed < want && events.Next() {
			ev := events.Event()
			n++
			if ev.Kind == tcpemu.KindSessionDestroyed {
				destroyed++
			}
		}
		took := time.Since(start)
		b.StopTimer()
		wg.Wait()
		if destroyed < want {
			b.Fatalf("saw %d of %d SESSION_DESTROYED: %v", destroyed, want, events.Err())
		}
		total += n
		lost += int64(events.Lost() - lost0)
		elapsed += took
		events.Close()
		for _, net := range nets {
			if err := net.Delete(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(total)/float64(b.N), "events/op")
	b.ReportMetric(float64(lost)/float64(b.N), "lost/op")
}
