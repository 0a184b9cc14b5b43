// Command proxybench measures tcpemud's proxies beside toxiproxy's own
// server in the same run: bulk throughput, the latency a lossless proxy adds
// to a 1-byte request/response, memory per idle proxied connection and
// connections per second. Every proxy leads to the same upstream server, run
// by this program, which is also reached directly as the baseline.
//
// Each repetition starts a fresh toxiproxy-server and tcpemud for the memory
// measurement alone, then fresh ones again for the others; the report gives
// the median of the repetitions and every repetition's value, tcpemu's
// ratios to toxiproxy and whether the goals were met. With --perf_record it
// instead profiles one proxy process during one bulk transfer.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

type options struct {
	servers      serverConfig
	repetitions  int
	bulkBytes    int64
	roundTrips   int
	warmup       int
	idleConns    int
	idleSettle   time.Duration
	idleBudget   time.Duration
	connDuration time.Duration
	connWorkers  int
	profile      profileOptions
}

func parseFlags() options {
	var o options
	var bigBuffer, bigRelay, jumboMTU uint
	flag.StringVar(&o.servers.toxiproxyServer, "toxiproxy_server", "", "toxiproxy-server binary (required)")
	flag.StringVar(&o.servers.tcpemud, "tcpemud", "", "tcpemud binary (required)")
	flag.StringVar(&o.servers.logDir, "log_dir", os.TempDir(), "directory for the servers' output")
	flag.UintVar(&bigBuffer, "big_buffer", 4<<20, "send and receive buffer of both engine endpoints of the tcpemu-big proxy, bytes")
	flag.UintVar(&bigRelay, "big_relay_buffer", 0, "relay buffer of the tcpemu-big proxy, bytes (0: the daemon's default)")
	flag.UintVar(&jumboMTU, "jumbo_mtu", 9000, "MTU of the tcpemu-jumbo proxy's link and endpoints (its buffers: --big_buffer)")
	flag.IntVar(&o.repetitions, "repetitions", 3, "repetitions of every measurement, each with fresh servers")
	flag.Int64Var(&o.bulkBytes, "bulk_bytes", 1<<30, "bytes of each bulk transfer")
	flag.IntVar(&o.roundTrips, "round_trips", 20000, "timed 1-byte round trips per latency measurement")
	flag.IntVar(&o.warmup, "warmup", 1000, "untimed round trips before them")
	flag.IntVar(&o.idleConns, "idle_conns", 2000, "idle connections held open for the memory measurement")
	flag.DurationVar(&o.idleSettle, "idle_settle", 2*time.Second, "wait after opening them before reading RSS")
	flag.DurationVar(&o.idleBudget, "idle_budget", 2*time.Minute, "longest time opening the idle connections may take")
	flag.DurationVar(&o.connDuration, "conn_duration", 3*time.Second, "length of each connections-per-second measurement")
	flag.IntVar(&o.connWorkers, "conn_workers", 4, "parallel clients of the connections-per-second measurement")
	flag.StringVar(&o.profile.out, "perf_record", "", "instead of the measurements: record a perf profile of one proxy process during one bulk transfer of --bulk_bytes, into this file")
	flag.StringVar(&o.profile.target, "perf_target", nameTcpemu, "proxy whose process --perf_record profiles: "+nameToxiproxy+", "+nameTcpemu+", "+nameTcpemuBig+" or "+nameJumbo)
	flag.StringVar(&o.profile.direction, "perf_direction", "up", "direction of the profiled transfer: up (application -> upstream) or down")
	flag.StringVar(&o.profile.flags, "perf_flags", "-g", "perf record flags of --perf_record, space-separated")
	flag.Parse()
	if o.servers.toxiproxyServer == "" || o.servers.tcpemud == "" {
		fmt.Fprintln(os.Stderr, "proxybench: --toxiproxy_server and --tcpemud are required")
		flag.Usage()
		os.Exit(2)
	}
	o.servers.bigBuffer = uint32(bigBuffer)
	o.servers.bigRelayBuffer = uint32(bigRelay)
	o.servers.jumboMTU = uint32(jumboMTU)
	return o
}

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("proxybench: ")
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func toxiproxyVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/Shopify/toxiproxy/v2" {
				return d.Version
			}
		}
	}
	return "unknown"
}

