package packaging

// The NetworkPolicy of the kustomize base and of the Helm chart: checked as
// an object (one policy, selecting the tcpemud pods, every ingress rule
// naming ports of the container, egress rules only when asked for) and by
// what it lets through, with an evaluation of the NetworkPolicy rules
// (podSelector, namespaceSelector, ports by name or number) for connections
// from a few peers: Prometheus in the monitoring namespace, a client in
// another namespace, a pod of the release's own namespace, the clients of
// the proxies; and, with egress rules, to a few destinations: the proxies'
// upstream, DNS, the tcpemud pods, anything else.

import (
	"maps"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The namespace the packaging's metrics rule admits by default.
var defaultMetricsNamespace = map[string]string{"kubernetes.io/metadata.name": "monitoring"}

// policyWant is what one rendering's NetworkPolicy must let through.
type policyWant struct {
	// Labels of the namespace whose pods may reach /metrics.
	metricsNamespace map[string]string
	// If set, only the pods with these labels there.
	metricsPods map[string]string
	// Labels of the namespace whose pods may call gRPC; nil: every source.
	grpcNamespace map[string]string
	// The toxiproxy HTTP API's port is open, to the sources of gRPC.
	toxiproxy bool
	// The container ports of the proxies.
	proxyPorts []string
	// Labels of the namespace whose pods may connect to the proxies (nil:
	// every source), and if set only its pods with these labels.
	proxyNamespace, proxyPods map[string]string
	// Egress rules; nil: the policy is ingress only.
	egress *egressWant
}

// egressWant: egress is allowed to the proxies' upstream, DNS and the
// tcpemud pods' gRPC (the helm test pod), and nowhere else.
type egressWant struct {
	upstreamNamespace, upstreamPods map[string]string
	upstreamPort                    int32
}

// peer is the source of a connection.
type peer struct {
	name      string
	namespace map[string]string // its namespace's labels
	pod       map[string]string // its labels
	local     bool              // in the namespace of the tcpemud pods
}

func peersFor(t *testing.T, want *policyWant, testPod map[string]string) []peer {
	t.Helper()
	ns := requireEnv(t, "RENDER_NAMESPACE") // helm template --namespace
	local := map[string]string{"kubernetes.io/metadata.name": ns}
	prometheus := map[string]string{"app.kubernetes.io/name": "prometheus"}
	out := []peer{
		{name: "Prometheus in the metrics namespace", namespace: want.metricsNamespace, pod: prometheus},
		{name: "another pod in the metrics namespace", namespace: want.metricsNamespace, pod: map[string]string{"app": "other"}},
		{name: "Prometheus in namespace default", namespace: map[string]string{"kubernetes.io/metadata.name": "default"}, pod: prometheus},
		{name: "a client in namespace default", namespace: map[string]string{"kubernetes.io/metadata.name": "default"}, pod: map[string]string{"app": "client"}},
		{name: "a pod of the release's namespace", namespace: local, pod: map[string]string{"app": "client"}, local: true},
	}
	if want.grpcNamespace != nil {
		out = append(out, peer{name: "a client in the gRPC namespace", namespace: want.grpcNamespace, pod: map[string]string{"app": "client"}})
	}
	if want.proxyNamespace != nil {
		out = append(out,
			peer{name: "a client of the proxies", namespace: want.proxyNamespace, pod: want.proxyPods},
			peer{name: "another pod in the proxies' clients' namespace", namespace: want.proxyNamespace, pod: map[string]string{"app": "other"}})
	}
	if testPod != nil {
		out = append(out, peer{name: "the helm test pod", namespace: local, pod: testPod, local: true})
	}
	return out
}

func checkNetworkPolicy(t *testing.T, v variant, objs objects) {
	t.Helper()
	if v.policy == nil {
		if len(objs.networkPolicies) != 0 {
			t.Errorf("%d NetworkPolicies, want none", len(objs.networkPolicies))
		}
		return
	}
	np := onlyOne(t, "NetworkPolicy", objs.networkPolicies)
	sts := onlyOne(t, "StatefulSet", objs.statefulSets)
	podLabels := labels.Set(sts.Spec.Template.Labels)
	c := container(t, &sts.Spec.Template.Spec, containerName)

	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		t.Fatalf("NetworkPolicy %s: podSelector: %v", np.Name, err)
	}
	if sel.Empty() || !sel.Matches(podLabels) {
		t.Errorf("NetworkPolicy %s: podSelector %s does not select the tcpemud pods %v", np.Name, sel, podLabels)
	}
	// Ingress only: egress (the proxies' upstreams, TAP sessions to hosts,
	// DNS) stays open, unless egress rules are asked for.
	wantTypes := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if v.policy.egress != nil {
		wantTypes = append(wantTypes, networkingv1.PolicyTypeEgress)
	}
	if !slices.Equal(np.Spec.PolicyTypes, wantTypes) {
		t.Errorf("NetworkPolicy %s: policyTypes %v, want %v", np.Name, np.Spec.PolicyTypes, wantTypes)
	}
	if v.policy.egress == nil && len(np.Spec.Egress) != 0 {
		t.Errorf("NetworkPolicy %s: egress rules", np.Name)
	}
	for i, r := range np.Spec.Ingress {
		// A rule without ports opens every port, to its sources.
		if len(r.Ports) == 0 {
			t.Errorf("NetworkPolicy %s: ingress rule %d names no port (all ports)", np.Name, i)
		}
		for _, p := range r.Ports {
			if p.Port == nil || containerPort(c, p) == nil {
				t.Errorf("NetworkPolicy %s: ingress rule %d: port %v is not a port of the container", np.Name, i, p.Port)
			}
			if p.EndPort != nil {
				t.Errorf("NetworkPolicy %s: ingress rule %d: a port range", np.Name, i)
			}
		}
		for _, from := range r.From {
			if from.IPBlock != nil {
				t.Errorf("NetworkPolicy %s: ingress rule %d: an ipBlock (the packaging's defaults have none)", np.Name, i)
			}
		}
	}

	var testPod map[string]string
	if v.testPod {
		// It carries the selector labels too, so the policy applies to it
		// as well: it listens on nothing, and its egress stays open.
		testPod = onlyOne(t, "helm test Pod", objs.pods).Labels
	}
	w := v.policy
	for _, from := range peersFor(t, w, testPod) {
		inMetricsNS := maps.Equal(from.namespace, w.metricsNamespace)
		wantMetrics := inMetricsNS && (w.metricsPods == nil || labels.SelectorFromSet(w.metricsPods).Matches(labels.Set(from.pod)))
		wantGRPC := w.grpcNamespace == nil || maps.Equal(from.namespace, w.grpcNamespace) ||
			(testPod != nil && maps.Equal(from.pod, testPod))
		wantProxy := w.proxyNamespace == nil || maps.Equal(from.namespace, w.proxyNamespace) &&
			(w.proxyPods == nil || labels.SelectorFromSet(w.proxyPods).Matches(labels.Set(from.pod)))
		ports := []struct {
			name string
			want bool
		}{{"metrics", wantMetrics}, {"grpc", wantGRPC}, {"toxiproxy", w.toxiproxy && wantGRPC}}
		for _, name := range w.proxyPorts {
			ports = append(ports, struct {
				name string
				want bool
			}{name, wantProxy})
		}
		for _, port := range ports {
			if got := admits(t, np, c, from, port.name); got != port.want {
				t.Errorf("NetworkPolicy %s: %s -> port %s: admitted %v, want %v", np.Name, from.name, port.name, got, port.want)
			}
		}
	}
	// A port the container does not declare is closed to everyone.
	if admits(t, np, c, peersFor(t, w, nil)[0], "other") {
		t.Errorf("NetworkPolicy %s admits a port the container does not declare", np.Name)
	}
	if w.egress != nil {
		checkEgress(t, np, w.egress, podLabels)
	}
}

