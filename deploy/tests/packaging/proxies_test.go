package packaging

// The proxies of the chart and of the proxy-redis overlay: tcpemud's flags
// (--proxies, --proxy_listen_allow, --proxy_upstream_allow,
// --toxiproxy_listen), the ConfigMap in toxiproxy's JSON config format
// mounted where --proxies reads it, the container ports, the Service of the
// proxies, and the redis beside tcpemud in the overlay. Without proxies: none
// of these.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	psaapi "k8s.io/pod-security-admission/api"
)

const proxiesChecksum = "checksum/proxies"

// proxyWant is one proxy as the daemon must load it.
type proxyWant struct {
	name        string
	port        int32 // it listens on 0.0.0.0:port in the pod
	servicePort int32 // the proxies' Service's port
	upstream    string
	enabled     bool
}

// proxiesWant is what a rendering with proxies or the toxiproxy API holds.
type proxiesWant struct {
	proxies       []proxyWant
	upstreamAllow string // --proxy_upstream_allow
	toxiproxyPort int32  // 0: no toxiproxy HTTP API
}

var (
	// deploy/k8s/overlays/proxy-redis, and the chart with the same values.
	proxyRedis = &proxiesWant{
		proxies:       []proxyWant{{name: "redis", port: 6379, servicePort: 6379, upstream: "redis:6379", enabled: true}},
		upstreamAllow: "10.0.0.0/8:6379,172.16.0.0/12:6379,192.168.0.0/16:6379",
		toxiproxyPort: 8474,
	}
	// test.sh's helm-proxies values.
	proxiesChart = &proxiesWant{
		proxies: []proxyWant{
			{name: "redis", port: 16379, servicePort: 6379, upstream: "redis.data.svc.cluster.local:6379", enabled: true},
			{name: "api", port: 8080, servicePort: 80, upstream: "[fd00::10]:8443", enabled: false},
		},
		upstreamAllow: "10.96.0.0/12:6379,[fd00::/8]:8443",
		toxiproxyPort: 18474,
	}
)

// containerPorts are the ports the proxies and the API add to the container.
func (w *proxiesWant) containerPorts() map[string]int32 {
	out := map[string]int32{}
	if w.toxiproxyPort != 0 {
		out["toxiproxy"] = w.toxiproxyPort
	}
	for _, p := range w.proxies {
		out[fmt.Sprintf("proxy-%d", p.port)] = p.port
	}
	return out
}

