package tcpemu

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultPort is the port of a DNS name given without one: tcpemud's default.
const DefaultPort = 50051

// ReplicaScore is the rendezvous weight of replica for key: the first 8 bytes
// of SHA-256(replica || 0x00 || key), as a big-endian uint64. The Python
// client (tcpemu.sharding.score) computes the same.
func ReplicaScore(key, replica string) uint64 {
	h := sha256.New()
	h.Write([]byte(replica))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// Owner returns the replica that owns key among replicas: the one with the
// highest ReplicaScore, on a tie the byte-wise smallest name (rendezvous, or
// highest-random-weight, hashing). The order of replicas does not matter.
// Adding a replica moves only the keys it now wins, about 1/n of them;
// removing one moves only the keys it owned. It returns "" for no replicas.
func Owner(key string, replicas []string) string {
	best, bestScore, found := "", uint64(0), false
	for _, r := range replicas {
		s := ReplicaScore(key, r)
		if !found || s > bestScore || (s == bestScore && r < best) {
			best, bestScore, found = r, s, true
		}
	}
	return best
}

// lookupNetIP resolves a host name; tests replace it.
var lookupNetIP = net.DefaultResolver.LookupNetIP

// Resolve returns the replicas that a single target names, as sorted
// "ip:port" strings ("[v6]:port" for IPv6). "dns:///name:port" and
// "name:port" are looked up (A and AAAA records): if the name has IPv4
// addresses they are the replicas, otherwise its IPv6 addresses (a dual-stack
// headless Service lists every pod under both). An IP address is itself; a
// missing port is DefaultPort. A target of another scheme ("unix:/path") is
// one replica, as given.
func Resolve(ctx context.Context, target string) ([]string, error) {
	hostport, isDNS := strings.CutPrefix(target, "dns:")
	if isDNS {
		if rest, ok := strings.CutPrefix(hostport, "//"); ok {
			authority, path, _ := strings.Cut(rest, "/")
			if authority != "" {
				return nil, status.Errorf(codes.InvalidArgument,
					"tcpemu: target %q: a DNS server in the target is not supported; use dns:///name:port", target)
			}
			hostport = path
		}
	}
	host, port, ok := splitHostPort(hostport)
	if !ok {
		scheme, rest, hasScheme := strings.Cut(target, ":")
		if isDNS || !hasScheme || !isScheme(scheme) || isDigits(rest) {
			return nil, status.Errorf(codes.InvalidArgument,
				"tcpemu: target %q: expected host:port or dns:///host:port", target)
		}
		return []string{target}, nil // another scheme, for gRPC
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return []string{replicaName(addr, port)}, nil
	}
	addrs, err := lookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "tcpemu: cannot resolve %q of target %q: %v", host, target, err)
	}
	var v4, v6 []string
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() {
			v4 = append(v4, replicaName(a, port))
		} else {
			v6 = append(v6, replicaName(a, port))
		}
	}
	names := v4
	if len(names) == 0 {
		names = v6
	}
	if len(names) == 0 {
		return nil, status.Errorf(codes.Unavailable, "tcpemu: %q of target %q has no address", host, target)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func replicaName(a netip.Addr, port uint16) string {
	return netip.AddrPortFrom(a.WithZone(""), port).String()
}

// splitHostPort splits "host", "host:port", "[v6]", "[v6]:port" or a bare
// IPv6 address; ok is false for anything else.
func splitHostPort(s string) (host string, port uint16, ok bool) {
	p := strconv.Itoa(DefaultPort)
	switch {
	case strings.HasPrefix(s, "["):
		inner, rest, found := strings.Cut(s[1:], "]")
		if !found || inner == "" {
			return "", 0, false
		}
		host = inner
		if rest != "" {
			var hasPort bool
			if p, hasPort = strings.CutPrefix(rest, ":"); !hasPort {
				return "", 0, false
			}
		}
	case strings.Count(s, ":") >= 2:
		if a, err := netip.ParseAddr(s); err != nil || !a.Is6() {
			return "", 0, false
		}
		return s, DefaultPort, true
	default:
		var hasPort bool
		host, p, hasPort = strings.Cut(s, ":")
		if !hasPort {
			p = strconv.Itoa(DefaultPort)
		}
	}
	if host == "" || strings.Contains(host, "/") || !isDigits(p) {
		return "", 0, false
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, false
	}
	return host, uint16(n), true
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func isScheme(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return s != ""
}

// Sharded is a Client per tcpemud replica and a stable choice of replica per
// key. Replicas are independent daemons: network, link, session and interface
// IDs are per replica, so a resource lives on exactly one, and an ID alone
// does not name it. ForKey returns the Client of the replica that owns a key
// (Owner over Replicas); the handles it returns stay bound to that replica,
// and their Replica method names it. It is safe for concurrent use.
type Sharded struct {
	source string // the single target that Refresh resolves again, or ""
	opts   []DialOption

	mu       sync.RWMutex
	replicas []string
	// Every replica's Client, including replicas a Refresh dropped: their
	// handles keep working until Close.
	clients map[string]*Client
}

// DialSharded connects to several tcpemud replicas. Several targets
// ("host:port", or any gRPC target) are the replicas, each named as given. A
// single target is a DNS name ("dns:///tcpemu-headless.ns.svc:50051" or
// "tcpemu-headless.ns.svc:50051") that is resolved now, one replica per
// address (see Resolve), and again by Refresh. Each replica is dialled with
// opts, as by Dial (which, unless WithoutHealthCheck, waits until it serves);
// if one fails, DialSharded fails.
func DialSharded(ctx context.Context, targets []string, opts ...DialOption) (*Sharded, error) {
	var list []string
	for _, t := range targets {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(list, t) {
			list = append(list, t)
		}
	}
	if len(list) == 0 {
		return nil, status.Error(codes.InvalidArgument, "tcpemu: DialSharded: no targets")
	}
	s := &Sharded{opts: opts, clients: map[string]*Client{}}
	names := list
	if len(list) == 1 {
		s.source = list[0]
		var err error
		if names, err = Resolve(ctx, s.source); err != nil {
			return nil, err
		}
	}
	if err := s.apply(ctx, names); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// apply dials the replicas not dialled yet, in parallel, and makes names the
// replica set; on an error the set is unchanged.
func (s *Sharded) apply(ctx context.Context, names []string) error {
	s.mu.RLock()
	var fresh []string
	for _, n := range names {
		if _, ok := s.clients[n]; !ok && !slices.Contains(fresh, n) {
			fresh = append(fresh, n)
		}
	}
	s.mu.RUnlock()
	dialled := make([]*Client, len(fresh))
	errs := make([]error, len(fresh))
	var wg sync.WaitGroup
	for i, n := range fresh {
		wg.Go(func() { dialled[i], errs[i] = Dial(ctx, n, s.opts...) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range dialled {
			if c != nil {
				c.Close()
			}
		}
		return err
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range fresh {
		if _, ok := s.clients[n]; ok { // a concurrent Refresh was first
			dialled[i].Close()
			continue
		}
		s.clients[n] = dialled[i]
	}
	s.replicas = slices.Compact(sorted)
	return nil
}

// Replicas returns the current replicas' names, sorted.
func (s *Sharded) Replicas() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.replicas)
}

// ReplicaFor returns the name of the replica that owns key (see Owner).
func (s *Sharded) ReplicaFor(key string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Owner(key, s.replicas)
}

// ForKey returns the Client of the replica that owns key.
func (s *Sharded) ForKey(key string) *Client {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clients[Owner(key, s.replicas)]
}

// ForReplica returns the Client of replica name (one of Replicas, or a
// handle's Replica), or nil if this Sharded does not know it. Keep a
// resource's replica with its ID to find it again:
// ForReplica(replica).GetSession(ctx, id).
func (s *Sharded) ForReplica(name string) *Client {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clients[name]
}

// Refresh resolves the DNS name that DialSharded was given again: new
// replicas are dialled, and the keys they win move to them; replicas no
// longer listed leave the set (their handles keep working until Close). If
// resolving or dialling fails, the set is unchanged. With several targets it
// does nothing.
func (s *Sharded) Refresh(ctx context.Context) error {
	if s.source == "" {
		return nil
	}
	names, err := Resolve(ctx, s.source)
	if err != nil {
		return err
	}
	return s.apply(ctx, names)
}

// Close closes every replica's connection.
func (s *Sharded) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.clients {
		errs = append(errs, c.Close())
	}
	clear(s.clients)
	s.replicas = nil
	return errors.Join(errs...)
}

// owner returns key's Client after checking that a handle given with it is
// on the same replica.
func (s *Sharded) owner(op, key, what string, id uint32, c *Client) (*Client, error) {
	s.mu.RLock()
	name := Owner(key, s.replicas)
	owner := s.clients[name]
	s.mu.RUnlock()
	if c != nil && c.target != name {
		return nil, status.Errorf(codes.InvalidArgument,
			"tcpemu: %s: %s %d is on replica %s, but key %q belongs to %s", op, what, id, c.target, key, name)
	}
	if owner == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "tcpemu: %s: the sharded client is closed", op)
	}
	return owner, nil
}

// CreateNetwork creates a network on the replica that owns key.
func (s *Sharded) CreateNetwork(ctx context.Context, key string, opts ...NetworkOption) (*Network, error) {
	c, err := s.owner("CreateNetwork", key, "", 0, nil)
	if err != nil {
		return nil, err
	}
	return c.CreateNetwork(ctx, opts...)
}

// CreateLink creates a link on the replica that owns key; a network given
// with InNetwork must be on that replica (else codes.InvalidArgument).
func (s *Sharded) CreateLink(ctx context.Context, key string, opts ...LinkOption) (*Link, error) {
	var netClient *Client
	var netID uint32
	if n := newLinkConfig(opts).network; n != nil {
		netClient, netID = n.c, n.ID
	}
	c, err := s.owner("CreateLink", key, "network", netID, netClient)
	if err != nil {
		return nil, err
	}
	return c.CreateLink(ctx, opts...)
}

// OpenSession opens a session across link on the replica that owns key; the
// link must be on that replica (else codes.InvalidArgument).
func (s *Sharded) OpenSession(ctx context.Context, key string, link *Link, opts ...SessionOption) (*Session, error) {
	c, err := s.owner("OpenSession", key, "link", link.ID, link.c)
	if err != nil {
		return nil, err
	}
	return c.OpenSession(ctx, link, opts...)
}

// String lists the replicas.
func (s *Sharded) String() string {
	return fmt.Sprintf("tcpemu.Sharded%v", s.Replicas())
}
