package tcpemu_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The interface tests join the engine to the kernel's TCP in a network
// namespace of their own ("tcpemu-go-<pid>-<n>", subnet 10.202.<n>.0/24)
// through a TAP device. They need root and /dev/net/tun, and skip, saying
// so, without them. The kernel's side runs in this test binary, started
// again inside the namespace with $TCPEMU_TEST_PEER set.

const peerEnv = "TCPEMU_TEST_PEER"

// runPeer is the test binary as a kernel TCP peer:
//
//	sink ADDR:PORT       accept one connection, read to end of stream
//	source ADDR:PORT N   connect, send N random bytes, close, wait for EOF
//
// It prints "ready" once it listens or is connected, then "N SHA256".
func runPeer(mode string) int {
	args := strings.Fields(mode)
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "peer:", err)
		return 1
	}
	h := sha256.New()
	var n int64
	switch args[0] {
	case "sink":
		ln, err := net.Listen("tcp", args[1])
		if err != nil {
			return fail(err)
		}
		fmt.Println("ready")
		conn, err := ln.Accept()
		if err != nil {
			return fail(err)
		}
		if n, err = io.Copy(h, conn); err != nil {
			return fail(err)
		}
		conn.Close()
	case "source":
		size, _ := strconv.ParseInt(args[2], 10, 64)
		conn, err := net.DialTimeout("tcp", args[1], 20*time.Second)
		if err != nil {
			return fail(err)
		}
		fmt.Println("ready")
		if n, err = io.Copy(conn, io.TeeReader(io.LimitReader(rand.Reader, size), h)); err != nil {
			return fail(err)
		}
		conn.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, conn) // until the engine's FIN
		conn.Close()
	default:
		return fail(fmt.Errorf("unknown mode %q", mode))
	}
	fmt.Println(n, hex.EncodeToString(h.Sum(nil)))
	return 0
}

var (
	tapSkip    sync.Once
	tapMissing string
	tapCount   atomic.Int32
)

