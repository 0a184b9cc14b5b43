package packaging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	sigsyaml "sigs.k8s.io/yaml"
)

const (
	grpcPort       = 50051
	metricsPort    = 9464
	healthService  = "tcpemu.v1.Emulator"
	containerName  = "tcpemud"
	nonRootUID     = 10001
	dashboardKey   = "tcpemu.json"
	dashboardLabel = "grafana_dashboard"
)

// variant is one rendering of the manifests by test.sh, in $RENDERED.
type variant struct {
	file     string
	tap      bool  // the TAP toggle or overlay is on
	monitor  bool  // a ServiceMonitor is expected
	testPod  bool  // a `helm test` Pod is expected
	replicas int32 // StatefulSet replicas
	// What the NetworkPolicy must let through; nil: no NetworkPolicy.
	policy *policyWant
	// The proxies and the toxiproxy HTTP API; nil: neither.
	proxies *proxiesWant
	// The proxy-redis overlay's redis Deployment and Service.
	redis bool
}

var (
	defaultPolicy = &policyWant{metricsNamespace: defaultMetricsNamespace}
	// test.sh renders these with other settings of the policy.
	customPolicy = &policyWant{
		metricsNamespace: map[string]string{"tcpemu.test/monitoring": "yes"},
		metricsPods:      map[string]string{"app.kubernetes.io/name": "prometheus"},
		grpcNamespace:    map[string]string{"tcpemu.test/clients": "yes"},
	}
	kustomizeCustomPolicy = &policyWant{metricsNamespace: map[string]string{"tcpemu.test/monitoring": "yes"}}
	// The proxy-redis overlay, and the chart with the same values.
	proxyRedisPolicy = &policyWant{
		metricsNamespace: defaultMetricsNamespace,
		toxiproxy:        true,
		proxyPorts:       []string{"proxy-6379"},
	}
	// test.sh renders the chart with two proxies, each setting of the
	// policy and egress rules.
	proxiesPolicy = &policyWant{
		metricsNamespace: defaultMetricsNamespace,
		grpcNamespace:    map[string]string{"tcpemu.test/clients": "yes"},
		toxiproxy:        true,
		proxyPorts:       []string{"proxy-16379", "proxy-8080"},
		proxyNamespace:   map[string]string{"tcpemu.test/app": "yes"},
		proxyPods:        map[string]string{"app": "client"},
		egress: &egressWant{
			upstreamNamespace: map[string]string{"kubernetes.io/metadata.name": "data"},
			upstreamPods:      map[string]string{"app.kubernetes.io/name": "redis"},
			upstreamPort:      6379,
		},
	}
)

var variants = []variant{
	{file: "kustomize-base.yaml", monitor: true, replicas: 1, policy: defaultPolicy},
	{file: "kustomize-tap.yaml", tap: true, monitor: true, replicas: 1, policy: defaultPolicy},
	{file: "kustomize-netpol.yaml", monitor: true, replicas: 1, policy: kustomizeCustomPolicy},
	{file: "helm-default.yaml", testPod: true, replicas: 1, policy: defaultPolicy},
	{file: "helm-tap.yaml", tap: true, monitor: true, testPod: true, replicas: 2, policy: defaultPolicy},
	{file: "helm-netpol.yaml", testPod: true, replicas: 1, policy: customPolicy},
	{file: "helm-netpol-off.yaml", testPod: true, replicas: 1},
	{file: "kustomize-proxy-redis.yaml", monitor: true, replicas: 1, policy: proxyRedisPolicy, proxies: proxyRedis, redis: true},
	{file: "helm-proxy-redis.yaml", testPod: true, replicas: 1, policy: proxyRedisPolicy, proxies: proxyRedis},
	{file: "helm-proxies.yaml", testPod: true, replicas: 1, policy: proxiesPolicy, proxies: proxiesChart},
}

// Pairs that must describe the same workload: the chart and the kustomize
// tree are two packagings of one deployment and must not drift apart.
var equivalent = [][2]string{
	{"kustomize-base.yaml", "helm-default.yaml"},
	{"kustomize-tap.yaml", "helm-tap.yaml"},
	{"kustomize-proxy-redis.yaml", "helm-proxy-redis.yaml"},
}

