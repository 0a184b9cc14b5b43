// Package tcpemu is the Go client of tcpemud, the tcpemu daemon that hosts
// userspace TCP sessions across emulated links and reports every segment as
// an event.
//
// Dial returns a Client. A Network is a clock domain (REALTIME, or VIRTUAL
// where time moves only through Network.Advance); a Link is an emulated path
// with netem-style impairments, set with options such as WithDelay, WithRate
// (bit/s) and WithLoss; a Session is one TCP connection across a link, with
// both endpoints inside the daemon. Sessions take data (Write, WriteFill),
// give it back (Read), close, take injected faults, report their TCBs
// (Snapshot) and stream their events (Events).
//
// An Interface is a TAP device that joins a REALTIME network to real hosts:
// the engine connects to them (Interface.Connect) and accepts their
// connections (Interface.Listen, Listener.Accept), in sessions with only the
// engine's endpoint (Session.Local); ExportPcap writes a captured session's
// packets as a pcap file.
//
// DialSharded spreads work over several tcpemud replicas: a Sharded holds a
// Client per replica and picks one per key of the caller's with rendezvous
// hashing (Owner), the same as the Python client's. IDs are per replica;
// handles remember theirs (Session.Replica and the like).
//
// The connection is plaintext unless WithTLS (WithClientCert for mutual TLS)
// is given; WithToken sends a bearer token on every call, for a daemon run with
// --auth_tokens (codes.Unauthenticated when it is missing or unknown).
//
// Every method takes a context first. Errors are the daemon's gRPC status
// errors wrapped with the operation's name: status.Code(err) gives the code
// (codes.InvalidArgument with the field named, codes.NotFound,
// codes.FailedPrecondition, ...), and errors.Is(err, context.Canceled) or
// context.DeadlineExceeded holds when the context ended the call.
package tcpemu
