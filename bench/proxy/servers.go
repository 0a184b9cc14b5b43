package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// target is where a measurement connects: a proxy's listen address, or the
// upstream itself. pid is the proxy's process (0: direct).
type target struct {
	name string
	addr string
	pid  int
}

// servers is one toxiproxy-server and one tcpemud, each with its proxies to
// the same upstream.
type servers struct {
	toxiproxy *process
	tcpemud   *process
	conn      *grpc.ClientConn
	targets   []target
}

// serverConfig says which programs to run and how to set up the proxies.
type serverConfig struct {
	toxiproxyServer string
	tcpemud         string
	logDir          string
	// Send and receive buffers of both engine endpoints of the tuned proxy.
	bigBuffer uint32
	// Relay buffer of the tuned proxy (0: the daemon's default).
	bigRelayBuffer uint32
	// MTU of the jumbo proxy's link (both ways) and endpoints; its buffers
	// are bigBuffer.
	jumboMTU uint32
}

// Target names, in the order the report shows them.
const (
	nameDirect    = "direct"
	nameToxiproxy = "toxiproxy"
	nameTcpemu    = "tcpemu"
	nameTcpemuBig = "tcpemu-big"
	nameJumbo     = "tcpemu-jumbo"
)

func startServers(ctx context.Context, cfg serverConfig, upstreamAddr, tag string) (*servers, error) {
	s := &servers{}
	ok := false
	defer func() {
		if !ok {
			s.stop()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	tport, err := freePort()
	if err != nil {
		return nil, err
	}
	s.toxiproxy, err = startProcess("toxiproxy-server", cfg.toxiproxyServer,
		[]string{"-host", "127.0.0.1", "-port", strconv.Itoa(tport)},
		filepath.Join(cfg.logDir, "toxiproxy-"+tag+".log"))
	if err != nil {
		return nil, err
	}
	tc := toxiproxy.NewClient("127.0.0.1:" + strconv.Itoa(tport))
	if err := poll(ctx, func() error { _, err := tc.Version(); return err }); err != nil {
		return nil, fmt.Errorf("toxiproxy-server not ready: %w", err)
	}
	tp, err := tc.CreateProxy("bench", "127.0.0.1:0", upstreamAddr)
	if err != nil {
		return nil, fmt.Errorf("toxiproxy CreateProxy: %w", err)
	}

	gport, err := freePort()
	if err != nil {
		return nil, err
	}
	s.tcpemud, err = startProcess("tcpemud", cfg.tcpemud,
		[]string{"--listen", "127.0.0.1:" + strconv.Itoa(gport), "--metrics_listen", ""},
		filepath.Join(cfg.logDir, "tcpemud-"+tag+".log"))
	if err != nil {
		return nil, err
	}
	s.conn, err = grpc.NewClient("127.0.0.1:"+strconv.Itoa(gport),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	ec := tcpemuv1.NewEmulatorClient(s.conn)
	if err := poll(ctx, func() error {
		_, err := ec.ListNetworks(ctx, &tcpemuv1.ListNetworksRequest{})
		return err
	}); err != nil {
		return nil, fmt.Errorf("tcpemud not ready: %w", err)
	}
	network, err := ec.CreateNetwork(ctx, &tcpemuv1.CreateNetworkRequest{
		Clock: tcpemuv1.ClockKind_CLOCK_KIND_REALTIME,
	})
	if err != nil {
		return nil, fmt.Errorf("tcpemud CreateNetwork: %w", err)
	}
	// Lossless: no PathSpec and no toxics, default TcpConfig.
	plain, err := ec.CreateProxy(ctx, &tcpemuv1.CreateProxyRequest{
		NetworkId: network.GetId(),
		Name:      "bench",
		Listen:    "127.0.0.1:0",
		Upstream:  upstreamAddr,
	})
	if err != nil {
		return nil, fmt.Errorf("tcpemud CreateProxy: %w", err)
	}
	bigTCP := &tcpemuv1.TcpConfig{
		SendBuffer: proto.Uint32(cfg.bigBuffer),
		RecvBuffer: proto.Uint32(cfg.bigBuffer),
	}
	big, err := ec.CreateProxy(ctx, &tcpemuv1.CreateProxyRequest{
		NetworkId:     network.GetId(),
		Name:          "bench-big",
		Listen:        "127.0.0.1:0",
		Upstream:      upstreamAddr,
		DownstreamTcp: bigTCP,
		UpstreamTcp:   bigTCP,
		RelayBuffer:   cfg.bigRelayBuffer,
	})
	if err != nil {
		return nil, fmt.Errorf("tcpemud CreateProxy (big buffers): %w", err)
	}

	jumboTCP := &tcpemuv1.TcpConfig{
		SendBuffer: proto.Uint32(cfg.bigBuffer),
		RecvBuffer: proto.Uint32(cfg.bigBuffer),
		Mtu:        proto.Uint32(cfg.jumboMTU),
	}
	jumbo, err := ec.CreateProxy(ctx, &tcpemuv1.CreateProxyRequest{
		NetworkId:     network.GetId(),
		Name:          "bench-jumbo",
		Listen:        "127.0.0.1:0",
		Upstream:      upstreamAddr,
		Forward:       &tcpemuv1.PathSpec{Mtu: proto.Uint32(cfg.jumboMTU)},
		Reverse:       &tcpemuv1.PathSpec{Mtu: proto.Uint32(cfg.jumboMTU)},
		DownstreamTcp: jumboTCP,
		UpstreamTcp:   jumboTCP,
		RelayBuffer:   cfg.bigRelayBuffer,
	})
	if err != nil {
		return nil, fmt.Errorf("tcpemud CreateProxy (jumbo): %w", err)
	}

	s.targets = []target{
		{name: nameDirect, addr: upstreamAddr},
		{name: nameToxiproxy, addr: tp.Listen, pid: s.toxiproxy.pid()},
		{name: nameTcpemu, addr: plain.GetListenAddress(), pid: s.tcpemud.pid()},
		{name: nameTcpemuBig, addr: big.GetListenAddress(), pid: s.tcpemud.pid()},
		{name: nameJumbo, addr: jumbo.GetListenAddress(), pid: s.tcpemud.pid()},
	}
	ok = true
	return s, nil
}

func (s *servers) stop() {
	if s.conn != nil {
		_ = s.conn.Close()
	}
	if s.tcpemud != nil {
		s.tcpemud.stop()
	}
	if s.toxiproxy != nil {
		s.toxiproxy.stop()
	}
}