// objects is one rendering decoded into typed API objects.
type objects struct {
	statefulSets []*appsv1.StatefulSet
	deployments  []*appsv1.Deployment
	services     []*corev1.Service
	configMaps   []*corev1.ConfigMap
	monitors     []*monitoringv1.ServiceMonitor
	pods         []*corev1.Pod
	// NetworkPolicies.
	networkPolicies []*networkingv1.NetworkPolicy
}

var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		appsv1.AddToScheme, corev1.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	// Strict: unknown or duplicate fields, and fields whose case differs from
	// the API's, are errors (sigs.k8s.io/json's strict mode).
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// decodeAll splits a multi-document YAML stream and decodes every document
// strictly into its registered Go type. A kind the scheme does not know is an
// error too: every rendered object must be one the tests understand.
func decodeAll(t *testing.T, data []byte) objects {
	t.Helper()
	var out objects
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		js, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "" {
			continue // comments only
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("document %d (%s): strict decoding: %v\n%s", i, gvk, err, doc)
		}
		if meta, ok := obj.(metav1.Object); ok {
			checkMeta(t, gvk.Kind, meta)
		}
		switch o := obj.(type) {
		case *appsv1.StatefulSet:
			out.statefulSets = append(out.statefulSets, o)
		case *appsv1.Deployment:
			out.deployments = append(out.deployments, o)
		case *corev1.Service:
			out.services = append(out.services, o)
		case *corev1.ConfigMap:
			out.configMaps = append(out.configMaps, o)
		case *monitoringv1.ServiceMonitor:
			out.monitors = append(out.monitors, o)
		case *corev1.Pod:
			out.pods = append(out.pods, o)
		case *networkingv1.NetworkPolicy:
			out.networkPolicies = append(out.networkPolicies, o)
		default:
			t.Fatalf("document %d: unexpected %s", i, gvk)
		}
	}
	return out
}

// checkMeta validates what strict decoding does not: names, label keys and
// values, annotation keys (the API server's rules).
func checkMeta(t *testing.T, kind string, m metav1.Object) {
	t.Helper()
	nameErrs := validation.IsDNS1123Subdomain(m.GetName())
	if kind == "Service" {
		nameErrs = validation.IsDNS1035Label(m.GetName())
	}
	for _, e := range nameErrs {
		t.Errorf("%s %q: name: %s", kind, m.GetName(), e)
	}
	for k, v := range m.GetLabels() {
		for _, e := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			t.Errorf("%s %s: label %s=%s: %s", kind, m.GetName(), k, v, e)
		}
	}
	for k := range m.GetAnnotations() {
		for _, e := range validation.IsQualifiedName(strings.ToLower(k)) {
			t.Errorf("%s %s: annotation %s: %s", kind, m.GetName(), k, e)
		}
	}
}

func loadVariant(t *testing.T, file string) objects {
	t.Helper()
	return decodeAll(t, readFile(t, filepath.Join(requireEnv(t, "RENDERED"), file)))
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	// The decoder under test must refuse what a typo in a manifest produces.
	for name, doc := range map[string]string{
		"unknown field": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {clusterIp: None}\n",
		"wrong case":    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {ServiceName: x}\n",
		"duplicate":     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n",
		"unknown in CR": "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoints: [{prot: metrics}]}\n",
		"unknown kind":  "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\n",
	} {
		if _, _, err := decoder.Decode([]byte(doc), nil, nil); err == nil {
			t.Errorf("%s: decoded without error:\n%s", name, doc)
		}
	}
}

func TestRenderedManifests(t *testing.T) {
	version := projectVersion(t)
	dashboard := readFile(t, requireEnv(t, "DASHBOARD"))
	for _, v := range variants {
		t.Run(strings.TrimSuffix(v.file, ".yaml"), func(t *testing.T) {
			objs := loadVariant(t, v.file)
			checkWorkload(t, v, objs, version)
			checkServices(t, v, objs)
			checkMonitor(t, v, objs)
			checkDashboard(t, v, objs, dashboard)
			checkTestPod(t, v, objs)
			checkNetworkPolicy(t, v, objs)
			checkProxies(t, v, objs)
			checkRedis(t, v, objs)
		})
	}
}

func onlyOne[T any](t *testing.T, what string, items []T) T {
	t.Helper()
	if len(items) != 1 {
		t.Fatalf("want exactly one %s, got %d", what, len(items))
	}
	return items[0]
}

