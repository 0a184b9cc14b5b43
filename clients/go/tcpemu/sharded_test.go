package tcpemu_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	tcpemuv1 "github.com/tcpemu/tcpemu/clients/go/gen/tcpemu/v1"
	"github.com/tcpemu/tcpemu/clients/go/internal/testdaemon"
	"github.com/tcpemu/tcpemu/clients/go/tcpemu"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The test vector of the replica hash, a copy inside the module (so that its
// tests run from a copy of the module alone) of the one shared with the
// Python client's tests, clients/testdata/replica_hash.json of the
// repository, which TestReplicaHashVectorIsTheSharedOne compares it with.
const (
	replicaHashVector       = "testdata/replica_hash.json"
	sharedReplicaHashVector = "../../testdata/replica_hash.json"
)

type hashVector struct {
	Scores []struct {
		Replica string `json:"replica"`
		Key     string `json:"key"`
		Score   string `json:"score"`
	} `json:"scores"`
	Cases []struct {
		Targets []string          `json:"targets"`
		Owners  map[string]string `json:"owners"`
	} `json:"cases"`
}

func readHashVector(t *testing.T) hashVector {
	t.Helper()
	var v hashVector
	if err := json.Unmarshal(readFile(t, replicaHashVector), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// referenceOwner is the hash from its definition, independent of the package.
func referenceOwner(key string, targets []string) string {
	best, bestScore := "", uint64(0)
	sorted := slices.Clone(targets)
	slices.Sort(sorted)
	for i, r := range sorted {
		sum := sha256.Sum256([]byte(r + "\x00" + key))
		if s := binary.BigEndian.Uint64(sum[:8]); i == 0 || s > bestScore {
			best, bestScore = r, s
		}
	}
	return best
}

func TestReplicaHashVectorIsTheSharedOne(t *testing.T) {
	shared, err := os.ReadFile(sharedReplicaHashVector)
	if errors.Is(err, fs.ErrNotExist) {
		why := fmt.Sprintf("%s does not exist: the module is outside the tcpemu repository; "+
			"the tests use the module's copy, %s", sharedReplicaHashVector, replicaHashVector)
		fmt.Fprintf(os.Stderr, "\n*** SKIPPING TestReplicaHashVectorIsTheSharedOne: %s ***\n", why)
		t.Skip("SKIPPING: " + why)
	}
	if err != nil {
		t.Fatal(err)
	}
	if own := readFile(t, replicaHashVector); !bytes.Equal(own, shared) {
		t.Fatalf("%s differs from the shared %s (written by clients/python/tools/gen_replica_hash.py): "+
			"copy it with `cp clients/testdata/replica_hash.json clients/go/tcpemu/testdata/`",
			replicaHashVector, sharedReplicaHashVector)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReplicaHashVectorScores(t *testing.T) {
	v := readHashVector(t)
	if len(v.Scores) == 0 {
		t.Fatal("no scores in the vector")
	}
	for _, s := range v.Scores {
		if got := fmt.Sprintf("%016x", tcpemu.ReplicaScore(s.Key, s.Replica)); got != s.Score {
			t.Errorf("ReplicaScore(%q, %q) = %s, want %s", s.Key, s.Replica, got, s.Score)
		}
	}
}

func TestReplicaHashVectorOwners(t *testing.T) {
	v := readHashVector(t)
	if len(v.Cases) < 3 {
		t.Fatalf("%d cases in the vector", len(v.Cases))
	}
	for _, c := range v.Cases {
		// Without a health check nothing connects: no daemon is needed.
		sh, err := tcpemu.DialSharded(context.Background(), c.Targets, tcpemu.WithoutHealthCheck())
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(c.Targets)
		slices.Sort(want)
		if got := sh.Replicas(); !slices.Equal(got, want) {
			t.Errorf("Replicas() = %v, want %v", got, want)
		}
		reversed := slices.Clone(c.Targets)
		slices.Reverse(reversed)
		for key, owner := range c.Owners {
			if got := sh.ReplicaFor(key); got != owner {
				t.Errorf("targets %v: ReplicaFor(%q) = %s, want %s", c.Targets, key, got, owner)
			}
			if got := sh.ForKey(key).Target(); got != owner {
				t.Errorf("ForKey(%q).Target() = %s, want %s", key, got, owner)
			}
			if got := tcpemu.Owner(key, append(reversed, c.Targets[0])); got != owner {
				t.Errorf("Owner(%q, reversed and duplicated) = %s, want %s", key, got, owner)
			}
			if got := referenceOwner(key, c.Targets); got != owner {
				t.Errorf("referenceOwner(%q) = %s, want %s", key, got, owner)
			}
		}
		sh.Close()
	}
}

func TestAddingReplicaMovesAThirdOfKeysToIt(t *testing.T) {
	two := []string{"tcpemu-0.tcpemu-headless:50051", "tcpemu-1.tcpemu-headless:50051"}
	three := append(slices.Clone(two), "tcpemu-2.tcpemu-headless:50051")
	const n = 10_000
	moved := 0
	counts := map[string]int{}
	for i := range n {
		key := fmt.Sprintf("key-%d", i)
		before, after := tcpemu.Owner(key, two), tcpemu.Owner(key, three)
		counts[after]++
		if before != after {
			moved++
			if after != three[2] {
				t.Fatalf("key %q moved from %s to %s, not to the new replica", key, before, after)
			}
		}
	}
	if f := float64(moved) / n; f < 0.28 || f > 0.38 {
		t.Errorf("%d of %d keys moved, want about a third", moved, n)
	}
	for _, r := range three {
		if f := float64(counts[r]) / n; f < 0.28 || f > 0.38 {
			t.Errorf("replica %s owns %d of %d keys", r, counts[r], n)
		}
	}
	if tcpemu.Owner("k", nil) != "" {
		t.Error(`Owner("k", nil) is not ""`)
	}
}

func TestDialShardedTargets(t *testing.T) {
	ctx := context.Background()
	sh, err := tcpemu.DialSharded(ctx, []string{"b:1", " a:1", "b:1", ""}, tcpemu.WithoutHealthCheck())
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if got := sh.Replicas(); !slices.Equal(got, []string{"a:1", "b:1"}) {
		t.Fatalf("Replicas() = %v", got)
	}
	if err := sh.Refresh(ctx); err != nil || len(sh.Replicas()) != 2 {
		t.Fatalf("Refresh of a list: %v, %v", err, sh.Replicas())
	}
	if sh.ForReplica("c:1") != nil {
		t.Fatal("ForReplica of an unknown replica is not nil")
	}
	if _, err := tcpemu.DialSharded(ctx, []string{" "}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("DialSharded without targets: %v", err)
	}
}

// listSessions lists a network's sessions on one daemon (every network's
// for 0), by client and server port.
func listSessions(t *testing.T, ctx context.Context, c *tcpemu.Client, networkID uint32) map[[2]uint32]*tcpemuv1.Session {
	t.Helper()
	out := map[[2]uint32]*tcpemuv1.Session{}
	token := ""
	for {
		resp, err := c.Raw().ListSessions(ctx, &tcpemuv1.ListSessionsRequest{
			NetworkId: networkID, PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range resp.GetSessions() {
			out[[2]uint32{s.GetClient().GetPort(), s.GetServer().GetPort()}] = s
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

func TestShardedSessionsOnTwoReplicas(t *testing.T) {
	targets := testdaemon.Replicas(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh, err := tcpemu.DialSharded(ctx, targets)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	direct := map[string]*tcpemu.Client{}
	for _, addr := range targets {
		c, err := tcpemu.Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		direct[addr] = c
	}

	const n = 100
	keys := make([]string, n)
	owners := map[string]string{}
	counts := map[string]int{}
	for i := range keys {
		keys[i] = fmt.Sprintf("s-%d", i)
		owners[keys[i]] = sh.ReplicaFor(keys[i])
		counts[owners[keys[i]]]++
		if want := referenceOwner(keys[i], targets); owners[keys[i]] != want {
			t.Fatalf("ReplicaFor(%q) = %s, the hash says %s", keys[i], owners[keys[i]], want)
		}
	}
	for _, addr := range targets {
		if counts[addr] < 30 || counts[addr] > 70 {
			t.Fatalf("a degenerate spread: %v", counts)
		}
	}
	ports := func(i int) [2]uint32 { return [2]uint32{20000 + uint32(i), 30000 + uint32(i)} }

	// A REALTIME network of the test's own on each replica.
	nets := map[string]*tcpemu.Network{}
	for _, addr := range targets {
		net, err := sh.ForReplica(addr).CreateNetwork(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer net.Delete(context.Background())
		if net.Replica() != addr {
			t.Fatalf("network on %s reports replica %s", addr, net.Replica())
		}
		nets[addr] = net
	}
	quick := tcpemu.WithTCP(tcpemu.NoDelay(true), tcpemu.MSL(20*time.Millisecond))
	sessions := make([]*tcpemu.Session, n)
	for i, key := range keys {
		link, err := sh.CreateLink(ctx, key, tcpemu.InNetwork(nets[owners[key]]),
			tcpemu.WithDelay(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		p := ports(i)
		s, err := sh.OpenSession(ctx, key, link, quick, tcpemu.WithPorts(uint16(p[0]), uint16(p[1])))
		if err != nil {
			t.Fatal(err)
		}
		if s.Replica() != owners[key] || link.Replica() != owners[key] {
			t.Fatalf("key %q: session on %s, link on %s, owner %s", key, s.Replica(), link.Replica(), owners[key])
		}
		sessions[i] = s
	}

	// Each session exists on its owner, and on no other replica.
	for _, addr := range targets {
		everywhere := listSessions(t, ctx, direct[addr], 0)
		inNet := listSessions(t, ctx, direct[addr], nets[addr].ID)
		for i, key := range keys {
			_, there := everywhere[ports(i)]
			_, inOwn := inNet[ports(i)]
			if mine := owners[key] == addr; there != mine || inOwn != mine {
				t.Fatalf("key %q (owner %s): on %s %v, in its network %v", key, owners[key], addr, there, inOwn)
			}
		}
	}

	for i, s := range sessions {
		if err := s.WaitFor(ctx, tcpemu.StateEstablished, tcpemu.EndpointServer); err != nil {
			t.Fatal(err)
		}
		snap, err := s.Snapshot(ctx) // GetSession: the owner's session, by its ports
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]uint32{snap.GetClient().GetPort(), snap.GetServer().GetPort()}; got != ports(i) {
			t.Fatalf("session %d of %q: ports %v, want %v", s.ID, keys[i], got, ports(i))
		}
		if m, err := s.WriteFill(ctx, int64(1000+i), tcpemu.WithPush(), tcpemu.WithWait(5*time.Second)); err != nil || m != int64(1000+i) {
			t.Fatalf("WriteFill: %d, %v", m, err)
		}
	}
	// The bytes arrive on the owner.
	for _, addr := range targets {
		for deadline := time.Now().Add(20 * time.Second); ; {
			got := listSessions(t, ctx, direct[addr], nets[addr].ID)
			done := true
			for i, key := range keys {
				if owners[key] != addr {
					continue
				}
				p := got[ports(i)]
				if p.GetClient().GetBytesWritten() != uint64(1000+i) {
					t.Fatalf("key %q: %d bytes written on %s", key, p.GetClient().GetBytesWritten(), addr)
				}
				done = done && p.GetServer().GetBytesRead() == uint64(1000+i)
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("bytes did not arrive on %s", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i, s := range sessions {
		st, err := s.Close(ctx, tcpemu.EndpointClient)
		if err != nil {
			t.Fatal(err)
		}
		if st == tcpemu.StateEstablished {
			t.Fatalf("session of %q still ESTABLISHED after Close", keys[i])
		}
	}
	for _, addr := range targets {
		got := listSessions(t, ctx, direct[addr], nets[addr].ID)
		for i, key := range keys {
			if owners[key] == addr && got[ports(i)].GetClient().GetTcb().GetState() == tcpemu.StateEstablished {
				t.Fatalf("key %q: the owner's client is still ESTABLISHED after Close", key)
			}
		}
	}
}

func TestShardedRefusesHandleOfOtherReplica(t *testing.T) {
	targets := testdaemon.Replicas(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sh, err := tcpemu.DialSharded(ctx, targets)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	byReplica := map[string]string{}
	for i := 0; len(byReplica) < 2; i++ {
		k := fmt.Sprintf("k-%d", i)
		byReplica[sh.ReplicaFor(k)] = k
	}
	a, b := byReplica[sh.Replicas()[0]], byReplica[sh.Replicas()[1]]
	net, err := sh.CreateNetwork(ctx, a, tcpemu.Virtual())
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	if _, err := sh.CreateLink(ctx, b, tcpemu.InNetwork(net)); status.Code(err) != codes.InvalidArgument ||
		!strings.Contains(err.Error(), "is on replica") {
		t.Fatalf("CreateLink with another replica's network: %v", err)
	}
	link, err := sh.CreateLink(ctx, a, tcpemu.InNetwork(net))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sh.OpenSession(ctx, b, link); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("OpenSession with another replica's link: %v", err)
	}
	s, err := sh.OpenSession(ctx, a, link)
	if err != nil {
		t.Fatal(err)
	}
	again, err := sh.ForReplica(s.Replica()).GetSession(ctx, s.ID)
	if err != nil || again.LinkID != link.ID || again.Replica() != net.Replica() {
		t.Fatalf("GetSession on the session's replica: %+v, %v", again, err)
	}
}

func TestShardedDNSTarget(t *testing.T) {
	addr := testdaemon.Addr(t)
	_, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sh, err := tcpemu.DialSharded(ctx, []string{"dns:///localhost:" + port})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if got := sh.Replicas(); !slices.Equal(got, []string{"127.0.0.1:" + port}) {
		t.Fatalf("Replicas() = %v", got)
	}
	net, err := sh.CreateNetwork(ctx, "exp-42", tcpemu.Virtual())
	if err != nil {
		t.Fatal(err)
	}
	defer net.Delete(context.Background())
	link, err := sh.CreateLink(ctx, "exp-42", tcpemu.InNetwork(net), tcpemu.WithDelay(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sh.OpenSession(ctx, "exp-42", link)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Advance(ctx, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitFor(ctx, tcpemu.StateEstablished, tcpemu.EndpointClient); err != nil {
		t.Fatal(err)
	}
	if err := sh.Refresh(ctx); err != nil || len(sh.Replicas()) != 1 {
		t.Fatalf("Refresh: %v, %v", err, sh.Replicas())
	}
}