// destination is where a connection from a tcpemud pod goes.
type destination struct {
	name      string
	namespace map[string]string // its namespace's labels; nil: not a pod
	pod       map[string]string
	local     bool // in the namespace of the tcpemud pods
	port      int32
	portName  string // the destination container's name of the port
	protocol  corev1.Protocol
}

func checkEgress(t *testing.T, np *networkingv1.NetworkPolicy, w *egressWant, tcpemuPod map[string]string) {
	t.Helper()
	ns := map[string]string{"kubernetes.io/metadata.name": requireEnv(t, "RENDER_NAMESPACE")}
	kubeSystem := map[string]string{"kubernetes.io/metadata.name": "kube-system"}
	other := map[string]string{"kubernetes.io/metadata.name": "other"}
	for _, tc := range []struct {
		to   destination
		want bool
	}{
		{destination{name: "the upstream", namespace: w.upstreamNamespace, pod: w.upstreamPods, port: w.upstreamPort}, true},
		{destination{name: "the upstream's pod on another port", namespace: w.upstreamNamespace, pod: w.upstreamPods, port: w.upstreamPort + 1}, false},
		{destination{name: "the upstream's labels in another namespace", namespace: other, pod: w.upstreamPods, port: w.upstreamPort}, false},
		{destination{name: "another pod of the upstream's namespace", namespace: w.upstreamNamespace, pod: map[string]string{"app": "other"}, port: w.upstreamPort}, false},
		{destination{name: "DNS over UDP", namespace: kubeSystem, pod: map[string]string{"k8s-app": "kube-dns"}, port: 53, protocol: corev1.ProtocolUDP}, true},
		{destination{name: "DNS over TCP", namespace: kubeSystem, pod: map[string]string{"k8s-app": "kube-dns"}, port: 53}, true},
		{destination{name: "the tcpemud pods' gRPC (the helm test pod)", namespace: ns, pod: tcpemuPod, local: true, port: grpcPort, portName: "grpc"}, true},
		{destination{name: "the tcpemud pods' metrics", namespace: ns, pod: tcpemuPod, local: true, port: metricsPort, portName: "metrics"}, false},
		{destination{name: "a host outside the cluster", port: 443}, false},
		{destination{name: "a pod of the release's namespace", namespace: ns, pod: map[string]string{"app": "x"}, local: true, port: w.upstreamPort}, false},
	} {
		if got := allowsEgress(t, np, tc.to); got != tc.want {
			t.Errorf("NetworkPolicy %s: egress to %s (port %d): allowed %v, want %v", np.Name, tc.to.name, tc.to.port, got, tc.want)
		}
	}
}