func run(ctx context.Context, o options) error {
	up, err := startUpstream()
	if err != nil {
		return err
	}
	defer up.close()
	if o.profile.out != "" {
		return profileBulk(ctx, o, up)
	}

	r := newResults()
	r.define("idle_mem", "Memory per idle proxied connection: (RSS after - RSS before) / N", "KiB", "%8.1f")
	r.define("idle_open", "Time to open the N idle connections, one after the other", "s", "%8.2f")
	r.define("rtt_p50", "1-byte request/response round trip, p50", "µs", "%8.1f")
	r.define("rtt_p99", "1-byte request/response round trip, p99", "µs", "%8.1f")
	r.define("added_p50", "Latency added to the direct connection, p50", "µs", "%8.1f")
	r.define("added_p99", "Latency added to the direct connection, p99", "µs", "%8.1f")
	r.define("bulk_up", "Bulk throughput, application -> upstream", "MB/s", "%8.1f")
	r.define("bulk_down", "Bulk throughput, upstream -> application", "MB/s", "%8.1f")
	r.define("cpu_up", "Proxy process CPU per GiB, application -> upstream", "CPU s/GiB", "%8.2f")
	r.define("cpu_down", "Proxy process CPU per GiB, upstream -> application", "CPU s/GiB", "%8.2f")
	r.define("conn_rate", "Connections per second (open, 1-byte round trip, close)", "conn/s", "%8.0f")

	gib := float64(o.bulkBytes) / (1 << 30)
	var loads []string
	for rep := 0; rep < o.repetitions; rep++ {
		loads = append(loads, loadAverage())
		log.Printf("repetition %d of %d (load average %s)", rep+1, o.repetitions, loads[len(loads)-1])
		// Memory in servers of its own, fresh, so that it reuses no memory
		// freed by another measurement and leaves nothing behind.
		if err := withServers(ctx, o, up, rep, "idle", func(ts []target) error {
			return measureIdle(ctx, o, ts, up, r, rep)
		}); err != nil {
			return fmt.Errorf("repetition %d: %w", rep+1, err)
		}
		if err := withServers(ctx, o, up, rep, "traffic", func(ts []target) error {
			return measureTraffic(ctx, o, ts, up, r, rep, gib)
		}); err != nil {
			return fmt.Errorf("repetition %d: %w", rep+1, err)
		}
	}
	loads = append(loads, loadAverage())

	w := os.Stdout
	fmt.Fprintf(w, "\ntoxiproxy %s (github.com/Shopify/toxiproxy/v2/cmd/server), tcpemud %s\n",
		toxiproxyVersion(), o.servers.tcpemud)
	fmt.Fprintf(w, "%d repetitions, each with fresh servers; bulk %d bytes; %d round trips (after %d untimed); "+
		"%d idle connections; %d workers for %s of connections\n",
		o.repetitions, o.bulkBytes, o.roundTrips, o.warmup, o.idleConns, o.connWorkers, o.connDuration)
	fmt.Fprintf(w, "tcpemu: default TcpConfig, link and relay buffer; tcpemu-big: send/recv buffers %d bytes on both endpoints, relay buffer %d (0: default); "+
		"tcpemu-jumbo: as tcpemu-big, with MTU %d on the link (both ways) and both endpoints\n",
		o.servers.bigBuffer, o.servers.bigRelayBuffer, o.servers.jumboMTU)
	fmt.Fprintf(w, "load average (1, 5, 15 min) at the start of each repetition and at the end: %s\n",
		strings.Join(loads, " | "))
	r.write(w, []string{nameDirect, nameToxiproxy, nameTcpemu, nameTcpemuBig, nameJumbo})
	atLeast := func(v, tox float64) (bool, float64) { return v >= tox, v - tox }
	within50 := func(v, tox float64) (bool, float64) { return v <= tox+50, tox + 50 - v }
	writeGoals(w, r, []goal{
		{text: ">= toxiproxy", key: "bulk_up", check: atLeast},
		{text: ">= toxiproxy", key: "bulk_down", check: atLeast},
		{text: "<= toxiproxy + 50 µs", key: "rtt_p50", check: within50},
		{text: "<= toxiproxy + 50 µs", key: "rtt_p99", check: within50},
	})
	return nil
}

// rotate returns ts starting at index k: each repetition puts another target
// first, so that none always runs right after a server started.
func rotate(ts []target, k int) []target {
	k %= len(ts)
	return append(append([]target(nil), ts[k:]...), ts[:k]...)
}

// withServers runs f with fresh servers and stops them afterwards; then
// waits until every connection to the upstream is closed.
func withServers(ctx context.Context, o options, up *upstream, rep int, phase string, f func([]target) error) error {
	s, err := startServers(ctx, o.servers, up.addr(), fmt.Sprintf("%d-%s", rep+1, phase))
	if err != nil {
		return err
	}
	err = f(s.targets)
	s.stop()
	if err != nil {
		return err
	}
	return waitIdle(ctx, up)
}

