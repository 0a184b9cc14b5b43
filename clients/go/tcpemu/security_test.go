package tcpemu_test

// TLS, mutual TLS and bearer tokens against tcpemud processes of the tests'
// own, with certificates made by the test (crypto/x509) in a temporary
// directory.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"github.com/tcpemu/tcpemu/clients/go/internal/testdaemon"
	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
)

const labToken = "lab-token-5e1f0c9a7d3b4c2e8f6a"

// pki is a CA, a server certificate for localhost and 127.0.0.1, a client
// certificate, and another CA with a client certificate of its own, as PEM
// files in dir.
type pki struct{ dir string }

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

func newPKI(t *testing.T) pki {
	t.Helper()
	p := pki{dir: t.TempDir()}
	ca := p.issue(t, "ca", nil, nil)
	other := p.issue(t, "other-ca", nil, nil)
	p.issue(t, "server", ca, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		c.DNSNames = []string{"localhost"}
		c.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	})
	client := func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	p.issue(t, "client", ca, client)
	p.issue(t, "stranger", other, client)
	return p
}

type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issue writes name.pem and name.key: a CA when parent is nil, else a leaf
// parent signs.
func (p pki) issue(t *testing.T, name string, parent *issued, leaf func(*x509.Certificate)) *issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		BasicConstraintsValid: true,
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		leaf(tmpl)
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, kind string, b []byte) {
		if err := os.WriteFile(p.path(file), pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+".key", "PRIVATE KEY", keyDER)
	return &issued{cert: cert, key: key}
}

func tokenFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(f, []byte("# lab tokens\n\n"+labToken+"\nci-token-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func dialWith(t *testing.T, addr string, opts ...tcpemu.DialOption) *tcpemu.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tcpemu.Dial(ctx, addr, opts...)
	if err != nil {
		t.Fatalf("Dial(%s): %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// createNetwork makes (and deletes) a virtual network: a call that needs
// whatever the daemon asks for. It returns the call's error.
func createNetwork(c *tcpemu.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.CreateNetwork(ctx, tcpemu.Virtual())
	if err != nil {
		return err
	}
	return n.Delete(ctx)
}

func wantCode(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: %v, want %v", what, err, code)
		return
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: %v, want %q in it", what, err, msg)
	}
}

func networkCount(t *testing.T, addr string) int {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+labToken)
	resp, err := tcpemuv1.NewEmulatorClient(conn).ListNetworks(ctx, &tcpemuv1.ListNetworksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.GetNetworks())
}

func TestTokenOverPlaintext(t *testing.T) {
	addr := testdaemon.StartFor(t, "--auth_tokens", tokenFile(t))

	// Health is open: Dial's check passes without a token, calls do not.
	anonymous := dialWith(t, addr)
	before := networkCount(t, addr)
	wantCode(t, "no token", createNetwork(anonymous), codes.Unauthenticated, "missing bearer token")
	wrong := dialWith(t, addr, tcpemu.WithToken(labToken+"x"))
	wantCode(t, "wrong token", createNetwork(wrong), codes.Unauthenticated, "invalid bearer token")
	if n := networkCount(t, addr); n != before {
		t.Errorf("rejected calls changed the networks: %d, want %d", n, before)
	}

	c := dialWith(t, addr, tcpemu.WithToken(labToken))
	if err := createNetwork(c); err != nil {
		t.Fatalf("with the token: %v", err)
	}
	if err := createNetwork(dialWith(t, addr, tcpemu.WithToken("ci-token-2"))); err != nil {
		t.Fatalf("with the second token: %v", err)
	}

	// A server stream carries the token too.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nw, err := c.CreateNetwork(ctx, tcpemu.Virtual())
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Delete(ctx)
	stream, err := nw.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if err := stream.WaitSubscribed(ctx); err != nil {
		t.Fatalf("WaitSubscribed with the token: %v", err)
	}
	link, err := nw.CreateLink(ctx, tcpemu.WithDelay(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := link.OpenSession(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := nw.Advance(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !stream.Next() {
		t.Fatalf("no event with the token: %v", stream.Err())
	}

	s2, err := anonymous.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Next() {
		t.Fatal("an event without the token")
	}
	wantCode(t, "stream without a token", s2.Err(), codes.Unauthenticated, "missing bearer token")
}

func reflectionCall(addr string, md ...string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	s, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return err
	}
	req := &reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}
	// A stream the daemon already ended takes no message (io.EOF); its
	// status comes from Recv.
	if err := s.Send(req); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	resp, err := s.Recv()
	if err != nil {
		return err
	}
	for _, svc := range resp.GetListServicesResponse().GetService() {
		if svc.GetName() == "tcpemu.v1.Emulator" {
			return nil
		}
	}
	return status.Error(codes.Internal, "tcpemu.v1.Emulator not listed")
}

func healthCall(addr string, md ...string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, md...)
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func TestHealthAndReflection(t *testing.T) {
	tokens := tokenFile(t)
	auth := []string{"authorization", "Bearer " + labToken}
	open := testdaemon.StartFor(t, "--auth_tokens", tokens)
	if err := healthCall(open); err != nil {
		t.Errorf("health, open by default: %v", err)
	}
	if err := reflectionCall(open); err != nil {
		t.Errorf("reflection, open by default: %v", err)
	}

	closed := testdaemon.StartFor(t, "--auth_tokens", tokens, "--auth_health", "--auth_reflection")
	wantCode(t, "health without a token", healthCall(closed), codes.Unauthenticated, "")
	wantCode(t, "reflection without a token", reflectionCall(closed), codes.Unauthenticated, "")
	wantCode(t, "health with a wrong token", healthCall(closed, "authorization", "Bearer no"),
		codes.Unauthenticated, "invalid bearer token")
	if err := healthCall(closed, auth...); err != nil {
		t.Errorf("health with the token: %v", err)
	}
	if err := reflectionCall(closed, auth...); err != nil {
		t.Errorf("reflection with the token: %v", err)
	}
	// Dial's health check needs the token there too.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := tcpemu.Dial(ctx, closed); err == nil {
		c.Close()
		t.Error("Dial without a token passed the health check of --auth_health")
	} else {
		wantCode(t, "Dial without a token", err, codes.Unauthenticated, "")
	}
	if err := createNetwork(dialWith(t, closed, tcpemu.WithToken(labToken))); err != nil {
		t.Errorf("with the token: %v", err)
	}
}

// failsToConnect checks that calls on these options cannot get through the
// handshake: UNAVAILABLE.
func failsToConnect(t *testing.T, what, addr string, opts ...tcpemu.DialOption) {
	t.Helper()
	c := dialWith(t, addr, append(opts, tcpemu.WithoutHealthCheck())...)
	wantCode(t, what, createNetwork(c), codes.Unavailable, "")
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	addr := testdaemon.StartFor(t, "--tls_cert", p.path("server.pem"), "--tls_key", p.path("server.key"))
	if err := createNetwork(dialWith(t, addr, tcpemu.WithTLS(p.path("ca.pem")))); err != nil {
		t.Errorf("TLS: %v", err)
	}
	if err := createNetwork(dialWith(t, addr, tcpemu.WithTLS(p.path("ca.pem")),
		tcpemu.WithTLSServerName("localhost"))); err != nil {
		t.Errorf("TLS, server name localhost: %v", err)
	}
	failsToConnect(t, "plaintext to TLS", addr)
	failsToConnect(t, "another CA", addr, tcpemu.WithTLS(p.path("other-ca.pem")))
	failsToConnect(t, "the system's CAs", addr, tcpemu.WithTLS(""))
	failsToConnect(t, "a name the certificate lacks", addr, tcpemu.WithTLS(p.path("ca.pem")),
		tcpemu.WithTLSServerName("elsewhere.example"))

	// Dial's health check fails on the handshake as well, within ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if c, err := tcpemu.Dial(ctx, addr, tcpemu.WithTLS(p.path("other-ca.pem"))); err == nil {
		c.Close()
		t.Error("Dial trusting another CA succeeded")
	}
}

func TestMutualTLSAndToken(t *testing.T) {
	p := newPKI(t)
	addr := testdaemon.StartFor(t, "--tls_cert", p.path("server.pem"), "--tls_key", p.path("server.key"),
		"--tls_client_ca", p.path("ca.pem"), "--auth_tokens", tokenFile(t))
	ca := tcpemu.WithTLS(p.path("ca.pem"))
	mine := tcpemu.WithClientCert(p.path("client.pem"), p.path("client.key"))

	if err := createNetwork(dialWith(t, addr, ca, mine, tcpemu.WithToken(labToken))); err != nil {
		t.Errorf("certificate and token: %v", err)
	}
	wantCode(t, "certificate, no token", createNetwork(dialWith(t, addr, ca, mine)),
		codes.Unauthenticated, "missing bearer token")
	wantCode(t, "certificate, wrong token", createNetwork(dialWith(t, addr, ca, mine, tcpemu.WithToken("no"))),
		codes.Unauthenticated, "invalid bearer token")
	failsToConnect(t, "no client certificate", addr, ca, tcpemu.WithToken(labToken))
	failsToConnect(t, "a certificate another CA signed", addr, ca,
		tcpemu.WithClientCert(p.path("stranger.pem"), p.path("stranger.key")), tcpemu.WithToken(labToken))

	// A tls.Config of the caller's own.
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(p.path("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	pair, err := tls.LoadX509KeyPair(p.path("client.pem"), p.path("client.key"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS13}
	if err := createNetwork(dialWith(t, addr, tcpemu.WithTLSConfig(cfg), tcpemu.WithToken(labToken))); err != nil {
		t.Errorf("WithTLSConfig: %v", err)
	}

	// Every replica of DialSharded gets the same options.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := tcpemu.DialSharded(ctx, []string{addr}, ca, mine, tcpemu.WithToken(labToken))
	if err != nil {
		t.Fatalf("DialSharded: %v", err)
	}
	defer s.Close()
	n, err := s.CreateNetwork(ctx, "lab-1", tcpemu.Virtual())
	if err != nil {
		t.Fatalf("sharded CreateNetwork: %v", err)
	}
	if err := n.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSecurityOptionErrors(t *testing.T) {
	p := newPKI(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []tcpemu.DialOption
		want string
	}{
		{"missing CA file", []tcpemu.DialOption{tcpemu.WithTLS(p.path("none.pem"))}, "WithTLS"},
		{"CA file without PEM", []tcpemu.DialOption{tcpemu.WithTLS(p.path("ca.key"))}, "no PEM certificate"},
		{"key missing", []tcpemu.DialOption{tcpemu.WithClientCert(p.path("client.pem"), "")}, "WithClientCert"},
		{"key of another certificate", []tcpemu.DialOption{
			tcpemu.WithClientCert(p.path("client.pem"), p.path("stranger.key"))}, "WithClientCert"},
		{"token with a space", []tcpemu.DialOption{tcpemu.WithToken("two words")}, "WithToken"},
	} {
		c, err := tcpemu.Dial(ctx, "127.0.0.1:1", append(tc.opts, tcpemu.WithoutHealthCheck())...)
		if err == nil {
			c.Close()
			t.Errorf("%s: Dial succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q in it", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "two words") {
			t.Errorf("%s: the error repeats the token: %v", tc.name, err)
		}
	}
}