// allowsEgress evaluates the policy's egress rules for a connection to `to`.
// Named ports are the destination container's.
func allowsEgress(t *testing.T, np *networkingv1.NetworkPolicy, to destination) bool {
	t.Helper()
	proto := to.protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, r := range np.Spec.Egress {
		portOK := len(r.Ports) == 0
		for _, p := range r.Ports {
			pp := corev1.ProtocolTCP
			if p.Protocol != nil {
				pp = *p.Protocol
			}
			if pp != proto || p.Port == nil {
				continue
			}
			if p.Port.Type == intstr.String && p.Port.StrVal == to.portName && to.portName != "" ||
				p.Port.Type == intstr.Int && p.Port.IntVal == to.port {
				portOK = true
			}
		}
		if !portOK {
			continue
		}
		if len(r.To) == 0 {
			return true
		}
		for _, dst := range r.To {
			if to.namespace == nil {
				continue // a host outside the cluster: no ipBlock here admits one
			}
			if peerMatches(t, dst, peer{namespace: to.namespace, pod: to.pod, local: to.local}) {
				return true
			}
		}
	}
	return false
}

// containerPort is the container's port a NetworkPolicy port names (by name
// or number, TCP unless it says otherwise), or nil.
func containerPort(c *corev1.Container, p networkingv1.NetworkPolicyPort) *corev1.ContainerPort {
	proto := corev1.ProtocolTCP
	if p.Protocol != nil {
		proto = *p.Protocol
	}
	for i := range c.Ports {
		cp := &c.Ports[i]
		cpProto := cp.Protocol
		if cpProto == "" {
			cpProto = corev1.ProtocolTCP
		}
		if cpProto != proto || p.Port == nil {
			continue
		}
		if p.Port.StrVal == cp.Name && p.Port.StrVal != "" || p.Port.StrVal == "" && p.Port.IntVal == cp.ContainerPort {
			return cp
		}
	}
	return nil
}

// admits evaluates the policy's ingress rules, as a network plugin does, for
// a TCP connection from `from` to the container's port named `port`.
func admits(t *testing.T, np *networkingv1.NetworkPolicy, c *corev1.Container, from peer, port string) bool {
	t.Helper()
	for _, r := range np.Spec.Ingress {
		portOK := len(r.Ports) == 0
		for _, p := range r.Ports {
			if cp := containerPort(c, p); cp != nil && cp.Name == port {
				portOK = true
			}
		}
		if !portOK {
			continue
		}
		if len(r.From) == 0 {
			return true
		}
		for _, f := range r.From {
			if peerMatches(t, f, from) {
				return true
			}
		}
	}
	return false
}

func peerMatches(t *testing.T, f networkingv1.NetworkPolicyPeer, from peer) bool {
	t.Helper()
	matches := func(s *metav1.LabelSelector, set map[string]string) bool {
		sel, err := metav1.LabelSelectorAsSelector(s)
		if err != nil {
			t.Fatalf("selector %v: %v", s, err)
		}
		return sel.Matches(labels.Set(set))
	}
	switch {
	case f.IPBlock != nil:
		return false // no peer here has a known address
	case f.NamespaceSelector != nil && f.PodSelector != nil:
		return matches(f.NamespaceSelector, from.namespace) && matches(f.PodSelector, from.pod)
	case f.NamespaceSelector != nil:
		return matches(f.NamespaceSelector, from.namespace)
	case f.PodSelector != nil:
		// A podSelector alone: pods of the policy's own namespace.
		return from.local && matches(f.PodSelector, from.pod)
	}
	return false
}