// toxiproxyConfig is one entry of toxiproxy's JSON config file (toxiproxy's
// `-config`, and its POST /populate body).
type toxiproxyConfig struct {
	Name     string `json:"name"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
	Enabled  bool   `json:"enabled"`
}

// parseToxiproxyConfig decodes the file strictly: an array of objects with
// exactly the four fields.
func parseToxiproxyConfig(data []byte) ([]toxiproxyConfig, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	for i, m := range raw {
		if got := keys(m); !slices.Equal(got, []string{"enabled", "listen", "name", "upstream"}) {
			return nil, fmt.Errorf("proxy %d: fields %v, want enabled, listen, name, upstream", i, got)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var out []toxiproxyConfig
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func TestParseToxiproxyConfig(t *testing.T) {
	good := `[{"name": "redis", "listen": "0.0.0.0:6379", "upstream": "redis:6379", "enabled": true}]`
	if got, err := parseToxiproxyConfig([]byte(good)); err != nil || len(got) != 1 || !got[0].Enabled {
		t.Errorf("%s: %+v, %v", good, got, err)
	}
	for _, bad := range []string{
		`{"name": "redis", "listen": "0.0.0.0:6379", "upstream": "redis:6379", "enabled": true}`,
		`[{"name": "redis", "listen": "0.0.0.0:6379", "upstream": "redis:6379"}]`,
		`[{"name": "redis", "listen": "0.0.0.0:6379", "upstream": "redis:6379", "enabled": "true"}]`,
		`[{"name": "redis", "listen": "0.0.0.0:6379", "upstream": "redis:6379", "enabled": true, "toxics": []}]`,
		`[{"name": "redis", "listen": 6379, "upstream": "redis:6379", "enabled": true}]`,
		`[{"name": "redis", "listen": "0.0.0.0:6379", "upstream": "redis:6379", "enabled": true},]`,
	} {
		if _, err := parseToxiproxyConfig([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// flagValues returns the values of every --name=value in args.
func flagValues(args []string, name string) []string {
	var out []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			out = append(out, v)
		}
		if a == "--"+name {
			out = append(out, "(no value)")
		}
	}
	return out
}

// allowRule is one entry of --proxy_listen_allow or --proxy_upstream_allow:
// an address or CIDR with an optional port or port range, an IPv6 one in
// brackets when a port follows ("[fd00::/8]:6379"), as tcpemud reads them.
type allowRule struct {
	prefix   netip.Prefix
	low, top uint16 // 0, 0: every port
}

func parseAllow(t *testing.T, flag, list string) []allowRule {
	t.Helper()
	var out []allowRule
	for entry := range strings.SplitSeq(list, ",") {
		cidr, ports, hasPort := entry, "", false
		if rest, ok := strings.CutPrefix(entry, "["); ok {
			var tail string
			cidr, tail, ok = strings.Cut(rest, "]")
			if !ok || tail != "" && !strings.HasPrefix(tail, ":") {
				t.Errorf("%s: %q: bad brackets", flag, entry)
				continue
			}
			ports, hasPort = strings.CutPrefix(tail, ":")
		} else if strings.Count(entry, ":") == 1 {
			cidr, ports, hasPort = strings.Cut(entry, ":")
		}
		var prefix netip.Prefix
		var err error
		if strings.Contains(cidr, "/") {
			prefix, err = netip.ParsePrefix(cidr)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(cidr); err == nil {
				prefix = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || prefix != prefix.Masked() {
			t.Errorf("%s: %q: CIDR %q: %v (or host bits set)", flag, entry, cidr, err)
			continue
		}
		r := allowRule{prefix: prefix}
		if hasPort {
			lo, hi, isRange := strings.Cut(ports, "-")
			if !isRange {
				hi = lo
			}
			l, err1 := strconv.ParseUint(lo, 10, 16)
			h, err2 := strconv.ParseUint(hi, 10, 16)
			if err1 != nil || err2 != nil || l == 0 || l > h {
				t.Errorf("%s: %q: bad port %q", flag, entry, ports)
				continue
			}
			r.low, r.top = uint16(l), uint16(h)
		}
		out = append(out, r)
	}
	return out
}

func allowed(rules []allowRule, hostPort string) (bool, error) {
	ap, err := netip.ParseAddrPort(hostPort)
	if err != nil {
		return false, err
	}
	for _, r := range rules {
		if r.prefix.Contains(ap.Addr()) && (r.low == 0 || r.low <= ap.Port() && ap.Port() <= r.top) {
			return true, nil
		}
	}
	return false, nil
}

func TestParseAllow(t *testing.T) {
	rules := parseAllow(t, "test", "0.0.0.0/0:6379,10.96.0.0/12:6000-6100,[fd00::/8]:8443,127.0.0.0/8,::1,192.0.2.1:80")
	if len(rules) != 6 {
		t.Fatalf("%d rules, want 6", len(rules))
	}
	for addr, want := range map[string]bool{
		"0.0.0.0:6379": true, "0.0.0.0:6380": false, "10.96.0.10:6000": true, "10.96.0.10:6101": false,
		"[fd00::10]:8443": true, "[fd00::10]:8444": false, "[fe80::1]:8443": false, "127.0.0.1:1": true,
		"10.96.0.10:6379": true, "[::1]:9": true, "[::2]:9": false, "192.0.2.1:80": true, "192.0.2.1:81": false,
	} {
		if got, err := allowed(rules, addr); err != nil || got != want {
			t.Errorf("%s: allowed %v (%v), want %v", addr, got, err, want)
		}
	}
}

func checkProxies(t *testing.T, v variant, objs objects) {
	t.Helper()
	sts := onlyOne(t, "StatefulSet", objs.statefulSets)
	pod := &sts.Spec.Template.Spec
	c := container(t, pod, containerName)
	w := v.proxies
	if w == nil {
		w = &proxiesWant{}
	}
	for _, name := range []string{"proxies", "proxy_listen_allow", "proxy_upstream_allow", "toxiproxy_listen"} {
		if got := flagValues(c.Args, name); len(got) > 1 {
			t.Errorf("--%s given %d times: %q", name, len(got), got)
		}
	}

	// The toxiproxy HTTP API on every address of the pod.
	wantAPI := []string(nil)
	if w.toxiproxyPort != 0 {
		wantAPI = []string{fmt.Sprintf("0.0.0.0:%d", w.toxiproxyPort)}
	}
	if got := flagValues(c.Args, "toxiproxy_listen"); !slices.Equal(got, wantAPI) {
		t.Errorf("--toxiproxy_listen %q, want %q", got, wantAPI)
	}

	var proxySvcs []*corev1.Service
	for _, s := range ownServices(objs) {
		if s.Labels["tcpemu/service"] == "proxy" {
			proxySvcs = append(proxySvcs, s)
		}
	}
	if len(w.proxies) == 0 {
		for _, name := range []string{"proxies", "proxy_listen_allow", "proxy_upstream_allow"} {
			if got := flagValues(c.Args, name); got != nil {
				t.Errorf("--%s=%q without proxies", name, got)
			}
		}
		if len(proxySvcs) != 0 {
			t.Errorf("a proxies' Service without proxies")
		}
		if _, ok := sts.Spec.Template.Annotations[proxiesChecksum]; ok {
			t.Errorf("pod annotation %s without proxies", proxiesChecksum)
		}
		return
	}

	// --proxies names a file of a ConfigMap mounted read-only.
	file := flagValues(c.Args, "proxies")
	if len(file) != 1 || !path.IsAbs(file[0]) {
		t.Fatalf("--proxies %q, want one absolute path", file)
	}
	cm := mountedConfigMap(t, objs, pod, c, file[0])
	data := cm.Data[path.Base(file[0])]
	config, err := parseToxiproxyConfig([]byte(data))
	if err != nil {
		t.Fatalf("ConfigMap %s: %s is not toxiproxy's config format: %v\n%s", cm.Name, path.Base(file[0]), err, data)
	}
	var want []toxiproxyConfig
	for _, p := range w.proxies {
		want = append(want, toxiproxyConfig{Name: p.name, Listen: fmt.Sprintf("0.0.0.0:%d", p.port), Upstream: p.upstream, Enabled: p.enabled})
	}
	if !slices.Equal(config, want) {
		t.Errorf("ConfigMap %s: proxies %+v, want %+v", cm.Name, config, want)
	}
	// A new list reaches the pods: the chart rolls them with a checksum of
	// the file, kustomize with a hash of it in the ConfigMap's name.
	sum := sha256.Sum256([]byte(data))
	if got, ok := sts.Spec.Template.Annotations[proxiesChecksum]; ok {
		if got != hex.EncodeToString(sum[:]) {
			t.Errorf("pod annotation %s %q is not the SHA-256 of %s", proxiesChecksum, got, path.Base(file[0]))
		}
	} else if !kustomizeHash.MatchString(cm.Name) {
		t.Errorf("ConfigMap %s: no hash in its name, nor %s on the pod: a change would not roll the pods", cm.Name, proxiesChecksum)
	}

	// Every listen address is allowed, and nothing else than those ports.
	listenAllow := flagValues(c.Args, "proxy_listen_allow")
	var wantListen []string
	for _, p := range w.proxies {
		wantListen = append(wantListen, fmt.Sprintf("0.0.0.0/0:%d", p.port))
	}
	if len(listenAllow) != 1 || listenAllow[0] != strings.Join(wantListen, ",") {
		t.Errorf("--proxy_listen_allow %q, want %q", listenAllow, strings.Join(wantListen, ","))
	}
	upstreamAllow := flagValues(c.Args, "proxy_upstream_allow")
	if len(upstreamAllow) != 1 || upstreamAllow[0] != w.upstreamAllow {
		t.Errorf("--proxy_upstream_allow %q, want %q", upstreamAllow, w.upstreamAllow)
	}
	if len(listenAllow) == 1 && len(upstreamAllow) == 1 {
		listenRules := parseAllow(t, "--proxy_listen_allow", listenAllow[0])
		upstreamRules := parseAllow(t, "--proxy_upstream_allow", upstreamAllow[0])
		for _, p := range config {
			if ok, err := allowed(listenRules, p.Listen); err != nil || !ok {
				t.Errorf("proxy %s: listen %s is not allowed by --proxy_listen_allow (%v)", p.Name, p.Listen, err)
			}
			// An address literal can be checked here; a name resolves to
			// the cluster's addresses.
			if host, _, err := net.SplitHostPort(p.Upstream); err == nil && net.ParseIP(host) != nil {
				if ok, err := allowed(upstreamRules, p.Upstream); err != nil || !ok {
					t.Errorf("proxy %s: upstream %s is not allowed by --proxy_upstream_allow (%v)", p.Name, p.Upstream, err)
				}
			}
		}
	}

	// Names tcpemud accepts, which are also the Service's port names.
	for _, p := range config {
		for _, e := range validation.IsDNS1123Label(p.Name) {
			t.Errorf("proxy %q: %s", p.Name, e)
		}
	}

	// The Service: one port per proxy, to its container port.
	svc := onlyOne(t, "proxies' Service", proxySvcs)
	if svc.Spec.Type != "" && svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Errorf("Service %s: type %q clusterIP %q, want a ClusterIP Service", svc.Name, svc.Spec.Type, svc.Spec.ClusterIP)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("Service %s does not select the tcpemud pods", svc.Name)
	}
	if want := sts.Name + "-proxy"; svc.Name != want {
		t.Errorf("proxies' Service %s, want %s", svc.Name, want)
	}
	containerPorts := map[string]int32{}
	for _, p := range c.Ports {
		containerPorts[p.Name] = p.ContainerPort
	}
	type svcPort struct {
		name       string
		port, pod  int32
		targetName string
	}
	var got, wantPorts []svcPort
	for _, p := range svc.Spec.Ports {
		if p.Protocol != corev1.ProtocolTCP {
			t.Errorf("Service %s port %s: protocol %q, want TCP", svc.Name, p.Name, p.Protocol)
		}
		got = append(got, svcPort{p.Name, p.Port, containerPorts[p.TargetPort.String()], p.TargetPort.String()})
	}
	for _, p := range w.proxies {
		wantPorts = append(wantPorts, svcPort{p.name, p.servicePort, p.port, fmt.Sprintf("proxy-%d", p.port)})
	}
	if !slices.Equal(got, wantPorts) {
		t.Errorf("Service %s ports (name, port, container port, targetPort) %v, want %v", svc.Name, got, wantPorts)
	}
}

// mountedConfigMap is the ConfigMap of the rendering whose volume the
// container mounts, read-only, on the directory of file, and which holds the
// file.
func mountedConfigMap(t *testing.T, objs objects, pod *corev1.PodSpec, c *corev1.Container, file string) *corev1.ConfigMap {
	t.Helper()
	var mount *corev1.VolumeMount
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == path.Dir(file) {
			mount = &c.VolumeMounts[i]
		}
	}
	if mount == nil || !mount.ReadOnly || mount.SubPath != "" {
		t.Fatalf("%s: no read-only volume mounted on %s: %+v", file, path.Dir(file), c.VolumeMounts)
	}
	var vol *corev1.Volume
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == mount.Name {
			vol = &pod.Volumes[i]
		}
	}
	if vol == nil || vol.ConfigMap == nil || len(vol.ConfigMap.Items) != 0 {
		t.Fatalf("%s: volume %s is not a whole ConfigMap: %+v", file, mount.Name, vol)
	}
	for _, cm := range objs.configMaps {
		if cm.Name == vol.ConfigMap.Name {
			if _, ok := cm.Data[path.Base(file)]; !ok || len(cm.Data) != 1 || len(cm.BinaryData) != 0 {
				t.Fatalf("ConfigMap %s: keys %v, want only %s", cm.Name, keys(cm.Data), path.Base(file))
			}
			return cm
		}
	}
	t.Fatalf("%s: ConfigMap %s is not in the rendering", file, vol.ConfigMap.Name)
	return nil
}

// checkRedis: the overlay's redis, from the official image, under the
// "restricted" Pod Security Standard, behind a Service named redis on its
// port 6379, the proxy's upstream.
func checkRedis(t *testing.T, v variant, objs objects) {
	t.Helper()
	if !v.redis {
		if len(objs.deployments) != 0 {
			t.Errorf("unexpected Deployment")
		}
		return
	}
	d := onlyOne(t, "Deployment", objs.deployments)
	if d.Spec.Selector == nil || !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Deployment %s: selector does not match its pods", d.Name)
	}
	c := container(t, &d.Spec.Template.Spec, "redis")
	if repo, tag, _ := strings.Cut(c.Image, ":"); repo != "redis" || tag == "" || tag == "latest" {
		t.Errorf("Deployment %s: image %q, want the official redis:<version>", d.Name, c.Image)
	}
	if r := podSecurityForbidden(t, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec)[psaapi.LevelRestricted]; len(r) != 0 {
		t.Errorf("redis pod is not \"restricted\": %v", r)
	}
	var svc *corev1.Service
	for _, s := range objs.services {
		if s.Name == "redis" {
			svc = s
		}
	}
	if svc == nil {
		t.Fatal("no Service redis (the proxy's upstream redis:6379)")
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service redis does not select the redis pods")
	}
	var ok bool
	for _, p := range svc.Spec.Ports {
		for _, cp := range c.Ports {
			if p.Port == 6379 && (p.TargetPort.String() == cp.Name || p.TargetPort.IntVal == cp.ContainerPort) && cp.ContainerPort == 6379 {
				ok = true
			}
		}
	}
	if !ok {
		t.Errorf("Service redis: no port 6379 to the container's 6379: %+v", svc.Spec.Ports)
	}
}
