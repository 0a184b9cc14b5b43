package tcpemu

import (
	"context"
	"errors"
	"fmt"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// DefaultTimeout is the deadline given to a unary call whose context has none,
// unless Dial was given WithTimeout.
const DefaultTimeout = 30 * time.Second

// Client is a connection to a tcpemud daemon. It is safe for concurrent use.
type Client struct {
	conn    *grpc.ClientConn
	rpc     tcpemuv1.EmulatorClient
	timeout time.Duration
	target  string
}

// DialOption configures Dial.
type DialOption func(*dialConfig)

type dialConfig struct {
	timeout     time.Duration
	dialOptions []grpc.DialOption
	healthCheck bool
	security    securityConfig
}

// WithTimeout sets the deadline of each unary call made with a context that
// has no deadline of its own (default DefaultTimeout; 0 means none). Calls that
// wait on the daemon's side (WithWait) get that wait on top. Event streams
// and WaitFor are bounded by their context only.
func WithTimeout(d time.Duration) DialOption {
	return func(c *dialConfig) { c.timeout = d }
}

// WithDialOptions adds gRPC dial options, applied after the transport
// credentials (plaintext unless WithTLS, WithClientCert, WithTLSServerName or
// WithTLSConfig), so that credentials given here win.
func WithDialOptions(opts ...grpc.DialOption) DialOption {
	return func(c *dialConfig) { c.dialOptions = append(c.dialOptions, opts...) }
}

// WithoutHealthCheck makes Dial return without asking the daemon's health
// service whether it serves; the connection is then made by the first call.
func WithoutHealthCheck() DialOption {
	return func(c *dialConfig) { c.healthCheck = false }
}

// Dial connects to the tcpemud at target (host:port, or any gRPC target
// string) and, unless WithoutHealthCheck is given, waits until the daemon's
// health service reports SERVING or ctx ends. The connection is plaintext
// unless WithTLS (or WithClientCert, WithTLSServerName, WithTLSConfig) is
// given; WithToken sends a bearer token on every call.
func Dial(ctx context.Context, target string, opts ...DialOption) (*Client, error) {
	cfg := dialConfig{timeout: DefaultTimeout, healthCheck: true}
	for _, o := range opts {
		o(&cfg)
	}
	dopts, err := cfg.security.dialOptions()
	if err != nil {
		return nil, fmt.Errorf("tcpemu: dial %s: %w", target, err)
	}
	dopts = append(dopts, cfg.dialOptions...)
	conn, err := grpc.NewClient(target, dopts...)
	if err != nil {
		return nil, fmt.Errorf("tcpemu: dial %s: %w", target, err)
	}
	c := &Client{conn: conn, rpc: tcpemuv1.NewEmulatorClient(conn), timeout: cfg.timeout, target: target}
	if cfg.healthCheck {
		if err := c.checkHealth(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("tcpemu: dial %s: %w", target, err)
		}
	}
	return c, nil
}

func (c *Client) checkHealth(ctx context.Context) error {
	ctx, cancel := c.callContext(ctx, 0)
	defer cancel()
	resp, err := healthpb.NewHealthClient(c.conn).Check(ctx,
		&healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		return withContext(ctx, err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return status.Errorf(codes.Unavailable, "tcpemud health is %s", resp.GetStatus())
	}
	return nil
}

// Close closes the connection. Streams still open end with codes.Canceled.
func (c *Client) Close() error { return c.conn.Close() }

// Target returns the target the client was dialled with: with several
// replicas (DialSharded), the replica's name.
func (c *Client) Target() string { return c.target }

// Raw returns the generated client, for calls this package does not wrap.
func (c *Client) Raw() tcpemuv1.EmulatorClient { return c.rpc }

// callContext applies the default timeout, plus extra, to a context without a
// deadline.
func (c *Client) callContext(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout+extra)
}

// call runs one unary RPC under the default timeout and wraps its error.
func call[Req, Resp any](ctx context.Context, c *Client, op string, extra time.Duration,
	fn func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := c.callContext(ctx, extra)
	defer cancel()
	resp, err := fn(ctx, req)
	if err != nil {
		var zero Resp
		return zero, wrap(ctx, op, err)
	}
	return resp, nil
}

// wrap names the operation while keeping the gRPC status reachable:
// status.Code and status.FromError see through it, and when the context
// ended the call, errors.Is(err, context.Canceled or DeadlineExceeded) holds.
func wrap(ctx context.Context, op string, err error) error {
	return fmt.Errorf("tcpemu: %s: %w", op, withContext(ctx, err))
}

func withContext(ctx context.Context, err error) error {
	cerr := ctx.Err()
	switch status.Code(err) {
	case codes.Canceled:
		if cerr == nil {
			return err
		}
	case codes.DeadlineExceeded:
		// The daemon enforces the deadline too and may answer before the
		// local timer fires.
		if _, ok := ctx.Deadline(); !ok {
			return err
		}
		cerr = context.DeadlineExceeded
	default:
		return err
	}
	if errors.Is(err, cerr) {
		return err
	}
	return &ctxError{status: err, ctx: cerr}
}

// ctxError is a gRPC status error caused by its context ending.
type ctxError struct {
	status error
	ctx    error
}

func (e *ctxError) Error() string   { return e.status.Error() }
func (e *ctxError) Unwrap() []error { return []error{e.status, e.ctx} }