// TestNetworkPolicyEvaluation checks the evaluation itself on a policy
// written here, so that the checks above cannot pass by a broken evaluator.
func TestNetworkPolicyEvaluation(t *testing.T) {
	tcp := corev1.ProtocolTCP
	c := &corev1.Container{Ports: []corev1.ContainerPort{
		{Name: "grpc", ContainerPort: grpcPort, Protocol: tcp},
		{Name: "metrics", ContainerPort: metricsPort},
	}}
	byName := func(s string) networkingv1.NetworkPolicyPort {
		p := intstr.Parse(s)
		return networkingv1.NetworkPolicyPort{Port: &p}
	}
	monitoring := &metav1.LabelSelector{MatchLabels: defaultMetricsNamespace}
	np := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{
		{Ports: []networkingv1.NetworkPolicyPort{byName("grpc")}, From: []networkingv1.NetworkPolicyPeer{
			{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "client"}}},
		}},
		{Ports: []networkingv1.NetworkPolicyPort{byName("9464")}, From: []networkingv1.NetworkPolicyPeer{
			{NamespaceSelector: monitoring, PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "prometheus"}}},
		}},
	}}}
	mon := map[string]string{"kubernetes.io/metadata.name": "monitoring"}
	other := map[string]string{"kubernetes.io/metadata.name": "other"}
	for _, tc := range []struct {
		from       peer
		port       string
		want       bool
		whyNotWant string
	}{
		{peer{namespace: other, pod: map[string]string{"app": "client"}, local: true}, "grpc", true, ""},
		{peer{namespace: other, pod: map[string]string{"app": "client"}}, "grpc", false, "podSelector alone is the policy's namespace"},
		{peer{namespace: other, pod: map[string]string{"app": "web"}, local: true}, "grpc", false, "pod labels"},
		{peer{namespace: mon, pod: map[string]string{"app": "prometheus"}}, "metrics", true, ""},
		{peer{namespace: mon, pod: map[string]string{"app": "grafana"}}, "metrics", false, "namespace and pod selectors together"},
		{peer{namespace: other, pod: map[string]string{"app": "prometheus"}}, "metrics", false, "namespace labels"},
		{peer{namespace: mon, pod: map[string]string{"app": "prometheus"}}, "grpc", false, "per-rule ports"},
	} {
		if got := admits(t, np, c, tc.from, tc.port); got != tc.want {
			t.Errorf("%v -> %s: admitted %v, want %v (%s)", tc.from, tc.port, got, tc.want, tc.whyNotWant)
		}
	}
	open := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{
		{Ports: []networkingv1.NetworkPolicyPort{byName("grpc")}},
	}}}
	if !admits(t, open, c, peer{namespace: other}, "grpc") || admits(t, open, c, peer{namespace: other}, "metrics") {
		t.Error("a rule with ports and no from: every source, on those ports only")
	}
	if admits(t, &networkingv1.NetworkPolicy{}, c, peer{namespace: mon}, "metrics") {
		t.Error("a policy without ingress rules admits nothing")
	}
}

// TestNetworkPolicyEgressEvaluation checks the egress evaluation on a policy
// written here.
func TestNetworkPolicyEgressEvaluation(t *testing.T) {
	udp := corev1.ProtocolUDP
	port := func(s string) *intstr.IntOrString { p := intstr.Parse(s); return &p }
	redis := map[string]string{"app": "redis"}
	data := map[string]string{"kubernetes.io/metadata.name": "data"}
	np := &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{
		{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: data}, PodSelector: &metav1.LabelSelector{MatchLabels: redis}}},
			Ports: []networkingv1.NetworkPolicyPort{{Port: port("6379")}}},
		{Ports: []networkingv1.NetworkPolicyPort{{Port: port("53"), Protocol: &udp}}},
		{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}}},
			Ports: []networkingv1.NetworkPolicyPort{{Port: port("http")}}},
	}}}
	other := map[string]string{"kubernetes.io/metadata.name": "other"}
	for _, tc := range []struct {
		to   destination
		want bool
	}{
		{destination{namespace: data, pod: redis, port: 6379}, true},
		{destination{namespace: data, pod: redis, port: 6380}, false},
		{destination{namespace: other, pod: redis, port: 6379}, false},
		{destination{namespace: data, pod: map[string]string{"app": "pg"}, port: 6379}, false},
		{destination{port: 53, protocol: udp}, true},
		{destination{port: 53}, false},
		{destination{namespace: other, pod: map[string]string{"app": "api"}, local: true, port: 8080, portName: "http"}, true},
		{destination{namespace: other, pod: map[string]string{"app": "api"}, port: 8080, portName: "http"}, false},
		{destination{namespace: other, pod: map[string]string{"app": "api"}, local: true, port: 8080, portName: "web"}, false},
	} {
		if got := allowsEgress(t, np, tc.to); got != tc.want {
			t.Errorf("egress to %+v: allowed %v, want %v", tc.to, got, tc.want)
		}
	}
	if allowsEgress(t, &networkingv1.NetworkPolicy{}, destination{port: 53, protocol: udp}) {
		t.Error("a policy without egress rules allows nothing")
	}
}