func requireTAP(t *testing.T) {
	t.Helper()
	tapSkip.Do(func() {
		switch {
		case os.Geteuid() != 0:
			tapMissing = "needs root (network namespaces and TAP devices)"
		default:
			if _, err := os.Stat("/dev/net/tun"); err != nil {
				tapMissing = "/dev/net/tun is missing"
			} else if _, err := exec.LookPath("ip"); err != nil {
				tapMissing = "iproute2 (ip) is missing"
			}
		}
		if tapMissing != "" {
			fmt.Fprintf(os.Stderr, "\n*** SKIPPING TAP INTERFACE TESTS: %s ***\n", tapMissing)
		}
	})
	if tapMissing != "" {
		t.Skip("SKIPPING: " + tapMissing)
	}
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// tapHost is the kernel's side of an interface, in a network namespace.
type tapHost struct {
	ns    string
	addr  string // the kernel's address; the engine's is iface.Address.Addr()
	iface *tcpemu.Interface
}

func newTapHost(t *testing.T, c *tcpemu.Client, opts ...tcpemu.InterfaceOption) *tapHost {
	t.Helper()
	requireTAP(t)
	n := tapCount.Add(1)
	ns := fmt.Sprintf("tcpemu-go-%d-%d", os.Getpid(), n)
	subnet := fmt.Sprintf("10.202.%d", n%250)
	sh(t, "ip", "netns", "add", ns)
	// Deleting the namespace destroys the TAP device moved into it.
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	iface, err := c.CreateInterface(context.Background(), subnet+".2/24", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { iface.Delete(context.Background()) })
	sh(t, "ip", "link", "set", "dev", iface.Name, "netns", ns)
	sh(t, "ip", "-n", ns, "addr", "add", subnet+".1/24", "dev", iface.Name)
	sh(t, "ip", "-n", ns, "link", "set", iface.Name, "up")
	sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	return &tapHost{ns: ns, addr: subnet + ".1", iface: iface}
}

type peer struct {
	cmd   *exec.Cmd
	lines chan string
}

// peer starts this test binary as a kernel peer in the namespace and waits
// for it to be ready.
func (h *tapHost) peer(t *testing.T, mode string) *peer {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.ns, os.Args[0])
	cmd.Env = append(os.Environ(), peerEnv+"="+mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &peer{cmd: cmd, lines: make(chan string, 2)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	select {
	case line := <-p.lines:
		if line != "ready" {
			t.Fatalf("peer %q: %q; stderr: %s", mode, line, &stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("peer %q did not start; stderr: %s", mode, &stderr)
	}
	return p
}

// result waits for the peer's byte count and SHA-256.
func (p *peer) result(t *testing.T) (int64, string) {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			t.Fatalf("peer ended without a result: %v", p.cmd.Wait())
		}
		f := strings.Fields(line)
		n, _ := strconv.ParseInt(f[0], 10, 64)
		return n, f[1]
	case <-time.After(30 * time.Second):
		t.Fatal("no result from the peer within 30s")
	}
	return 0, ""
}

func TestInterfaceConnectsToKernelSink(t *testing.T) {
	c := dial(t)
	h := newTapHost(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	sink := h.peer(t, "sink "+h.addr+":9000")
	s, err := h.iface.Connect(ctx, h.addr+":9000", tcpemu.WithDigest())
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParseAddrPort(h.addr + ":9000"); s.Remote != want || s.Accepted ||
		s.Local() != tcpemu.EndpointClient || s.LinkID != h.iface.ID {
		t.Fatalf("session %+v, want Remote %v, not accepted, on link %d", s, want, h.iface.ID)
	}
	if err := s.WaitFor(ctx, tcpemu.StateEstablished, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	const total = 2_000_000
	if n, err := s.WriteFill(ctx, total, tcpemu.WithWait(20*time.Second)); err != nil || n != total {
		t.Fatalf("WriteFill = %d, %v", n, err)
	}
	if _, err := s.Close(ctx, s.Local()); err != nil {
		t.Fatal(err)
	}
	n, digest := sink.result(t)
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(snap.GetClient().GetWriteSha256()); n != total || got != digest {
		t.Fatalf("the host read %d bytes, sha256 %s; the engine wrote sha256 %s", n, digest, got)
	}
	if snap.GetServer() != nil || snap.GetLocalAddress() != h.iface.Address.Addr().String() {
		t.Fatalf("server %v, local address %q: want no server, %v", snap.GetServer(),
			snap.GetLocalAddress(), h.iface.Address.Addr())
	}
	info, err := h.iface.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.GetEgressCounters().GetBytesDelivered() < total || info.GetCounters().GetArpRepliesReceived() == 0 {
		t.Fatalf("interface counters %v, egress %v", info.GetCounters(), info.GetEgressCounters())
	}
}

func TestInterfaceListenerAcceptsKernelClient(t *testing.T) {
	c := dial(t)
	h := newTapHost(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	l, err := h.iface.Listen(ctx, 8080, tcpemu.ListenDigest())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Delete(context.Background())
	events, err := c.Events(ctx, tcpemu.OnlyNetwork(h.iface.NetworkID), tcpemu.OnlyKinds(tcpemu.KindSessionAccepted))
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	if err := events.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	if info, err := h.iface.Info(ctx); err != nil || len(info.GetListeningPorts()) != 1 || info.GetListeningPorts()[0] != 8080 {
		t.Fatalf("Info = %v, %v; want listening on 8080", info, err)
	}

	const total = 1_000_000
	source := h.peer(t, fmt.Sprintf("source %s:8080 %d", h.iface.Address.Addr(), total))
	s, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Accepted || s.Local() != tcpemu.EndpointServer || s.Remote.Addr().String() != h.addr {
		t.Fatalf("accepted %+v, want from %s with the server endpoint local", s, h.addr)
	}
	if !events.Next() {
		t.Fatal(events.Err())
	}
	if ev := events.Event(); ev.SessionID != s.ID || ev.RemoteAddr() != s.Remote.Addr() || ev.LinkID != h.iface.ID {
		t.Fatalf("event %+v (from %v), want session %d from %v", ev, ev.RemoteAddr(), s.ID, s.Remote.Addr())
	}
	n, digest := source.result(t)
	// The engine reads to the end, then closes: its reader closes at EOF.
	if err := s.WaitFor(ctx, tcpemu.StateClosed, s.Local()); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := snap.GetServer()
	if got := hex.EncodeToString(srv.GetReadSha256()); int64(srv.GetBytesRead()) != n || n != total || got != digest {
		t.Fatalf("the engine read %d bytes, sha256 %s; the host sent %d, sha256 %s",
			srv.GetBytesRead(), got, n, digest)
	}

	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	if _, err := l.Accept(short); !errors.Is(err, context.DeadlineExceeded) || status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("Accept with nobody connecting = %v, want DeadlineExceeded", err)
	}
	if err := l.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accept(ctx); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("Accept after Delete = %v, want FailedPrecondition", err)
	}
}

func TestExportPcapOfCapturedSession(t *testing.T) {
	c := dial(t)
	h := newTapHost(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	sink := h.peer(t, "sink "+h.addr+":9001")
	s, err := h.iface.Connect(ctx, h.addr+":9001", tcpemu.WithCapture())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteFill(ctx, 100_000, tcpemu.WithWait(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Close(ctx, s.Local()); err != nil {
		t.Fatal(err)
	}
	if n, _ := sink.result(t); n != 100_000 {
		t.Fatalf("the host read %d bytes", n)
	}
	path := t.TempDir() + "/session.pcap"
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.ExportPcap(ctx, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != n || n <= 24 || !bytes.Equal(data[:4], []byte{0x4d, 0x3c, 0xb2, 0xa1}) {
		t.Fatalf("pcap of %d bytes (ExportPcap said %d) starting % x", len(data), n, data[:min(4, len(data))])
	}
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is missing: the pcap file was not parsed")
	}
	out, err := exec.Command("tcpdump", "-n", "-r", path).Output()
	if err != nil {
		t.Fatalf("tcpdump -r: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	syn := fmt.Sprintf("> %s.9001: Flags [S]", h.addr)
	if len(lines) < 10 || !strings.Contains(lines[0], syn) {
		t.Fatalf("tcpdump read %d packets, the first %q; want a SYN to the host", len(lines), lines[0])
	}

	// A session without capture has nothing to export.
	plain, err := h.iface.Connect(ctx, h.addr+":9")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExportPcap(ctx, plain.ID, io.Discard); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("ExportPcap without capture = %v, want FailedPrecondition", err)
	}
}

func TestInterfaceInfoUpdateAndFaults(t *testing.T) {
	c := dial(t)
	h := newTapHost(t, c, tcpemu.WithEgress(tcpemu.WithDelay(20*time.Millisecond)))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	iface := h.iface
	if !strings.HasSuffix(iface.Address.String(), ".2/24") || iface.MTU != 1500 || len(iface.MAC) != 6 {
		t.Fatalf("interface %+v", iface)
	}
	all, err := c.ListInterfaces(ctx, iface.NetworkID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range all {
		found = found || x.ID == iface.ID && x.Name == iface.Name
	}
	if !found {
		t.Fatalf("ListInterfaces does not list interface %d", iface.ID)
	}
	info, err := iface.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.GetEgress().GetDelay().AsDuration() != 20*time.Millisecond || info.GetIngress().GetDelay().AsDuration() != 0 ||
		info.GetEgress().GetMtu() != 1500 || !info.GetCreatedDevice() {
		t.Fatalf("Info = %v", info)
	}
	if err := iface.Update(ctx, tcpemu.WithIngress(tcpemu.WithDelay(5*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	link, err := iface.Link().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if link.GetForward().GetDelay().AsDuration() != 20*time.Millisecond || link.GetReverse().GetDelay().AsDuration() != 5*time.Millisecond ||
		link.GetForward().GetMtu() != 1500 {
		t.Fatalf("after Update (the egress kept), link %v", link)
	}
	if err := iface.Update(ctx, tcpemu.WithEgress(tcpemu.ReplaceAll())); err != nil {
		t.Fatal(err)
	}
	if link, err = iface.Link().Info(ctx); err != nil {
		t.Fatal(err)
	}
	if link.GetForward().GetDelay().AsDuration() != 0 || link.GetForward().GetMtu() != 1500 ||
		link.GetReverse().GetDelay().AsDuration() != 5*time.Millisecond {
		t.Fatalf("after Update(WithEgress(ReplaceAll())), link %v", link)
	}

	// Every SYN to the host is lost: the connection times out.
	if _, err := iface.InjectFault(ctx, tcpemu.FaultDrop, tcpemu.InDirection(tcpemu.DirectionEgress),
		tcpemu.MatchFlags(tcpemu.FlagSYN, 0)); err != nil {
		t.Fatal(err)
	}
	s, err := iface.Connect(ctx, h.addr+":9", tcpemu.WithClientTCP(
		tcpemu.RTO(100*time.Millisecond, 0, 0), tcpemu.SynRetries(1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitFor(ctx, tcpemu.StateEstablished, tcpemu.EndpointClient); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("WaitFor ESTABLISHED with SYNs dropped = %v", err)
	}
	if info, err := iface.Info(ctx); err != nil || info.GetEgressCounters().GetDroppedFault() < 2 {
		t.Fatalf("Info = %v, %v; want SYNs dropped by the fault", info, err)
	}
	if err := iface.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := iface.Connect(ctx, "10.202.0.1"); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Connect without a port = %v", err)
	}
	if _, err := c.CreateInterface(ctx, "10.202.0.2"); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("CreateInterface without a prefix = %v", err)
	}
	vnet, err := c.CreateNetwork(ctx, tcpemu.Virtual())
	if err != nil {
		t.Fatal(err)
	}
	defer vnet.Delete(context.Background())
	if _, err := vnet.CreateInterface(ctx, "10.202.255.2/24"); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("CreateInterface on a virtual network = %v", err)
	}
	if err := iface.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetInterface(ctx, iface.ID); status.Code(err) != codes.NotFound {
		t.Fatalf("GetInterface after Delete = %v", err)
	}
}