func byName(ts []target, name string) target {
	for _, t := range ts {
		if t.name == name {
			return t
		}
	}
	panic("no target " + name)
}

// measureIdle measures memory per idle connection, toxiproxy first, each
// server holding the connections of one proxy only.
func measureIdle(ctx context.Context, o options, ts []target, up *upstream, r *results, rep int) error {
	for _, name := range []string{nameToxiproxy, nameTcpemu} {
		t := byName(ts, name)
		res, err := idleMemory(ctx, t, up, o.idleConns, o.idleSettle, o.idleBudget)
		if err != nil {
			log.Printf("  %-11s idle memory FAILED: %v", name, err)
			r.fail("idle_mem", name, rep, err)
			// Its connections close when the servers stop.
			continue
		}
		r.add("idle_mem", name, rep, res.bytesPerConn/1024)
		r.add("idle_open", name, rep, res.open.Seconds())
		log.Printf("  %-11s idle memory %.1f KiB per connection (opened in %.1f s)",
			name, res.bytesPerConn/1024, res.open.Seconds())
		if err := waitIdle(ctx, up); err != nil {
			return err
		}
	}
	return nil
}

// measureTraffic measures latency, bulk throughput and connections per
// second, the targets in an order rotated by rep.
func measureTraffic(ctx context.Context, o options, targets []target, up *upstream, r *results, rep int, gib float64) error {
	order := rotate(targets, rep)
	direct := map[string]float64{}
	for _, t := range order {
		if err := waitIdle(ctx, up); err != nil {
			return err
		}
		p50, p99, err := latency(t, o.roundTrips, o.warmup)
		if err != nil {
			log.Printf("  %-11s latency FAILED: %v", t.name, err)
			r.fail("rtt_p50", t.name, rep, err)
			continue
		}
		us50, us99 := float64(p50.Nanoseconds())/1e3, float64(p99.Nanoseconds())/1e3
		r.add("rtt_p50", t.name, rep, us50)
		r.add("rtt_p99", t.name, rep, us99)
		if t.name == nameDirect {
			direct["p50"], direct["p99"] = us50, us99
		}
		log.Printf("  %-11s round trip p50 %.1f µs, p99 %.1f µs", t.name, us50, us99)
	}
	for _, t := range order {
		if t.name == nameDirect || len(direct) == 0 {
			continue
		}
		if p50, ok := lastValue(r, "rtt_p50", t.name, rep); ok {
			r.add("added_p50", t.name, rep, p50-direct["p50"])
		}
		if p99, ok := lastValue(r, "rtt_p99", t.name, rep); ok {
			r.add("added_p99", t.name, rep, p99-direct["p99"])
		}
	}

	for _, dir := range []struct {
		cmd      byte
		key, cpu string
	}{{cmdSink, "bulk_up", "cpu_up"}, {cmdGen, "bulk_down", "cpu_down"}} {
		for _, t := range order {
			if err := waitIdle(ctx, up); err != nil {
				return err
			}
			res, err := bulk(t, dir.cmd, o.bulkBytes)
			if err != nil {
				log.Printf("  %-11s %s FAILED: %v", t.name, dir.key, err)
				r.fail(dir.key, t.name, rep, err)
				continue
			}
			r.add(dir.key, t.name, rep, res.bytesPerSec/1e6)
			if t.pid != 0 {
				r.add(dir.cpu, t.name, rep, res.proxyCPU/gib)
			}
			log.Printf("  %-11s %s %.1f MB/s, proxy CPU %.2f s", t.name, dir.key, res.bytesPerSec/1e6, res.proxyCPU)
		}
	}

	for _, t := range order {
		if err := waitIdle(ctx, up); err != nil {
			return err
		}
		rate, err := connRate(ctx, t, up, o.connWorkers, o.connDuration)
		if err != nil {
			log.Printf("  %-11s connections per second FAILED: %v", t.name, err)
			r.fail("conn_rate", t.name, rep, err)
			continue
		}
		r.add("conn_rate", t.name, rep, rate)
		log.Printf("  %-11s %.0f connections/s", t.name, rate)
	}
	return nil
}

// lastValue is the value of key for name measured in run rep, if any.
func lastValue(r *results, key, name string, rep int) (float64, bool) {
	m := r.metrics[key]
	vs := m.values[name]
	if len(vs) == 0 || m.reps[name][len(vs)-1] != rep {
		return 0, false
	}
	return vs[len(vs)-1], true
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
