package toxiproxy_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// cliResult is what one toxiproxy-cli run printed and its exit code.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs toxiproxy-cli -h <the API> args... (stdout is no terminal, so
// it prints without colours or hints).
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliPath, append([]string{"-h", apiAddr}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		r.code = exit.ExitCode()
	default:
		t.Fatalf("toxiproxy-cli %s: %v (stderr %q)", strings.Join(args, " "), err, r.stderr)
	}
	t.Logf("toxiproxy-cli %s -> exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// cliOK runs toxiproxy-cli and checks that it exits 0 and prints want.
func cliOK(t *testing.T, want string, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, args...)
	if r.code != 0 || r.stdout != want {
		t.Fatalf("toxiproxy-cli %s: exit %d, stdout %q, stderr %q; want exit 0, stdout %q",
			strings.Join(args, " "), r.code, r.stdout, r.stderr, want)
	}
	return r
}

// cliFails runs toxiproxy-cli and checks that it exits 1 with a message on
// stderr that starts with wantPrefix.
func cliFails(t *testing.T, wantPrefix string, args ...string) {
	t.Helper()
	r := runCLI(t, args...)
	if r.code != 1 || !strings.HasPrefix(r.stderr, wantPrefix) {
		t.Errorf("toxiproxy-cli %s: exit %d, stderr %q; want exit 1 and stderr starting %q",
			strings.Join(args, " "), r.code, r.stderr, wantPrefix)
	}
}

// listLine returns the fields of name's line in `toxiproxy-cli list`
// (name, listen, upstream, enabled/disabled, number of toxics), or nil.
func listLine(t *testing.T, name string) []string {
	t.Helper()
	r := runCLI(t, "list")
	if r.code != 0 {
		t.Fatalf("toxiproxy-cli list: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		fields := strings.Split(line, "\t")
		if fields[0] == name {
			if len(fields) != 5 {
				t.Fatalf("toxiproxy-cli list: line %q, want 5 tab-separated fields", line)
			}
			return fields
		}
	}
	return nil
}

func TestCLI(t *testing.T) {
	c := newClient(t)
	if cliPath == "" {
		t.Fatal("TOXIPROXY_CLI is not set: run tests/toxiproxy/test.sh, which builds toxiproxy-cli")
	}
	name := proxyName(t, "")
	upstream := startEcho(t, "")
	t.Cleanup(func() {
		if p, err := c.Proxy(name); err == nil {
			_ = p.Delete()
		}
	})

	cliOK(t, "Created new proxy "+name+"\n", "create", "-l", "127.0.0.1:0", "-u", upstream, name)
	cliFails(t, "Failed to create proxy: Create: HTTP 409", "create", "-l", "127.0.0.1:0", "-u", upstream, name)

	fields := listLine(t, name)
	if fields == nil {
		t.Fatalf("toxiproxy-cli list has no line for %s", name)
	}
	listen := fields[1]
	checkBoundListen(t, listen)
	if fields[2] != upstream || fields[3] != "enabled" || fields[4] != "0" {
		t.Errorf("toxiproxy-cli list: %q, want upstream %s, enabled, 0 toxics", fields, upstream)
	}
	echoWorks(t, listen, "")

	cliOK(t, "Added downstream latency toxic 'latency_downstream' on proxy '"+name+"'\n",
		"toxic", "add", "-t", "latency", "-a", "latency=100", name)
	atLeast(t, "a round trip with the CLI's 100 ms latency toxic", timedRoundTrip(t, listen), 100*time.Millisecond)
	cliOK(t, "Added upstream latency toxic 'slow_up' on proxy '"+name+"'\n",
		"toxic", "add", "-t", "latency", "-n", "slow_up", "-u", "--tox", "1", "-a", "latency=200", "-a", "jitter=0", name)
	atLeast(t, "a round trip with 100 ms down and 200 ms up", timedRoundTrip(t, listen), 300*time.Millisecond)
	cliFails(t, "Failed to add toxic: ", "toxic", "add", "-t", "no_such_toxic", name)
	if fields := listLine(t, name); fields == nil || fields[4] != "2" {
		t.Errorf("toxiproxy-cli list after two toxics: %q, want 2 toxics", fields)
	}

	r := runCLI(t, "inspect", name)
	if r.code != 0 {
		t.Fatalf("toxiproxy-cli inspect: exit %d, stderr %q", r.code, r.stderr)
	}
	wantLines := []string{
		"latency_downstream\ttype=latency\tstream=downstream\ttoxicity=1.00\tattributes=[\tjitter=0\tlatency=100\t]",
		"slow_up\ttype=latency\tstream=upstream\ttoxicity=1.00\tattributes=[\tjitter=0\tlatency=200\t]",
	}
	for _, want := range wantLines {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("toxiproxy-cli inspect %s printed %q, want a line %q", name, r.stdout, want)
		}
	}

	cliOK(t, "Updated toxic 'latency_downstream' on proxy '"+name+"'\n",
		"toxic", "update", "-n", "latency_downstream", "-a", "latency=600", name)
	atLeast(t, "a round trip with 600 ms down and 200 ms up", timedRoundTrip(t, listen), 800*time.Millisecond)

	cliOK(t, "Removed toxic 'latency_downstream' on proxy '"+name+"'\n",
		"toxic", "remove", "-n", "latency_downstream", name)
	cliOK(t, "Removed toxic 'slow_up' on proxy '"+name+"'\n", "toxic", "delete", "-n", "slow_up", name)
	cliFails(t, "Failed to remove toxic: ", "toxic", "remove", "-n", "slow_up", name)
	cliOK(t, "", "inspect", name)

	cliOK(t, "Proxy "+name+" is now disabled\n", "toggle", name)
	if fields := listLine(t, name); fields == nil || fields[3] != "disabled" {
		t.Errorf("toxiproxy-cli list after toggle: %q, want disabled", fields)
	}
	waitUntil(t, "a proxy toggled off refuses connections", func() bool { return refused(listen) })
	cliOK(t, "Proxy "+name+" is now enabled\n", "toggle", name)
	waitUntil(t, "a proxy toggled on accepts connections", func() bool { return !refused(listen) })
	echoWorks(t, listen, "")

	cliOK(t, "Deleted proxy "+name+"\n", "delete", name)
	if fields := listLine(t, name); fields != nil {
		t.Errorf("toxiproxy-cli list after delete still has %q", fields)
	}
	cliFails(t, "Failed to retrieve proxy "+name+": HTTP 404", "delete", name)
	cliFails(t, "Failed to retrieve proxy "+name+": HTTP 404", "inspect", name)
	cliFails(t, "Failed to retrieve proxy "+name+": HTTP 404", "toggle", name)
	waitUntil(t, "a deleted proxy refuses connections", func() bool { return refused(listen) })
}
