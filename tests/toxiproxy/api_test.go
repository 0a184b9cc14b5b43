package toxiproxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

func TestVersion(t *testing.T) {
	c := newClient(t)
	body, err := c.Version()
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	var v struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Version == "" {
		t.Fatalf("GET /version = %q, want JSON with a non-empty \"version\" (%v)", body, err)
	}
	t.Logf("version %s", v.Version)
}

func TestProxyLifecycle(t *testing.T) {
	c := newClient(t)
	name := proxyName(t, "")
	upstream := startEcho(t, "one:")
	p := createProxy(t, c, name, upstream)
	if len(p.ActiveToxics) != 0 {
		t.Errorf("a new proxy has toxics %v", p.ActiveToxics)
	}
	listen := p.Listen
	echoWorks(t, listen, "one:")

	// Proxies and Proxy show it as created.
	all, err := c.Proxies()
	if err != nil {
		t.Fatalf("Proxies: %v", err)
	}
	got, ok := all[name]
	if !ok {
		t.Fatalf("Proxies() has no %q: %v", name, all)
	}
	if got.Name != name || got.Listen != listen || got.Upstream != upstream || !got.Enabled || len(got.ActiveToxics) != 0 {
		t.Errorf("Proxies()[%q] = %+v, want listen %s upstream %s enabled, no toxics", name, got, listen, upstream)
	}
	one, err := c.Proxy(name)
	if err != nil {
		t.Fatalf("Proxy(%q): %v", name, err)
	}
	if one.Name != name || one.Listen != listen || one.Upstream != upstream || !one.Enabled {
		t.Errorf("Proxy(%q) = %+v, want listen %s upstream %s enabled", name, one, listen, upstream)
	}

	// Disable: open connections close, the listener stops accepting.
	open := dial(t, listen)
	readExactly(t, open, "one:")
	roundTrip(t, open, "before disable")
	if err := one.Disable(); err != nil {
		t.Fatalf("Disable: %v", err)
	}
	if one.Enabled {
		t.Errorf("after Disable the returned proxy is enabled")
	}
	if data, err := readToEnd(t, open, eventually); len(data) != 0 {
		t.Errorf("a connection open at Disable read %q (%v) instead of its end", data, err)
	}
	waitUntil(t, "connections to a disabled proxy are refused", func() bool { return refused(listen) })
	if got, err := c.Proxy(name); err != nil || got.Enabled {
		t.Errorf("Proxy(%q) after Disable: enabled=%v err=%v, want disabled", name, got != nil && got.Enabled, err)
	}

	// Enable: the same address listens again.
	if err := one.Enable(); err != nil {
		t.Fatalf("Enable: %v", err)
	}
	if !one.Enabled || one.Listen != listen {
		t.Errorf("after Enable: enabled=%v listen=%s, want true %s", one.Enabled, one.Listen, listen)
	}
	waitUntil(t, "a re-enabled proxy accepts", func() bool { return !refused(listen) })
	echoWorks(t, listen, "one:")

	// Save with another upstream: new connections go there.
	other := startEcho(t, "two:")
	one.Upstream = other
	if err := one.Save(); err != nil {
		t.Fatalf("Save with upstream %s: %v", other, err)
	}
	if one.Upstream != other || one.Listen != listen || !one.Enabled {
		t.Errorf("after Save: %+v, want upstream %s listen %s enabled", one, other, listen)
	}
	waitUntil(t, "a new connection reaches the new upstream", func() bool { return !refused(listen) })
	echoWorks(t, listen, "two:")

	// Delete: gone from the API, the port refuses.
	if err := one.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.Proxy(name); err == nil || apiStatus(t, err) != http.StatusNotFound {
		t.Errorf("Proxy(%q) after Delete: %v, want HTTP 404", name, err)
	}
	all, err = c.Proxies()
	if err != nil {
		t.Fatalf("Proxies: %v", err)
	}
	if _, ok := all[name]; ok {
		t.Errorf("Proxies() still has %q after Delete", name)
	}
	waitUntil(t, "connections to a deleted proxy are refused", func() bool { return refused(listen) })
}