func container(t *testing.T, spec *corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

// effective merges the pod-level security settings into the container's, as
// the kubelet does (the container's win).
func effective(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) corev1.SecurityContext {
	var sc corev1.SecurityContext
	if c != nil {
		sc = *c.DeepCopy()
	}
	if pod == nil {
		return sc
	}
	if sc.RunAsNonRoot == nil {
		sc.RunAsNonRoot = pod.RunAsNonRoot
	}
	if sc.RunAsUser == nil {
		sc.RunAsUser = pod.RunAsUser
	}
	if sc.RunAsGroup == nil {
		sc.RunAsGroup = pod.RunAsGroup
	}
	if sc.SeccompProfile == nil {
		sc.SeccompProfile = pod.SeccompProfile
	}
	return sc
}

func checkWorkload(t *testing.T, v variant, objs objects, version string) {
	sts := onlyOne(t, "StatefulSet", objs.statefulSets)
	if sts.Name != "tcpemu" {
		t.Errorf("StatefulSet name %q, want tcpemu (pods tcpemu-0, tcpemu-1, ...)", sts.Name)
	}
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != v.replicas {
		t.Errorf("replicas %v, want %d", sts.Spec.Replicas, v.replicas)
	}
	sel, err := metav1LabelSelector(sts)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("selector %s does not match the pod template's labels %v", sel, sts.Spec.Template.Labels)
	}

	// serviceName names a headless Service that selects these pods.
	var headless *corev1.Service
	for _, s := range objs.services {
		if s.Name == sts.Spec.ServiceName {
			headless = s
		}
	}
	if headless == nil {
		t.Fatalf("serviceName %q: no such Service", sts.Spec.ServiceName)
	}
	if headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("Service %s (the StatefulSet's serviceName): clusterIP %q, want None", headless.Name, headless.Spec.ClusterIP)
	}
	if !labels.SelectorFromSet(headless.Spec.Selector).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("headless Service %s does not select the StatefulSet's pods", headless.Name)
	}

	pod := &sts.Spec.Template.Spec
	c := container(t, pod, containerName)

	wantImage := "ghcr.io/tcpemu/tcpemud:" + version
	if c.Image != wantImage {
		t.Errorf("image %q, want %q (the project's version)", c.Image, wantImage)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	wantPorts := map[string]int32{"grpc": grpcPort, "metrics": metricsPort}
	if v.proxies != nil {
		maps.Copy(wantPorts, v.proxies.containerPorts())
	}
	if !maps.Equal(ports, wantPorts) || len(c.Ports) != len(wantPorts) {
		t.Errorf("container ports %v, want %v", ports, wantPorts)
	}

	// Native gRPC probes on the gRPC port; readiness asks for the service.
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.GRPC == nil {
			t.Errorf("%s probe: %+v, want a grpc probe", name, p)
			continue
		}
		if p.HTTPGet != nil || p.TCPSocket != nil || p.Exec != nil {
			t.Errorf("%s probe: more than one handler", name)
		}
		if p.GRPC.Port != grpcPort {
			t.Errorf("%s probe: port %d, want %d", name, p.GRPC.Port, grpcPort)
		}
	}
	if p := c.ReadinessProbe; p != nil && p.GRPC != nil && (p.GRPC.Service == nil || *p.GRPC.Service != healthService) {
		t.Errorf("readiness probe: service %v, want %q", p.GRPC.Service, healthService)
	}

	// Requests and limits for CPU and memory; requests within limits.
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[name]
		lim, okLim := c.Resources.Limits[name]
		if !okReq || !okLim {
			t.Errorf("resources: %s request and limit both required, got %v / %v", name, c.Resources.Requests, c.Resources.Limits)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("resources: %s request %s above limit %s", name, req.String(), lim.String())
		}
	}
	// --shards matches the CPU limit (tcpemud's default counts the node's cores).
	if lim, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		if want := fmt.Sprintf("--shards=%d", lim.Value()); !slices.Contains(c.Args, want) {
			t.Errorf("args %q: want %s for a CPU limit of %s", c.Args, want, lim.String())
		}
	}

	sc := effective(pod.SecurityContext, c.SecurityContext)
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("securityContext: allowPrivilegeEscalation must be false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("securityContext: readOnlyRootFilesystem must be true")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("securityContext: privileged")
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("securityContext: seccompProfile %v, want RuntimeDefault", sc.SeccompProfile)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("securityContext: capabilities %v, want drop [ALL]", sc.Capabilities)
	}
	var add []corev1.Capability
	if sc.Capabilities != nil {
		add = sc.Capabilities.Add
	}

	tun := tunVolume(pod)
	tunMounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.MountPath == "/dev/net/tun" && tun != nil && m.Name == tun.Name
	})
	if v.tap {
		if !slices.Equal(add, []corev1.Capability{"NET_ADMIN"}) {
			t.Errorf("TAP: capabilities add %v, want [NET_ADMIN] only", add)
		}
		if tun == nil || !tunMounted {
			t.Error("TAP: want a hostPath volume /dev/net/tun (CharDevice) mounted at /dev/net/tun")
		}
		// Non-root processes lose added capabilities at exec (no ambient set).
		if sc.RunAsUser == nil || *sc.RunAsUser != 0 || sc.RunAsNonRoot == nil || *sc.RunAsNonRoot {
			t.Errorf("TAP: runAsUser %v runAsNonRoot %v, want 0 and false", sc.RunAsUser, sc.RunAsNonRoot)
		}
	} else {
		if len(add) != 0 {
			t.Errorf("capabilities add %v, want none", add)
		}
		if tun != nil || tunMounted {
			t.Error("/dev/net/tun is mounted without TAP")
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Error("securityContext: runAsNonRoot must be true")
		}
		if sc.RunAsUser == nil || *sc.RunAsUser != nonRootUID {
			t.Errorf("securityContext: runAsUser %v, want %d (the image's USER)", sc.RunAsUser, nonRootUID)
		}
	}
	for _, vol := range pod.Volumes {
		if vol.HostPath != nil && (vol.HostPath.Path != "/dev/net/tun" || !v.tap) {
			t.Errorf("unexpected hostPath volume %s: %s", vol.Name, vol.HostPath.Path)
		}
	}

	checkPodSecurity(t, v, &sts.Spec.Template.ObjectMeta, pod)
}

