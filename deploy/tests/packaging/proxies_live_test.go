package packaging

// The proxy-redis overlay's tcpemud, live: run the way its pod runs it (the
// image's entrypoint, the pod's flags, user and restrictions, the proxies'
// ConfigMap at its mount path), with a real redis-server as the upstream
// "redis" in a network namespace of its own behind a veth pair (its address
// in 10.0.0.0/8, what the overlay's --proxy_upstream_allow admits; the name
// in the daemon's /etc/hosts, as the cluster's DNS would answer it). redis-cli
// talks to redis through the proxy's port; the toxiproxy HTTP API lists the
// proxy, adds a latency toxic whose delay redis-cli then sees, and is refused
// listen addresses and upstreams the pod's flags do not allow.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	upstreamAddr = "10.96.0.10" // redis, in its own network namespace
	podVethAddr  = "10.96.0.1"
	apiURL       = "http://127.0.0.1:8474"
)

// startRedisUpstream runs redis-server as nobody in a new network namespace
// joined to this one by a veth pair, listening on upstreamAddr:6379.
func startRedisUpstream(t *testing.T) {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		skipOrFail(t, "redis-server is not installed (Debian: apt-get install redis-server)")
	}
	script := `while ! ip link show veth-up >/dev/null 2>&1; do sleep 0.05; done
ip link set lo up && ip addr add ` + upstreamAddr + `/24 dev veth-up && ip link set veth-up up &&
exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"`
	cmd := exec.Command("unshare", "--net", "--", "sh", "-c", script, "sh",
		server, "--bind", upstreamAddr, "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no")
	cmd.Dir = "/"
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		exec.Command("ip", "link", "del", "tcpemu-up").Run()
		if t.Failed() {
			t.Logf("redis-server output:\n%s", out.String())
		}
	})
	// unshare(1) is this pid before and after it enters the new namespace:
	// a veth moved to the pid before that lands in this namespace, and the
	// script would wait for it forever (seen on a busy machine).
	waitOwnNetns(t, cmd.Process.Pid, done)
	for _, args := range [][]string{
		{"link", "add", "name", "tcpemu-up", "type", "veth", "peer", "name", "veth-up", "netns", fmt.Sprint(cmd.Process.Pid)},
		{"addr", "add", podVethAddr + "/24", "dev", "tcpemu-up"},
		{"link", "set", "tcpemu-up", "up"},
	} {
		if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", upstreamAddr+":6379", time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("redis-server exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server at %s:6379 not reachable after 20s: %v\n%s", upstreamAddr, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitOwnNetns waits until process pid is in a network namespace other
// than this one.
func waitOwnNetns(t *testing.T, pid int, done chan error) {
	t.Helper()
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err == nil && ns != self {
			return
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("unshare exited before entering its namespace: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not enter a network namespace of its own in 60s", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// redisCLI runs redis-cli against addr:6379 and returns its output, trimmed.
func redisCLI(t *testing.T, addr string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", append([]string{"-h", addr, "-p", "6379"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %q: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// api sends a request to the toxiproxy HTTP API and returns the status and
// the body.
func api(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, apiURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestLiveProxyRedisPod(t *testing.T) {
	requireNetns(t)
	if _, err := exec.LookPath("redis-cli"); err != nil {
		skipOrFail(t, "redis-cli is not installed (Debian: apt-get install redis-tools)")
	}
	startRedisUpstream(t)
	// Directly, before any proxy: the upstream works.
	if got := redisCLI(t, upstreamAddr, "PING"); got != "PONG" {
		t.Fatalf("redis-cli PING to redis itself: %q", got)
	}

	p := renderedPod(t, "kustomize-proxy-redis.yaml")
	if _, ok := p.files["/etc/tcpemu/proxies.json"]; !ok {
		t.Fatalf("the pod mounts no /etc/tcpemu/proxies.json: %v", p.files)
	}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	p.files["/etc/hosts"] = string(hosts) + upstreamAddr + " redis\n"
	d := p.start(t)

	// The application's side: the proxy's port in the pod.
	if got := redisCLI(t, "127.0.0.1", "PING"); got != "PONG" {
		t.Errorf("redis-cli PING through the proxy: %q, want PONG", got)
	}
	if got := redisCLI(t, "127.0.0.1", "SET", "tcpemu:key", "through the proxy"); got != "OK" {
		t.Errorf("SET through the proxy: %q", got)
	}
	// Read back from redis itself: the write went through to it.
	if got := redisCLI(t, upstreamAddr, "GET", "tcpemu:key"); got != "through the proxy" {
		t.Errorf("GET from redis: %q, want the value written through the proxy", got)
	}

	// The toxiproxy HTTP API (GET /proxies: an object keyed by name).
	status, body := api(t, http.MethodGet, "/proxies", nil)
	var proxies map[string]struct {
		Name     string `json:"name"`
		Upstream string `json:"upstream"`
		Enabled  bool   `json:"enabled"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &proxies) != nil {
		t.Fatalf("GET /proxies: %d %s", status, body)
	}
	if r, ok := proxies["redis"]; !ok || len(proxies) != 1 || r.Name != "redis" || r.Upstream != "redis:6379" || !r.Enabled {
		t.Errorf("GET /proxies: %s, want only redis -> redis:6379, enabled", body)
	}

	// A latency toxic (downstream, toxiproxy's default): every reply waits
	// for it, so a PING takes at least that long.
	const latency = 300 * time.Millisecond
	status, body = api(t, http.MethodPost, "/proxies/redis/toxics", map[string]any{
		"type": "latency", "attributes": map[string]any{"latency": latency.Milliseconds()},
	})
	if status != http.StatusOK {
		t.Fatalf("POST /proxies/redis/toxics: %d %s", status, body)
	}
	start := time.Now()
	if got := redisCLI(t, "127.0.0.1", "PING"); got != "PONG" {
		t.Errorf("redis-cli PING with the latency toxic: %q", got)
	}
	if el := time.Since(start); el < latency {
		t.Errorf("PING through a %v latency toxic took %v", latency, el)
	}

	// The pod's flags allow this listen port only, and upstreams on 6379:
	// a new proxy elsewhere, or this one pointed elsewhere, is refused.
	for _, tc := range []struct {
		path string
		body map[string]any
		flag string
	}{
		{"/proxies", map[string]any{"name": "other-port", "listen": "0.0.0.0:6380", "upstream": "redis:6379"}, "--proxy_listen_allow"},
		{"/proxies", map[string]any{"name": "loopback", "listen": "127.0.0.1:0", "upstream": "redis:6379"}, "--proxy_listen_allow"},
		{"/proxies/redis", map[string]any{"upstream": upstreamAddr + ":22"}, "--proxy_upstream_allow"},
		{"/proxies/redis", map[string]any{"upstream": "192.0.2.1:6379"}, "--proxy_upstream_allow"},
	} {
		status, body := api(t, http.MethodPost, tc.path, tc.body)
		if status < 400 || status >= 500 || !bytes.Contains(body, []byte(tc.flag)) {
			t.Errorf("POST %s %v: %d %s; want a 4xx naming %s", tc.path, tc.body, status, body, tc.flag)
		}
	}
	if got := redisCLI(t, "127.0.0.1", "GET", "tcpemu:key"); got != "through the proxy" {
		t.Errorf("GET through the proxy after the refused updates: %q", got)
	}
	d.stop(t, p.gracePeriod)
}