func TestNewProxySave(t *testing.T) {
	c := newClient(t)
	upstream := startEcho(t, "")
	p := c.NewProxy()
	p.Name = proxyName(t, "")
	p.Listen = "127.0.0.1:0"
	p.Upstream = upstream
	p.Enabled = false
	if err := p.Save(); err != nil {
		t.Fatalf("Save of a new disabled proxy: %v", err)
	}
	t.Cleanup(func() { _ = p.Delete() })
	if p.Enabled || p.Upstream != upstream {
		t.Errorf("Save returned %+v, want a disabled proxy in front of %s", p, upstream)
	}
	if err := p.Enable(); err != nil {
		t.Fatalf("Enable: %v", err)
	}
	checkBoundListen(t, p.Listen)
	echoWorks(t, p.Listen, "")
}

func TestErrors(t *testing.T) {
	c := newClient(t)
	name := proxyName(t, "")
	upstream := startEcho(t, "")
	p := createProxy(t, c, name, upstream)

	_, err := c.CreateProxy(name, "127.0.0.1:0", upstream)
	if status := apiStatus(t, err); status != http.StatusConflict {
		t.Errorf("CreateProxy of an existing name: HTTP %d (%v), want 409", status, err)
	}
	_, err = c.CreateProxy(name+".no-upstream", "127.0.0.1:0", "")
	if status := apiStatus(t, err); status != http.StatusBadRequest {
		t.Errorf("CreateProxy without upstream: HTTP %d (%v), want 400", status, err)
	}

	missing := name + ".missing"
	_, err = c.Proxy(missing)
	if status := apiStatus(t, err); status != http.StatusNotFound {
		t.Errorf("Proxy of a missing name: HTTP %d (%v), want 404", status, err)
	}
	gone := c.NewProxy()
	gone.Name = missing
	if status := apiStatus(t, gone.Delete()); status != http.StatusNotFound {
		t.Errorf("Delete of a missing proxy: HTTP %d, want 404", status)
	}
	if _, err := gone.Toxics(); err == nil || apiStatus(t, err) != http.StatusNotFound {
		t.Errorf("Toxics of a missing proxy: %v, want HTTP 404", err)
	}
	// The client's ToxicOptions methods look the proxy up first and report
	// its 404 in their message.
	_, err = c.AddToxic(&toxiproxy.ToxicOptions{ProxyName: missing, ToxicType: "latency", Toxicity: 1})
	if err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("AddToxic on a missing proxy: %v, want an error naming HTTP 404", err)
	}

	_, err = p.AddToxic("", "no_such_toxic", "", 1, toxiproxy.Attributes{})
	if status := apiStatus(t, err); status != http.StatusBadRequest {
		t.Errorf("AddToxic of an unknown type: HTTP %d (%v), want 400", status, err)
	}
	_, err = p.AddToxic("", "latency", "sideways", 1, toxiproxy.Attributes{"latency": 10})
	if status := apiStatus(t, err); status != http.StatusBadRequest {
		t.Errorf("AddToxic with stream \"sideways\": HTTP %d (%v), want 400", status, err)
	}
	addToxic(t, p, "slow", "latency", "", toxiproxy.Attributes{"latency": 10})
	_, err = p.AddToxic("slow", "latency", "upstream", 1, toxiproxy.Attributes{"latency": 10})
	if status := apiStatus(t, err); status != http.StatusConflict {
		t.Errorf("AddToxic of an existing toxic name: HTTP %d (%v), want 409", status, err)
	}
	_, err = p.UpdateToxic("no_such", -1, toxiproxy.Attributes{"latency": 5})
	if status := apiStatus(t, err); status != http.StatusNotFound {
		t.Errorf("UpdateToxic of a missing toxic: HTTP %d (%v), want 404", status, err)
	}
	if status := apiStatus(t, p.RemoveToxic("no_such")); status != http.StatusNotFound {
		t.Errorf("RemoveToxic of a missing toxic: HTTP %d, want 404", status)
	}
	// The failed calls left the proxy as it was.
	toxics, err := p.Toxics()
	if err != nil {
		t.Fatal(err)
	}
	if len(toxics) != 1 || toxics[0].Name != "slow" {
		t.Errorf("toxics after the failed calls: %+v, want only \"slow\"", toxics)
	}
}