func metav1LabelSelector(sts *appsv1.StatefulSet) (labels.Selector, error) {
	if sts.Spec.Selector == nil || len(sts.Spec.Selector.MatchExpressions) != 0 {
		return nil, fmt.Errorf("StatefulSet selector %v: want matchLabels only", sts.Spec.Selector)
	}
	return labels.SelectorFromSet(sts.Spec.Selector.MatchLabels), nil
}

func tunVolume(pod *corev1.PodSpec) *corev1.Volume {
	for i := range pod.Volumes {
		hp := pod.Volumes[i].HostPath
		if hp != nil && hp.Path == "/dev/net/tun" && hp.Type != nil && *hp.Type == corev1.HostPathCharDev {
			return &pod.Volumes[i]
		}
	}
	return nil
}

// checkPodSecurity evaluates the pod with the Pod Security Admission
// library at the latest policy version: the base must be "restricted"; TAP
// fails "baseline" on exactly what TAP needs (NET_ADMIN is not one of
// baseline's default capabilities, and the hostPath volume), and "restricted"
// on those and uid 0.
func checkPodSecurity(t *testing.T, v variant, meta *metav1.ObjectMeta, pod *corev1.PodSpec) {
	t.Helper()
	forbidden := podSecurityForbidden(t, meta, pod)
	if !v.tap {
		if r := forbidden[psaapi.LevelRestricted]; len(r) != 0 {
			t.Errorf("pod is not \"restricted\": %v", r)
		}
		return
	}
	if r, want := forbidden[psaapi.LevelBaseline], []string{"hostPath volumes", "non-default capabilities"}; !slices.Equal(r, want) {
		t.Errorf("TAP pod vs \"baseline\": forbidden %q, want %q", r, want)
	}
	want := []string{"restricted volume types", "runAsNonRoot != true", "runAsUser=0", "unrestricted capabilities"}
	if r := forbidden[psaapi.LevelRestricted]; !slices.Equal(r, want) {
		t.Errorf("TAP pod vs \"restricted\": forbidden %q, want %q", r, want)
	}
}

