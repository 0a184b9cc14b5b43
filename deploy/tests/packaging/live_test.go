package packaging

// Live tests: tcpemud from build/ run the way the rendered pods run it, in a
// network namespace of its own (test.sh runs the test binary under
// `unshare --net` as root and sets PACKAGING_NETNS=1), so the image's fixed
// ports 50051 and 9464 are free. Each daemon gets a mount namespace with a
// read-only root and a tmpfs /tmp (readOnlyRootFilesystem, the emptyDir), the
// user, groups and capabilities of the container's securityContext (as
// container runtimes apply them: drop ALL + add X leaves X in the bounding
// set, and in no ambient set, so after exec root has X and any other user
// nothing), no_new_privs when privilege escalation is off, /dev/net/tun
// only when the pod mounts it, and the files of the ConfigMaps it mounts.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
)

const capNetAdmin = 12 // CAP_NET_ADMIN's bit in /proc/PID/status masks

func requireNetns(t *testing.T) {
	t.Helper()
	if os.Getenv("PACKAGING_NETNS") != "1" {
		t.Skip("live tests need root and a network namespace of their own: run deploy/tests/packaging/test.sh as root")
	}
}

// podProcess is how a container runtime starts the tcpemud container of a
// rendered StatefulSet.
type podProcess struct {
	uid, gid     int64
	caps         []string // added capabilities, lower case without CAP_
	noNewPrivs   bool
	readOnlyRoot bool
	tun          bool // /dev/net/tun is mounted
	args         []string
	gracePeriod  time.Duration
	// Files shown to the daemon (absolute path -> contents): the keys of
	// the ConfigMap volumes it mounts, and what a test adds.
	files map[string]string
}

func renderedPod(t *testing.T, file string) podProcess {
	t.Helper()
	objs := loadVariant(t, file)
	sts := onlyOne(t, "StatefulSet", objs.statefulSets)
	pod := &sts.Spec.Template.Spec
	c := container(t, pod, containerName)
	sc := effective(pod.SecurityContext, c.SecurityContext)
	files := map[string]string{}
	for _, m := range c.VolumeMounts {
		for _, vol := range pod.Volumes {
			if vol.Name != m.Name || vol.ConfigMap == nil {
				continue
			}
			i := slices.IndexFunc(objs.configMaps, func(cm *corev1.ConfigMap) bool { return cm.Name == vol.ConfigMap.Name })
			if i < 0 || len(vol.ConfigMap.Items) != 0 || m.SubPath != "" {
				t.Fatalf("%s: volume %s: ConfigMap %s missing, or items/subPath (the emulation knows whole ConfigMaps only)", file, vol.Name, vol.ConfigMap.Name)
			}
			for k, v := range objs.configMaps[i].Data {
				files[filepath.Join(m.MountPath, k)] = v
			}
		}
	}
	p := podProcess{
		files:        files,
		uid:          *sc.RunAsUser,
		gid:          *sc.RunAsGroup,
		noNewPrivs:   sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation,
		readOnlyRoot: sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem,
		tun:          tunVolume(pod) != nil,
		args:         c.Args,
		gracePeriod:  time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second,
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Fatalf("%s: capabilities %v: the emulation knows drop [ALL] only", file, sc.Capabilities)
	}
	for _, c := range sc.Capabilities.Add {
		p.caps = append(p.caps, strings.ToLower(strings.TrimPrefix(string(c), "CAP_")))
	}
	return p
}

type daemon struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
	conn *grpc.ClientConn
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// setprivArgs drops to the pod's user and capabilities.
func (p podProcess) setprivArgs() []string {
	caps := "-all"
	for _, c := range p.caps {
		caps += ",+" + c
	}
	args := []string{"setpriv",
		"--reuid=" + strconv.FormatInt(p.uid, 10), "--regid=" + strconv.FormatInt(p.gid, 10),
		"--clear-groups", "--bounding-set=" + caps, "--inh-caps=-all", "--ambient-caps=-all"}
	if p.noNewPrivs {
		args = append(args, "--no-new-privs")
	}
	return append(args, "--")
}

