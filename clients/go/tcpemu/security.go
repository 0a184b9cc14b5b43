package tcpemu

// Transport security and bearer tokens: the options that reach a tcpemud run
// with --tls_cert/--tls_key (TLS), --tls_client_ca (mutual TLS) or
// --auth_tokens (a token on every call). See docs/security.md.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

type securityConfig struct {
	tls        bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
	tlsConfig  *tls.Config
	token      string
}

// WithTLS speaks TLS to the daemon, trusting the CA certificates in caFile
// (PEM) to have signed its certificate; with caFile "", the system's roots.
func WithTLS(caFile string) DialOption {
	return func(c *dialConfig) {
		c.security.tls = true
		c.security.caFile = caFile
	}
}

// WithClientCert presents this certificate chain and private key (PEM files)
// to a daemon run with --tls_client_ca (mutual TLS). It implies TLS; combine
// it with WithTLS to name the CA of the daemon's certificate.
func WithClientCert(certFile, keyFile string) DialOption {
	return func(c *dialConfig) {
		c.security.tls = true
		c.security.certFile = certFile
		c.security.keyFile = keyFile
	}
}

// WithTLSServerName checks the daemon's certificate against name rather than
// the target's host: for a daemon reached by IP address, such as each replica
// DialSharded resolves from a DNS name. It implies TLS.
func WithTLSServerName(name string) DialOption {
	return func(c *dialConfig) {
		c.security.tls = true
		c.security.serverName = name
	}
}

// WithTLSConfig speaks TLS configured by cfg, as is (a clone of it): for
// settings the other options do not cover. WithTLS, WithClientCert and
// WithTLSServerName add to it.
func WithTLSConfig(cfg *tls.Config) DialOption {
	return func(c *dialConfig) {
		c.security.tls = true
		c.security.tlsConfig = cfg
	}
}

// WithToken sends token as "authorization: Bearer <token>" on every call, for
// a daemon run with --auth_tokens. Over TLS it is protected; without TLS (the
// default, e.g. a daemon in the same pod) it is sent in the clear, which
// plaintext was chosen to allow.
func WithToken(token string) DialOption {
	return func(c *dialConfig) { c.security.token = token }
}

// dialOptions turns the security settings into gRPC dial options.
func (s *securityConfig) dialOptions() ([]grpc.DialOption, error) {
	var opts []grpc.DialOption
	if s.tls {
		cfg, err := s.buildTLS()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if s.token != "" {
		if err := checkToken(s.token); err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithPerRPCCredentials(bearerToken{token: s.token, secure: s.tls}))
	}
	return opts, nil
}

func (s *securityConfig) buildTLS() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.tlsConfig != nil {
		cfg = s.tlsConfig.Clone()
	}
	if s.caFile != "" {
		pem, err := os.ReadFile(s.caFile)
		if err != nil {
			return nil, fmt.Errorf("WithTLS: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("WithTLS: %s: no PEM certificate in it", s.caFile)
		}
		cfg.RootCAs = pool
	}
	if s.certFile != "" || s.keyFile != "" {
		if s.certFile == "" || s.keyFile == "" {
			return nil, errors.New("WithClientCert: give both the certificate and the key file")
		}
		pair, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
		if err != nil {
			return nil, fmt.Errorf("WithClientCert: %w", err)
		}
		cfg.Certificates = append(cfg.Certificates, pair)
	}
	if s.serverName != "" {
		cfg.ServerName = s.serverName
	}
	return cfg, nil
}

// checkToken refuses what cannot travel in a header (printable ASCII without
// spaces), without repeating the token.
func checkToken(token string) error {
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return errors.New("WithToken: a token is printable ASCII without spaces")
		}
	}
	return nil
}

// bearerToken is a credentials.PerRPCCredentials that works over plaintext
// too: it requires transport security only when TLS was chosen.
type bearerToken struct {
	token  string
	secure bool
}

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearerToken) RequireTransportSecurity() bool { return b.secure }