func podSecurityForbidden(t *testing.T, meta *metav1.ObjectMeta, pod *corev1.PodSpec) map[psaapi.Level][]string {
	t.Helper()
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[psaapi.Level][]string{}
	for _, level := range []psaapi.Level{psaapi.LevelBaseline, psaapi.LevelRestricted} {
		lv := psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}
		agg := policy.AggregateCheckResults(eval.EvaluatePod(lv, meta, pod))
		reasons := slices.Clone(agg.ForbiddenReasons)
		sort.Strings(reasons)
		out[level] = reasons
	}
	return out
}

// ownServices are the Services of the tcpemu deployment (labelled
// app.kubernetes.io/name: tcpemu), not those of a dependency beside it.
func ownServices(objs objects) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range objs.services {
		if s.Labels["app.kubernetes.io/name"] == "tcpemu" {
			out = append(out, s)
		}
	}
	return out
}

func checkServices(t *testing.T, v variant, objs objects) {
	sts := onlyOne(t, "StatefulSet", objs.statefulSets)
	podLabels := labels.Set(sts.Spec.Template.Labels)
	named := map[string]bool{}
	for _, p := range container(t, &sts.Spec.Template.Spec, containerName).Ports {
		named[p.Name] = true
	}
	// Each Service has the ports grpc and metrics, and toxiproxy with the
	// toxiproxy HTTP API; the proxies' Service is checked by checkProxies.
	wantNames := []string{"grpc", "metrics"}
	if v.proxies != nil && v.proxies.toxiproxyPort != 0 {
		wantNames = append(wantNames, "toxiproxy")
	}
	own := ownServices(objs)
	var headless, clusterIP, proxy int
	for _, s := range own {
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) || len(s.Spec.Selector) == 0 {
			t.Errorf("Service %s does not select the tcpemud pods", s.Name)
		}
		ports := map[string]int32{}
		for _, p := range s.Spec.Ports {
			ports[p.Name] = p.Port
			if !named[p.TargetPort.String()] {
				t.Errorf("Service %s port %s: targetPort %q is not a container port name", s.Name, p.Name, p.TargetPort.String())
			}
		}
		if s.Labels["tcpemu/service"] == "proxy" {
			proxy++
			continue
		}
		if got := keys(ports); !slices.Equal(got, sorted(wantNames)) || len(s.Spec.Ports) != len(wantNames) {
			t.Errorf("Service %s ports %v, want %v", s.Name, got, wantNames)
		}
		if v.proxies != nil && v.proxies.toxiproxyPort != 0 && ports["toxiproxy"] != v.proxies.toxiproxyPort {
			t.Errorf("Service %s: port toxiproxy %d, want %d", s.Name, ports["toxiproxy"], v.proxies.toxiproxyPort)
		}
		if s.Spec.ClusterIP == corev1.ClusterIPNone {
			headless++
			if ports["grpc"] != grpcPort || ports["metrics"] != metricsPort {
				t.Errorf("headless Service %s ports %v, want %d and %d", s.Name, ports, grpcPort, metricsPort)
			}
		} else if s.Spec.Type == "" || s.Spec.Type == corev1.ServiceTypeClusterIP {
			clusterIP++
		}
	}
	wantProxy := 0
	if v.proxies != nil && len(v.proxies.proxies) != 0 {
		wantProxy = 1
	}
	if headless != 1 || clusterIP != 1 || proxy != wantProxy || len(own) != 2+wantProxy {
		t.Errorf("Services: %d headless, %d ClusterIP, %d proxy of %d; want one of each (and %d proxy)",
			headless, clusterIP, proxy, len(own), wantProxy)
	}
	wantOthers := 0
	if v.redis {
		wantOthers = 1
	}
	if others := len(objs.services) - len(own); others != wantOthers {
		t.Errorf("%d Services not labelled app.kubernetes.io/name: tcpemu, want %d", others, wantOthers)
	}
}