// start runs the image's ENTRYPOINT (tcpemud from build/) with the pod's args
// under the pod's restrictions and waits for gRPC health.
func (p podProcess) start(t *testing.T) *daemon {
	t.Helper()
	entry := parseDockerfile(t).entrypoint(t)
	argv := append([]string{outsideTmp(t, tcpemud(t))}, entry[1:]...)
	argv = append(argv, p.args...)

	// Mount namespace: the pod's files (first: their layers may lie under
	// /tmp), the emptyDir on /tmp, /dev/net/tun (a 0666 node, as udev makes
	// it on most hosts) or no /dev/net at all, read-only root.
	setup := overlaySetup(t, p.files)
	setup = append(setup, "mount -t tmpfs -o size=64m,mode=1777 tmpfs /tmp")
	if _, err := os.Stat("/dev/net"); err == nil {
		setup = append(setup, "mount -t tmpfs -o size=1m,mode=755 tmpfs /dev/net")
		if p.tun {
			setup = append(setup, "mknod -m 666 /dev/net/tun c 10 200")
		}
	}
	if p.readOnlyRoot {
		setup = append(setup, "mount -o remount,bind,ro /")
	}
	script := strings.Join(setup, " && ") + ` && exec "$@"`
	full := append([]string{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"},
		append(p.setprivArgs(), argv...)...)

	return startDaemon(t, full)
}

// overlaySetup returns the commands that show files (absolute path ->
// contents) in a mount namespace: over the nearest existing directory above
// each, a read-only overlay whose top layer holds the files (0644, in 0755
// directories, as a ConfigMap volume shows its keys).
func overlaySetup(t *testing.T, files map[string]string) []string {
	t.Helper()
	layers := map[string]string{} // existing directory -> its layer
	for _, path := range slices.Sorted(maps.Keys(files)) {
		anchor := filepath.Dir(path)
		for {
			if fi, err := os.Stat(anchor); err == nil && fi.IsDir() {
				break
			}
			anchor = filepath.Dir(anchor)
		}
		layer, ok := layers[anchor]
		if !ok {
			layer = t.TempDir()
			if err := os.Chmod(layer, 0o755); err != nil {
				t.Fatal(err)
			}
			layers[anchor] = layer
		}
		rel, err := filepath.Rel(anchor, path)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(layer, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, []byte(files[path]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	for _, anchor := range slices.Sorted(maps.Keys(layers)) {
		out = append(out, fmt.Sprintf("mount -t overlay overlay -o ro,lowerdir=%s:%s %s", layers[anchor], anchor, anchor))
	}
	return out
}

// outsideTmp returns a path to the binary that the pod's tmpfs /tmp does not
// hide: the binary itself, or a copy in /var/tmp when it lies under /tmp (a
// checkout in /tmp).
func outsideTmp(t *testing.T, bin string) string {
	t.Helper()
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if abs != "/tmp" && !strings.HasPrefix(abs, "/tmp/") {
		return abs
	}
	dir, err := os.MkdirTemp("/var/tmp", "tcpemud-live-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, filepath.Base(abs))
	if err := os.WriteFile(copyPath, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return copyPath
}

// startDaemon starts argv (which ends up exec'ing tcpemud with the image's
// ports) and waits until gRPC health answers SERVING.
func startDaemon(t *testing.T, argv []string) *daemon {
	t.Helper()
	d := &daemon{out: &lockedBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.conn != nil {
			d.conn.Close()
		}
		select {
		case <-d.done:
		default:
			d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.done:
			case <-time.After(15 * time.Second):
				d.cmd.Process.Kill()
				<-d.done
			}
		}
		if t.Failed() {
			t.Logf("tcpemud output:\n%s", d.out.String())
		}
	})

	// Retry the connection quickly while tcpemud starts (gRPC's default
	// backoff waits a second first).
	conn, err := grpc.NewClient("127.0.0.1:50051",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.5, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: time.Second,
		}))
	if err != nil {
		t.Fatal(err)
	}
	d.conn = conn
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("tcpemud exited: %v\n%s", err, d.out.String())
		default:
		}
		if d.health(t, "") == healthpb.HealthCheckResponse_SERVING {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("tcpemud not SERVING after 15s\n%s", d.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// health is what a kubelet's gRPC probe asks.
func (d *daemon) health(t *testing.T, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(d.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return resp.GetStatus()
}

// procStatus reads the daemon's credentials from /proc/PID/status.
func (d *daemon) procStatus(t *testing.T) (uid int64, capEff uint64, noNewPrivs bool) {
	t.Helper()
	data := readFile(t, fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	for line := range strings.Lines(string(data)) {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		switch k {
		case "Name":
			if f[0] != "tcpemud" {
				t.Fatalf("pid %d is %q, not tcpemud", d.cmd.Process.Pid, f[0])
			}
		case "Uid":
			uid, _ = strconv.ParseInt(f[1], 10, 64) // effective
		case "CapEff":
			capEff, _ = strconv.ParseUint(f[0], 16, 64)
		case "NoNewPrivs":
			noNewPrivs = f[0] == "1"
		}
	}
	return uid, capEff, noNewPrivs
}

// stop sends SIGTERM, as the kubelet does, and wants exit status 0 within the
// pod's termination grace period.
func (d *daemon) stop(t *testing.T, grace time.Duration) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Errorf("tcpemud after SIGTERM: %v", err)
		}
	case <-time.After(grace):
		t.Errorf("tcpemud still running %s after SIGTERM (terminationGracePeriodSeconds)", grace)
	}
}

// rawCodec sends and receives protobuf bytes as they are: the test encodes
// the one request it needs with protowire instead of depending on generated
// code.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = slices.Clone(data)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// createInterface calls tcpemu.v1.Emulator/CreateInterface{name, address}
// (fields 2 and 3 of CreateInterfaceRequest) on the default network.
func (d *daemon) createInterface(name, address string) error {
	var req []byte
	req = protowire.AppendTag(req, 2, protowire.BytesType)
	req = protowire.AppendString(req, name)
	req = protowire.AppendTag(req, 3, protowire.BytesType)
	req = protowire.AppendString(req, address)
	var resp []byte
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.conn.Invoke(ctx, "/tcpemu.v1.Emulator/CreateInterface", &req, &resp, grpc.ForceCodec(rawCodec{}))
}

func TestLiveRestrictedPod(t *testing.T) {
	requireNetns(t)
	p := renderedPod(t, "kustomize-base.yaml")
	d := p.start(t)

	uid, capEff, nnp := d.procStatus(t)
	if uid != nonRootUID || capEff != 0 || !nnp {
		t.Errorf("tcpemud runs as uid %d, CapEff %#x, NoNewPrivs %v; want %d, 0, true", uid, capEff, nnp, nonRootUID)
	}
	for _, s := range []string{"", healthService} {
		if got := d.health(t, s); got != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %s, want SERVING", s, got)
		}
	}

	resp, err := http.Get("http://127.0.0.1:9464/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("tcpemu_")) {
		t.Errorf("/metrics: %s, %d bytes; want 200 with tcpemu_ series", resp.Status, len(body))
	}

	// The image's HEALTHCHECK, run as the image's user.
	hc := parseDockerfile(t).healthcheck(t)
	user := podProcess{uid: nonRootUID, gid: nonRootUID, noNewPrivs: true}
	cmd := append(user.setprivArgs(), hc...)
	if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
		t.Errorf("HEALTHCHECK %q: %v\n%s", hc, err, out)
	}

	// No TAP without /dev/net/tun and NET_ADMIN.
	if err := d.createInterface("tcpemupkg0", "10.211.0.2/24"); err == nil {
		t.Error("CreateInterface succeeded in the restricted pod")
	}

	d.stop(t, p.gracePeriod)
}

// TestLiveTapPod: the TAP variant's container (uid 0, NET_ADMIN only, no
// privilege escalation, read-only root, the host's /dev/net/tun) creates a
// TAP device; without NET_ADMIN, or with NET_ADMIN added for a non-root user
// (no ambient capabilities: it loses NET_ADMIN at exec), the ioctl is
// refused.
func TestLiveTapPod(t *testing.T) {
	requireNetns(t)
	if fi, err := os.Stat("/dev/net/tun"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		skipOrFail(t, "no /dev/net/tun on this host")
	}
	tap := renderedPod(t, "kustomize-tap.yaml")
	if tap.uid != 0 || !slices.Equal(tap.caps, []string{"net_admin"}) || !tap.tun {
		t.Fatalf("TAP pod: uid %d caps %v tun %v; the cases below assume 0, [net_admin], true", tap.uid, tap.caps, tap.tun)
	}
	nonRoot := tap
	nonRoot.uid, nonRoot.gid = nonRootUID, nonRootUID
	noCaps := tap
	noCaps.caps = nil

	for _, tc := range []struct {
		name   string
		p      podProcess
		capEff uint64
		ok     bool
	}{
		{"tap-overlay", tap, 1 << capNetAdmin, true},
		{"non-root-with-NET_ADMIN", nonRoot, 0, false},
		{"root-without-NET_ADMIN", noCaps, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.p.start(t)
			uid, capEff, nnp := d.procStatus(t)
			if uid != tc.p.uid || capEff != tc.capEff || !nnp {
				t.Errorf("tcpemud: uid %d CapEff %#x NoNewPrivs %v; want %d %#x true", uid, capEff, nnp, tc.p.uid, tc.capEff)
			}
			const dev = "tcpemupkg0"
			err := d.createInterface(dev, "10.211.0.2/24")
			if tc.ok {
				if err != nil {
					t.Fatalf("CreateInterface: %v", err)
				}
				ifc, err := net.InterfaceByName(dev)
				if err != nil || ifc.Flags&net.FlagUp == 0 {
					t.Errorf("TAP device %s: %v, flags %v; want it up", dev, err, ifc)
				}
				d.stop(t, tc.p.gracePeriod)
				if _, err := net.InterfaceByName(dev); err == nil {
					t.Errorf("TAP device %s still there after tcpemud stopped", dev)
				}
				return
			}
			// The node opens (0666); TUNSETIFF wants CAP_NET_ADMIN.
			if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "TUNSETIFF") {
				t.Errorf("CreateInterface: %v; want PermissionDenied from TUNSETIFF", err)
			}
			d.stop(t, tc.p.gracePeriod)
		})
	}
}
