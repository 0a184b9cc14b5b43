package tcpemu

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestResolveForms(t *testing.T) {
	ctx := context.Background()
	for target, want := range map[string]string{
		"127.0.0.1:7":             "127.0.0.1:7",
		"10.0.0.1":                "10.0.0.1:50051",
		"[::1]:7":                 "[::1]:7",
		"[FD00:0::1]":             "[fd00::1]:50051",
		"fd00::1":                 "[fd00::1]:50051",
		"dns:///127.0.0.1:7":      "127.0.0.1:7",
		"dns:localhost:7":         "127.0.0.1:7", // IPv4 first
		"unix:///run/tcpemu.sock": "unix:///run/tcpemu.sock",
	} {
		got, err := Resolve(ctx, target)
		if err != nil || !slices.Equal(got, []string{want}) {
			t.Errorf("Resolve(%q) = %v, %v; want [%s]", target, got, err, want)
		}
	}
	for _, target := range []string{
		"dns://10.0.0.53/tcpemu-headless:50051",
		"dns:///tcpemu-headless:http",
		"tcpemu-headless:99999",
	} {
		if _, err := Resolve(ctx, target); status.Code(err) != codes.InvalidArgument {
			t.Errorf("Resolve(%q): %v, want InvalidArgument", target, err)
		}
	}
}

func fakeDNS(t *testing.T, ips ...string) {
	t.Helper()
	lookupNetIP = func(_ context.Context, network, host string) ([]netip.Addr, error) {
		if network != "ip" || host != "tcpemu-headless.ns.svc" {
			t.Errorf("lookup %s %s", network, host)
		}
		if ips == nil {
			return nil, errors.New("no such host")
		}
		var out []netip.Addr
		for _, ip := range ips {
			out = append(out, netip.MustParseAddr(ip))
		}
		return out, nil
	}
}

func TestDNSTargetAndRefresh(t *testing.T) {
	saved := lookupNetIP
	defer func() { lookupNetIP = saved }()
	ctx := context.Background()

	// A dual-stack headless Service: every pod twice, as A and as AAAA.
	fakeDNS(t, "10.1.0.7", "fd00::7", "10.1.0.5", "fd00::5", "10.1.0.5")
	sh, err := DialSharded(ctx, []string{"dns:///tcpemu-headless.ns.svc:50051"}, WithoutHealthCheck())
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	check := func(want ...string) {
		t.Helper()
		if got := sh.Replicas(); !slices.Equal(got, want) {
			t.Fatalf("Replicas() = %v, want %v", got, want)
		}
	}
	check("10.1.0.5:50051", "10.1.0.7:50051")
	before := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		before[k] = sh.ReplicaFor(k)
	}
	old := sh.ForReplica("10.1.0.7:50051")

	// Scaled out: a third pod, which takes keys only for itself.
	fakeDNS(t, "10.1.0.5", "10.1.0.7", "10.1.0.9")
	if err := sh.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	check("10.1.0.5:50051", "10.1.0.7:50051", "10.1.0.9:50051")
	for k, r := range before {
		if now := sh.ReplicaFor(k); now != r && now != "10.1.0.9:50051" {
			t.Errorf("key %q moved from %s to %s", k, r, now)
		}
	}
	// Scaled in: the dropped replica's client stays, for its handles.
	fakeDNS(t, "10.1.0.5", "10.1.0.9")
	if err := sh.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	check("10.1.0.5:50051", "10.1.0.9:50051")
	if sh.ForReplica("10.1.0.7:50051") != old {
		t.Error("the dropped replica's client is gone")
	}
	// IPv6 only: the AAAA records are the replicas.
	fakeDNS(t, "fd00::5", "fd00::9")
	if err := sh.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	check("[fd00::5]:50051", "[fd00::9]:50051")
	// A failed lookup leaves the set as it was.
	fakeDNS(t)
	if err := sh.Refresh(ctx); status.Code(err) != codes.Unavailable {
		t.Fatalf("Refresh with a failing lookup: %v", err)
	}
	check("[fd00::5]:50051", "[fd00::9]:50051")
}