func checkMonitor(t *testing.T, v variant, objs objects) {
	if !v.monitor {
		if len(objs.monitors) != 0 {
			t.Errorf("unexpected ServiceMonitor")
		}
		return
	}
	sm := onlyOne(t, "ServiceMonitor", objs.monitors)
	if len(sm.Spec.Selector.MatchExpressions) != 0 {
		t.Errorf("ServiceMonitor selector: want matchLabels only")
	}
	sel := labels.SelectorFromSet(sm.Spec.Selector.MatchLabels)
	// Exactly one Service: two would scrape every pod twice.
	var selected []*corev1.Service
	for _, s := range objs.services {
		if sel.Matches(labels.Set(s.Labels)) {
			selected = append(selected, s)
		}
	}
	svc := onlyOne(t, "Service selected by the ServiceMonitor", selected)
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Errorf("ServiceMonitor selects the headless Service %s; want the ClusterIP one", svc.Name)
	}
	ep := onlyOne(t, "ServiceMonitor endpoint", sm.Spec.Endpoints)
	if ep.Port != "metrics" || ep.Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoint port %q path %q, want metrics and /metrics", ep.Port, ep.Path)
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
		t.Errorf("Service %s has no port named %q", svc.Name, ep.Port)
	}
}

func checkDashboard(t *testing.T, v variant, objs objects, want []byte) {
	// The dashboard's, and the proxies' with proxies.
	wantConfigMaps := 1
	if v.proxies != nil && len(v.proxies.proxies) != 0 {
		wantConfigMaps = 2
	}
	if len(objs.configMaps) != wantConfigMaps {
		t.Errorf("%d ConfigMaps, want %d", len(objs.configMaps), wantConfigMaps)
	}
	var dashboards []*corev1.ConfigMap
	for _, cm := range objs.configMaps {
		if cm.Labels[dashboardLabel] == "1" {
			dashboards = append(dashboards, cm)
		}
	}
	cm := onlyOne(t, "ConfigMap labelled "+dashboardLabel+": \"1\"", dashboards)
	got, ok := cm.Data[dashboardKey]
	if !ok || len(cm.Data) != 1 {
		t.Fatalf("ConfigMap %s data keys %v, want only %s", cm.Name, keys(cm.Data), dashboardKey)
	}
	if strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
		t.Errorf("ConfigMap %s: %s differs from deploy/grafana/tcpemu.json", cm.Name, dashboardKey)
	}
	if !json.Valid([]byte(got)) {
		t.Errorf("ConfigMap %s: %s is not JSON", cm.Name, dashboardKey)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkTestPod: the helm test hook asks every replica (by its headless DNS
// name) and the Service for gRPC health with grpc_health_probe.
func checkTestPod(t *testing.T, v variant, objs objects) {
	if !v.testPod {
		if len(objs.pods) != 0 {
			t.Errorf("unexpected Pod")
		}
		return
	}
	pod := onlyOne(t, "helm test Pod", objs.pods)
	if pod.Annotations["helm.sh/hook"] != "test" {
		t.Errorf("Pod %s: helm.sh/hook %q, want test", pod.Name, pod.Annotations["helm.sh/hook"])
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("Pod %s: restartPolicy %q, want Never", pod.Name, pod.Spec.RestartPolicy)
	}
	sts := onlyOne(t, "StatefulSet", objs.statefulSets)
	ns := requireEnv(t, "RENDER_NAMESPACE") // helm template --namespace
	var wantAddrs []string
	for i := range v.replicas {
		wantAddrs = append(wantAddrs, fmt.Sprintf("-addr=%s-%d.%s.%s.svc:%d", sts.Name, i, sts.Spec.ServiceName, ns, grpcPort))
	}
	wantAddrs = append(wantAddrs, fmt.Sprintf("-addr=tcpemu.%s.svc:%d", ns, grpcPort))
	var gotAddrs []string
	for _, c := range pod.Spec.Containers {
		if !strings.HasPrefix(c.Image, "ghcr.io/grpc-ecosystem/grpc-health-probe:v") {
			t.Errorf("test container %s: image %q, want ghcr.io/grpc-ecosystem/grpc-health-probe:v...", c.Name, c.Image)
		}
		if !slices.Contains(c.Args, "-service="+healthService) {
			t.Errorf("test container %s: args %q, want -service=%s", c.Name, c.Args, healthService)
		}
		for _, a := range c.Args {
			if strings.HasPrefix(a, "-addr=") {
				gotAddrs = append(gotAddrs, a)
			}
		}
	}
	if !slices.Equal(gotAddrs, wantAddrs) {
		t.Errorf("test pod addresses %q, want %q", gotAddrs, wantAddrs)
	}
	if r := podSecurityForbidden(t, &pod.ObjectMeta, &pod.Spec)[psaapi.LevelRestricted]; len(r) != 0 {
		t.Errorf("test Pod is not \"restricted\": %v", r)
	}
}

// TestHelmAndKustomizeAgree: the StatefulSet's pod spec, the Services' specs,
// the NetworkPolicy's spec and the ServiceMonitor's spec are the same in both
// packagings.
func TestHelmAndKustomizeAgree(t *testing.T) {
	for _, pair := range equivalent {
		t.Run(strings.TrimSuffix(pair[0], ".yaml")+"="+strings.TrimSuffix(pair[1], ".yaml"), func(t *testing.T) {
			a, b := loadVariant(t, pair[0]), loadVariant(t, pair[1])
			sa, sb := onlyOne(t, "StatefulSet", a.statefulSets), onlyOne(t, "StatefulSet", b.statefulSets)
			// The order of volumes and mounts means nothing (kustomize's
			// patches put theirs first).
			// The order of volumes, mounts and ports means nothing
			// (kustomize's patches put theirs first).
			unordered := cmp.Options{
				cmpopts.SortSlices(func(x, y corev1.Volume) bool { return x.Name < y.Name }),
				cmpopts.SortSlices(func(x, y corev1.VolumeMount) bool { return x.Name < y.Name }),
				cmpopts.SortSlices(func(x, y corev1.ContainerPort) bool { return x.Name < y.Name }),
			}
			// kustomize's ConfigMap generator appends a hash of the
			// contents to the name; the chart's ConfigMap has the plain name.
			specA, specB := unhashed(t, a, sa), unhashed(t, b, sb)
			if d := cmp.Diff(specA, specB, unordered); d != "" {
				t.Errorf("pod spec (-%s +%s):\n%s", pair[0], pair[1], d)
			}
			if sa.Spec.ServiceName != sb.Spec.ServiceName || sa.Spec.PodManagementPolicy != sb.Spec.PodManagementPolicy {
				t.Errorf("StatefulSet serviceName/podManagementPolicy differ")
			}
			byName := func(o objects) map[string]corev1.ServiceSpec {
				m := map[string]corev1.ServiceSpec{}
				for _, s := range ownServices(o) {
					m[s.Name] = s.Spec
				}
				return m
			}
			if d := cmp.Diff(byName(a), byName(b)); d != "" {
				t.Errorf("Services (-%s +%s):\n%s", pair[0], pair[1], d)
			}
			if len(a.networkPolicies) != 1 || len(b.networkPolicies) != 1 {
				t.Errorf("NetworkPolicies: %d and %d, want one each", len(a.networkPolicies), len(b.networkPolicies))
			} else if d := cmp.Diff(a.networkPolicies[0].Spec, b.networkPolicies[0].Spec); d != "" {
				t.Errorf("NetworkPolicy (-%s +%s):\n%s", pair[0], pair[1], d)
			}
			if len(a.monitors) == 1 && len(b.monitors) == 1 {
				if d := cmp.Diff(a.monitors[0].Spec, b.monitors[0].Spec); d != "" {
					t.Errorf("ServiceMonitor (-%s +%s):\n%s", pair[0], pair[1], d)
				}
			}
		})
	}
}

// kustomizeHash is the suffix kustomize's ConfigMap generator appends: a dash
// and ten characters of its hash alphabet.
var kustomizeHash = regexp.MustCompile(`-[bcdfghkmt2-9]{10}$`)

// unhashed is the StatefulSet's pod spec with each ConfigMap volume naming
// the ConfigMap without kustomize's hash suffix. Every ConfigMap it mounts
// must be in the rendering.
func unhashed(t *testing.T, objs objects, sts *appsv1.StatefulSet) corev1.PodSpec {
	t.Helper()
	spec := *sts.Spec.Template.Spec.DeepCopy()
	for _, vol := range spec.Volumes {
		if vol.ConfigMap == nil {
			continue
		}
		if !slices.ContainsFunc(objs.configMaps, func(cm *corev1.ConfigMap) bool { return cm.Name == vol.ConfigMap.Name }) {
			t.Errorf("volume %s: ConfigMap %s is not in the rendering", vol.Name, vol.ConfigMap.Name)
		}
		vol.ConfigMap.Name = kustomizeHash.ReplaceAllString(vol.ConfigMap.Name, "")
	}
	return spec
}