// httpCall makes a raw request to the API and decodes its JSON body.
func httpCall(t *testing.T, method, path, body string) (int, http.Header, any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+apiAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Timeout: ioTimeout}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if len(strings.TrimSpace(string(raw))) > 0 {
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Errorf("%s %s: HTTP %d with a body that is not JSON: %q", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, resp.Header, decoded
}

// TestStatusCodesAndShapes checks toxiproxy's exact status codes and JSON
// shapes, which the client accepts more loosely (any 2xx) but other clients
// and tools read.
func TestStatusCodesAndShapes(t *testing.T) {
	newClient(t)
	name := proxyName(t, "")
	upstream := startEcho(t, "")
	expect := func(method, path, body string, wantStatus int) any {
		t.Helper()
		status, header, decoded := httpCall(t, method, path, body)
		if status != wantStatus {
			t.Errorf("%s %s %s: HTTP %d (%v), want %d", method, path, body, status, decoded, wantStatus)
		}
		if decoded != nil && !strings.HasPrefix(header.Get("Content-Type"), "application/json") &&
			status < 300 {
			t.Errorf("%s %s: Content-Type %q, want application/json", method, path, header.Get("Content-Type"))
		}
		return decoded
	}
	expectError := func(method, path, body string, wantStatus int) {
		t.Helper()
		decoded := expect(method, path, body, wantStatus)
		m, ok := decoded.(map[string]any)
		if !ok || m["error"] == nil || m["error"] == "" || m["status"] != float64(wantStatus) {
			t.Errorf("%s %s: error body %v, want {\"error\": <message>, \"status\": %d}", method, path, decoded, wantStatus)
		}
	}

	created := expect("POST", "/proxies",
		`{"name":"`+name+`","listen":"127.0.0.1:0","upstream":"`+upstream+`"}`, http.StatusCreated)
	t.Cleanup(func() { httpCall(t, "DELETE", "/proxies/"+name, "") })
	m, ok := created.(map[string]any)
	if !ok {
		t.Fatalf("POST /proxies returned %v, want an object", created)
	}
	if m["name"] != name || m["upstream"] != upstream || m["enabled"] != true {
		t.Errorf("POST /proxies returned %v", m)
	}
	if toxics, ok := m["toxics"].([]any); !ok || len(toxics) != 0 {
		t.Errorf("POST /proxies: toxics = %v, want []", m["toxics"])
	}
	listen, _ := m["listen"].(string)
	checkBoundListen(t, listen)

	index := expect("GET", "/proxies", "", http.StatusOK)
	if all, ok := index.(map[string]any); !ok || all[name] == nil {
		t.Errorf("GET /proxies = %v, want an object keyed by name holding %q", index, name)
	}
	expect("GET", "/proxies/"+name, "", http.StatusOK)
	toxic := expect("POST", "/proxies/"+name+"/toxics",
		`{"type":"latency","attributes":{"latency":20}}`, http.StatusOK)
	tm, _ := toxic.(map[string]any)
	if tm["name"] != "latency_downstream" || tm["type"] != "latency" || tm["stream"] != "downstream" ||
		tm["toxicity"] != float64(1) {
		t.Errorf("POST /proxies/%s/toxics returned %v, want name latency_downstream, stream downstream, toxicity 1", name, toxic)
	}
	if attrs, ok := tm["attributes"].(map[string]any); !ok || attrs["latency"] != float64(20) {
		t.Errorf("toxic attributes = %v, want latency 20", tm["attributes"])
	}
	if list, ok := expect("GET", "/proxies/"+name+"/toxics", "", http.StatusOK).([]any); !ok || len(list) != 1 {
		t.Errorf("GET /proxies/%s/toxics: want a list of one toxic", name)
	}
	expect("GET", "/proxies/"+name+"/toxics/latency_downstream", "", http.StatusOK)
	updated := expect("PATCH", "/proxies/"+name+"/toxics/latency_downstream",
		`{"attributes":{"latency":30}}`, http.StatusOK)
	if um, _ := updated.(map[string]any); um == nil || um["attributes"].(map[string]any)["latency"] != float64(30) {
		t.Errorf("PATCH toxic returned %v, want latency 30", updated)
	}
	expect("PATCH", "/proxies/"+name, `{"enabled":false}`, http.StatusOK)
	expect("POST", "/proxies/"+name, `{"enabled":true}`, http.StatusOK)
	expect("DELETE", "/proxies/"+name+"/toxics/latency_downstream", "", http.StatusNoContent)
	expect("POST", "/reset", "", http.StatusNoContent)

	expectError("GET", "/proxies/"+name+".missing", "", http.StatusNotFound)
	expectError("GET", "/proxies/"+name+"/toxics/missing", "", http.StatusNotFound)
	expectError("POST", "/proxies", `{"name":"`+name+`","listen":"127.0.0.1:0","upstream":"`+upstream+`"}`,
		http.StatusConflict)
	expectError("POST", "/proxies", `{"name":"`+name+`.x","listen":"127.0.0.1:0"}`, http.StatusBadRequest)
	expectError("POST", "/proxies", `{"listen":"127.0.0.1:0","upstream":"`+upstream+`"}`, http.StatusBadRequest)
	expectError("POST", "/proxies", `not json`, http.StatusBadRequest)
	expectError("POST", "/proxies/"+name+"/toxics", `{"type":"no_such_toxic"}`, http.StatusBadRequest)
	expectError("POST", "/proxies/"+name+"/toxics", `{"type":"latency","stream":"sideways"}`, http.StatusBadRequest)
	expectError("DELETE", "/proxies/"+name+".missing", "", http.StatusNotFound)

	expect("DELETE", "/proxies/"+name, "", http.StatusNoContent)
}

func TestPopulate(t *testing.T) {
	c := newClient(t)
	first := startEcho(t, "first:")
	second := startEcho(t, "second:")
	a, b := proxyName(t, "a"), proxyName(t, "b")
	t.Cleanup(func() {
		for _, n := range []string{a, b} {
			if p, err := c.Proxy(n); err == nil {
				_ = p.Delete()
			}
		}
	})

	proxies, err := c.Populate([]toxiproxy.Proxy{
		{Name: a, Listen: "127.0.0.1:0", Upstream: first, Enabled: true},
		{Name: b, Listen: "127.0.0.1:0", Upstream: second, Enabled: false},
	})
	if err != nil {
		t.Fatalf("Populate: %v", err)
	}
	byName := map[string]*toxiproxy.Proxy{}
	for _, p := range proxies {
		byName[p.Name] = p
	}
	if len(proxies) != 2 || byName[a] == nil || byName[b] == nil {
		t.Fatalf("Populate returned %d proxies %v, want %s and %s", len(proxies), byName, a, b)
	}
	if !byName[a].Enabled || byName[a].Upstream != first {
		t.Errorf("populated %s = %+v, want enabled in front of %s", a, byName[a], first)
	}
	if byName[b].Enabled || byName[b].Upstream != second {
		t.Errorf("populated %s = %+v, want disabled in front of %s", b, byName[b], second)
	}
	checkBoundListen(t, byName[a].Listen)
	echoWorks(t, byName[a].Listen, "first:")
	if got, err := c.Proxy(b); err != nil || got.Enabled {
		t.Errorf("Proxy(%q) after Populate: %+v %v, want it disabled", b, got, err)
	}

	// Populating again with another upstream replaces the proxy.
	proxies, err = c.Populate([]toxiproxy.Proxy{
		{Name: a, Listen: "127.0.0.1:0", Upstream: second, Enabled: true},
	})
	if err != nil {
		t.Fatalf("Populate to replace %s: %v", a, err)
	}
	if len(proxies) != 1 || proxies[0].Name != a || proxies[0].Upstream != second || !proxies[0].Enabled {
		t.Fatalf("Populate to replace returned %+v, want %s enabled in front of %s", proxies, a, second)
	}
	checkBoundListen(t, proxies[0].Listen)
	echoWorks(t, proxies[0].Listen, "second:")

	// A proxy without an upstream fails the whole call, which creates none.
	c3 := proxyName(t, "c")
	_, err = c.Populate([]toxiproxy.Proxy{
		{Name: c3, Listen: "127.0.0.1:0", Upstream: first, Enabled: true},
		{Name: c3 + "x", Listen: "127.0.0.1:0", Enabled: true},
	})
	if status := apiStatus(t, err); status != http.StatusBadRequest {
		t.Errorf("Populate with a proxy missing its upstream: HTTP %d (%v), want 400", status, err)
	}
	if _, err := c.Proxy(c3); err == nil {
		t.Errorf("a failed Populate created %s", c3)
		if p, err := c.Proxy(c3); err == nil {
			_ = p.Delete()
		}
	}
}

func TestResetState(t *testing.T) {
	c := newClient(t)
	upstream := startEcho(t, "")
	p := createProxy(t, c, proxyName(t, ""), upstream)
	listen := p.Listen
	addToxic(t, p, "", "timeout", "downstream", toxiproxy.Attributes{"timeout": 0})
	addToxic(t, p, "", "latency", "upstream", toxiproxy.Attributes{"latency": 5000})
	if err := p.Disable(); err != nil {
		t.Fatalf("Disable: %v", err)
	}
	waitUntil(t, "a disabled proxy refuses", func() bool { return refused(listen) })

	if err := c.ResetState(); err != nil {
		t.Fatalf("ResetState: %v", err)
	}
	got, err := c.Proxy(p.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Enabled || len(got.ActiveToxics) != 0 || got.Listen != listen {
		t.Errorf("after ResetState: enabled=%v toxics=%v listen=%s, want enabled, none, %s",
			got.Enabled, got.ActiveToxics, got.Listen, listen)
	}
	waitUntil(t, "the proxy accepts after ResetState", func() bool { return !refused(listen) })
	start := time.Now()
	echoWorks(t, listen, "")
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("a round trip after ResetState took %v: the 5 s latency toxic seems to remain", elapsed)
	}
}

// toxicCase is one toxic type with attributes to create it with, an update,
// and every attribute toxiproxy reports for the type.
type toxicCase struct {
	typ     string
	attrs   toxiproxy.Attributes
	update  toxiproxy.Attributes
	allKeys []string
}

var toxicCases = []toxicCase{
	{"latency", toxiproxy.Attributes{"latency": 100, "jitter": 10}, toxiproxy.Attributes{"latency": 250}, []string{"latency", "jitter"}},
	{"bandwidth", toxiproxy.Attributes{"rate": 100}, toxiproxy.Attributes{"rate": 200}, []string{"rate"}},
	{"slow_close", toxiproxy.Attributes{"delay": 100}, toxiproxy.Attributes{"delay": 200}, []string{"delay"}},
	{"timeout", toxiproxy.Attributes{"timeout": 100}, toxiproxy.Attributes{"timeout": 0}, []string{"timeout"}},
	{"reset_peer", toxiproxy.Attributes{"timeout": 100}, toxiproxy.Attributes{"timeout": 300}, []string{"timeout"}},
	{"limit_data", toxiproxy.Attributes{"bytes": 1000}, toxiproxy.Attributes{"bytes": 2000}, []string{"bytes"}},
	{"slicer", toxiproxy.Attributes{"average_size": 100, "size_variation": 10, "delay": 20}, toxiproxy.Attributes{"average_size": 64}, []string{"average_size", "size_variation", "delay"}},
}

// checkAttrs checks that attrs has every key of keys, with want's values
// where want has them.
func checkAttrs(t *testing.T, what string, attrs toxiproxy.Attributes, keys []string, want map[string]float64) {
	t.Helper()
	for _, k := range keys {
		v, ok := attrs[k]
		if !ok {
			t.Errorf("%s: attributes %v lack %q", what, attrs, k)
			continue
		}
		if w, ok := want[k]; ok && v != w {
			t.Errorf("%s: attribute %s = %v, want %v", what, k, v, w)
		}
	}
}

func asFloats(attrs ...toxiproxy.Attributes) map[string]float64 {
	m := map[string]float64{}
	for _, a := range attrs {
		for k, v := range a {
			m[k] = float64(v.(int))
		}
	}
	return m
}

// TestToxicTypes adds, lists, updates and removes every toxic type, in each
// stream, through the client's Proxy methods and its ToxicOptions methods.
func TestToxicTypes(t *testing.T) {
	c := newClient(t)
	upstream := startEcho(t, "")
	for _, tc := range toxicCases {
		t.Run(tc.typ, func(t *testing.T) {
			p := createProxy(t, c, proxyName(t, ""), upstream)

			// Default name and stream, toxicity 1.
			down := addToxic(t, p, "", tc.typ, "", tc.attrs)
			wantName := tc.typ + "_downstream"
			if down.Name != wantName || down.Type != tc.typ || down.Stream != "downstream" || down.Toxicity != 1 {
				t.Errorf("AddToxic returned %+v, want name %s, stream downstream, toxicity 1", down, wantName)
			}
			checkAttrs(t, "AddToxic", down.Attributes, tc.allKeys, asFloats(tc.attrs))

			// Named, upstream, toxicity 0.5, through ToxicOptions.
			toxicity, updatedToxicity := float32(0.5), float32(0.25)
			if tc.typ == "bandwidth" && target == "tcpemud" {
				// docs/proxy.md: tcpemu's bandwidth toxic is the rate of
				// the proxy's link, shared by its connections, so its
				// toxicity must be 1.
				_, err := p.AddToxic("up", tc.typ, "upstream", toxicity, tc.attrs)
				if status := apiStatus(t, err); status != http.StatusBadRequest {
					t.Errorf("bandwidth toxic with toxicity 0.5: HTTP %d (%v), want 400 (documented)", status, err)
				}
				toxicity, updatedToxicity = 1, 1
			}
			up, err := c.AddToxic(&toxiproxy.ToxicOptions{
				ProxyName: p.Name, ToxicName: "up", ToxicType: tc.typ, Stream: "upstream",
				Toxicity: toxicity, Attributes: tc.attrs,
			})
			if err != nil {
				t.Fatalf("client.AddToxic upstream: %v", err)
			}
			if up.Name != "up" || up.Stream != "upstream" || up.Toxicity != toxicity {
				t.Errorf("client.AddToxic returned %+v, want name up, stream upstream, toxicity %v", up, toxicity)
			}

			toxics, err := p.Toxics()
			if err != nil {
				t.Fatalf("Toxics: %v", err)
			}
			byName := map[string]toxiproxy.Toxic{}
			for _, x := range toxics {
				byName[x.Name] = x
			}
			if len(toxics) != 2 || byName[wantName].Stream != "downstream" || byName["up"].Stream != "upstream" {
				t.Fatalf("Toxics() = %+v, want %s (downstream) and up (upstream)", toxics, wantName)
			}
			checkAttrs(t, "Toxics", byName["up"].Attributes, tc.allKeys, asFloats(tc.attrs))
			got, err := c.Proxy(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.ActiveToxics) != 2 {
				t.Errorf("Proxy().ActiveToxics = %+v, want the two toxics", got.ActiveToxics)
			}

			// An update changes the attributes it names and keeps the others
			// and, with toxicity -1, the toxicity.
			updated, err := p.UpdateToxic(wantName, -1, tc.update)
			if err != nil {
				t.Fatalf("UpdateToxic: %v", err)
			}
			if updated.Toxicity != 1 || updated.Type != tc.typ || updated.Stream != "downstream" {
				t.Errorf("UpdateToxic returned %+v, want toxicity 1, type %s, downstream", updated, tc.typ)
			}
			checkAttrs(t, "UpdateToxic", updated.Attributes, tc.allKeys, asFloats(tc.attrs, tc.update))
			updated, err = c.UpdateToxic(&toxiproxy.ToxicOptions{
				ProxyName: p.Name, ToxicName: "up", Toxicity: updatedToxicity, Attributes: tc.update,
			})
			if err != nil {
				t.Fatalf("client.UpdateToxic: %v", err)
			}
			if updated.Toxicity != updatedToxicity || updated.Stream != "upstream" {
				t.Errorf("client.UpdateToxic returned %+v, want toxicity %v, upstream", updated, updatedToxicity)
			}
			checkAttrs(t, "client.UpdateToxic", updated.Attributes, tc.allKeys, asFloats(tc.attrs, tc.update))

			if err := p.RemoveToxic(wantName); err != nil {
				t.Fatalf("RemoveToxic: %v", err)
			}
			if err := c.RemoveToxic(&toxiproxy.ToxicOptions{ProxyName: p.Name, ToxicName: "up"}); err != nil {
				t.Fatalf("client.RemoveToxic: %v", err)
			}
			if toxics, err := p.Toxics(); err != nil || len(toxics) != 0 {
				t.Errorf("Toxics() after removing both = %+v (%v), want none", toxics, err)
			}
			// The connection still relays, with no toxic left.
			echoWorks(t, p.Listen, "")
		})
	}
}

// TestDisabledProxyKeepsToxics: toxics survive a disable and enable.
func TestDisabledProxyKeepsToxics(t *testing.T) {
	c := newClient(t)
	p := createProxy(t, c, proxyName(t, ""), startEcho(t, ""))
	addToxic(t, p, "", "latency", "", toxiproxy.Attributes{"latency": 300})
	if err := p.Disable(); err != nil {
		t.Fatal(err)
	}
	if err := p.Enable(); err != nil {
		t.Fatal(err)
	}
	got, err := c.Proxy(p.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ActiveToxics) != 1 || got.ActiveToxics[0].Name != "latency_downstream" {
		t.Fatalf("toxics after disable and enable: %+v, want latency_downstream", got.ActiveToxics)
	}
	waitUntil(t, "the re-enabled proxy accepts", func() bool { return !refused(p.Listen) })
	start := time.Now()
	echoWorks(t, p.Listen, "")
	atLeast(t, "a round trip with the kept 300 ms latency toxic", time.Since(start), 300*time.Millisecond)
}
