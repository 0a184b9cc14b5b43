package packaging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// dockerfile is deploy/docker/Dockerfile split into stages (stage 0 holds
// the ARGs before the first FROM).
type dockerfile struct {
	args   map[string]string // ARG defaults before the first FROM
	stages [][]instruction
}

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data := readFile(t, filepath.Join(repoRoot(t), "deploy", "docker", "Dockerfile"))
	d := dockerfile{args: map[string]string{}, stages: [][]instruction{nil}}
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			d.stages = append(d.stages, nil)
		}
		if in.cmd == "ARG" && len(d.stages) == 1 {
			k, v, _ := strings.Cut(in.args, "=")
			d.args[k] = v
		}
		d.stages[len(d.stages)-1] = append(d.stages[len(d.stages)-1], in)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	if len(d.stages) < 3 {
		t.Fatalf("Dockerfile: %d stages, want a build and a runtime stage", len(d.stages)-1)
	}
	return d
}

// from is the stage's base image with ARG defaults substituted.
func (d dockerfile) from(stage int) string {
	f := strings.Fields(d.stages[stage][0].args)
	return os.Expand(f[0], func(k string) string { return d.args[k] })
}

func (d dockerfile) runtime() []instruction { return d.stages[len(d.stages)-1] }

func (d dockerfile) find(stage []instruction, cmd string) []string {
	var out []string
	for _, in := range stage {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// execForm decodes a JSON exec-form argument list.
func execForm(t *testing.T, what, s string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(s), &argv); err != nil {
		t.Fatalf("%s %s: not an exec-form JSON array: %v", what, s, err)
	}
	return argv
}

func (d dockerfile) entrypoint(t *testing.T) []string {
	t.Helper()
	return execForm(t, "ENTRYPOINT", onlyOne(t, "runtime ENTRYPOINT", d.find(d.runtime(), "ENTRYPOINT")))
}

// healthcheck is the HEALTHCHECK's CMD argv.
func (d dockerfile) healthcheck(t *testing.T) []string {
	t.Helper()
	hc := onlyOne(t, "runtime HEALTHCHECK", d.find(d.runtime(), "HEALTHCHECK"))
	_, cmd, ok := strings.Cut(hc, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %s: no CMD", hc)
	}
	return execForm(t, "HEALTHCHECK CMD", strings.TrimSpace(cmd))
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)
	if got := d.from(1); got != "debian:bookworm" {
		t.Errorf("build stage FROM %q, want debian:bookworm", got)
	}
	if got := d.from(len(d.stages) - 1); got != "debian:bookworm-slim" {
		t.Errorf("runtime stage FROM %q, want debian:bookworm-slim", got)
	}

	build := strings.Join(d.find(d.stages[1], "RUN"), "\n")
	for _, want := range []string{"scripts/setup", "deploy/docker/build.sh"} {
		if !strings.Contains(build, want) {
			t.Errorf("build stage does not run %s", want)
		}
	}

	rt := d.runtime()
	copies := strings.Join(d.find(rt, "COPY"), "\n")
	if !strings.Contains(copies, "deploy/docker/runtime-packages.txt") {
		t.Error("runtime stage does not COPY deploy/docker/runtime-packages.txt")
	}
	install := strings.Join(d.find(rt, "RUN"), "\n")
	for _, want := range []string{"runtime-packages.txt", "apt-get install", "--no-install-recommends", "rm -rf /var/lib/apt/lists"} {
		if !strings.Contains(install, want) {
			t.Errorf("runtime stage RUN lacks %q", want)
		}
	}
	if !regexp.MustCompile(`useradd .*--uid 10001 `).MatchString(install) {
		t.Error("runtime stage: no useradd --uid 10001")
	}
	if got := onlyOne(t, "runtime USER", d.find(rt, "USER")); got != "10001:10001" {
		t.Errorf("USER %q, want 10001:10001 (numeric, for runAsNonRoot)", got)
	}
	expose := strings.Fields(strings.Join(d.find(rt, "EXPOSE"), " "))
	sort.Strings(expose)
	if !slices.Equal(expose, []string{"50051", "9464"}) {
		t.Errorf("EXPOSE %v, want 50051 9464", expose)
	}
	want := []string{"tcpemud", "--listen=0.0.0.0:50051", "--metrics_listen=0.0.0.0:9464"}
	if got := d.entrypoint(t); !slices.Equal(got, want) {
		t.Errorf("ENTRYPOINT %q, want %q", got, want)
	}
	d.healthcheck(t)
}

// TestBuildScriptMatchesScripts: deploy/docker/build.sh configures CMake
// exactly as scripts/run and scripts/test do.
func TestBuildScriptMatchesScripts(t *testing.T) {
	root := repoRoot(t)
	configure := func(path string) string {
		for line := range strings.Lines(string(readFile(t, filepath.Join(root, path)))) {
			if strings.HasPrefix(line, "cmake -S ") {
				return strings.TrimSpace(line)
			}
		}
		t.Fatalf("%s: no `cmake -S` line", path)
		return ""
	}
	want := configure("scripts/test")
	for _, p := range []string{"scripts/run", "deploy/docker/build.sh"} {
		if got := configure(p); got != want {
			t.Errorf("%s configures %q; scripts/test %q", p, got, want)
		}
	}
}

// TestDockerignoreKeepsTheBuildInputs: the build context that
// Dockerfile.dockerignore leaves (as BuildKit's matcher reads it) holds every
// top-level directory CMake adds and every path the Dockerfile copies by
// name, and none of build/, clients/ or .git.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	root := repoRoot(t)
	files := contextFiles(t)
	has := func(p string) bool {
		return slices.ContainsFunc(files, func(f string) bool { return f == p || strings.HasPrefix(f, p+"/") })
	}
	need := []string{"CMakeLists.txt"}
	for _, m := range regexp.MustCompile(`(?m)^\s*add_subdirectory\((\w+)\)`).FindAllSubmatch(readFile(t, filepath.Join(root, "CMakeLists.txt")), -1) {
		need = append(need, string(m[1]))
	}
	d := parseDockerfile(t)
	for _, st := range d.stages[1:] {
		for _, c := range d.find(st, "COPY") {
			if f := strings.Fields(c); !strings.HasPrefix(f[0], "--from=") && f[0] != "." {
				need = append(need, f[0])
			}
		}
	}
	for _, p := range need {
		if !has(p) {
			t.Errorf("the build context lacks %s", p)
		}
	}
	for _, p := range []string{"build", "clients", ".git", "deploy/helm", "deploy/tests"} {
		if has(p) {
			t.Errorf("the build context holds %s", p)
		}
	}
	t.Logf("build context: %d files", len(files))
}

// runtimePackages is deploy/docker/runtime-packages.txt, the single list the
// Dockerfile installs.
func runtimePackages(t *testing.T) []string {
	t.Helper()
	var out []string
	for line := range strings.Lines(string(readFile(t, filepath.Join(repoRoot(t), "deploy", "docker", "runtime-packages.txt")))) {
		line, _, _ = strings.Cut(line, "#")
		out = append(out, strings.Fields(line)...)
	}
	return out
}

func tcpemud(t *testing.T) string {
	t.Helper()
	p := requireEnv(t, "TCPEMUD")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(tcpemud(t), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("tcpemud --version: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "tcpemud "+projectVersion(t); got != want {
		t.Errorf("tcpemud --version: %q, want %q", got, want)
	}
}

// TestRuntimePackages maps every library `ldd tcpemud` resolves to its Debian
// package (dpkg -S) and checks runtime-packages.txt against them: each
// package must be listed or shipped by debian:bookworm-slim (the closure of
// the Essential and Priority: required packages, with libc6, libgcc-s1 and
// libstdc++6), and each listed package must be needed and not already in
// the base.
func TestRuntimePackages(t *testing.T) {
	bin := tcpemud(t)
	codename := osRelease(t)["VERSION_CODENAME"]
	if codename != "bookworm" {
		skipOrFail(t, "this host is Debian %q; the image and its package names are bookworm's", codename)
	}

	libs := lddPaths(t, bin)
	libPkgs := map[string][]string{} // package -> libraries
	for lib, pkgs := range dpkgOwners(t, libs) {
		for _, pkg := range pkgs {
			libPkgs[pkg] = append(libPkgs[pkg], filepath.Base(lib))
		}
	}
	base := slimBase(t)
	listed := runtimePackages(t)

	var needed []string
	for pkg, libs := range libPkgs {
		if base[pkg] {
			continue
		}
		needed = append(needed, pkg)
		if !slices.Contains(listed, pkg) {
			t.Errorf("missing from runtime-packages.txt: %s (for %s)", pkg, strings.Join(libs, ", "))
		}
	}
	sort.Strings(needed)
	for _, pkg := range listed {
		switch {
		case base[pkg]:
			t.Errorf("runtime-packages.txt: %s is in debian:bookworm-slim already", pkg)
		case !slices.Contains(needed, pkg):
			t.Errorf("runtime-packages.txt: %s is not needed by any library of tcpemud (stale)", pkg)
		}
	}
	if len(listed) != len(slices.Compact(slices.Sorted(slices.Values(listed)))) {
		t.Errorf("runtime-packages.txt lists a package twice: %v", listed)
	}
	t.Logf("%d libraries from %d packages; runtime list: %s", len(libs), len(libPkgs), strings.Join(needed, " "))
}

func osRelease(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for line := range strings.Lines(string(readFile(t, "/etc/os-release"))) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// lddPaths lists the absolute paths of the shared objects ldd resolves
// (vdso excluded); an unresolved library fails the test.
func lddPaths(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", bin, err)
	}
	var paths []string
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if strings.Contains(line, "not found") {
			t.Errorf("ldd: %s", line)
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			paths = append(paths, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			paths = append(paths, f[0]) // the dynamic loader
		}
	}
	if len(paths) == 0 {
		t.Fatalf("ldd %s: no libraries:\n%s", bin, out)
	}
	return paths
}

// dpkgOwners maps each path to the packages that own it, trying the path as
// given, its target, and its other spelling on a merged /usr (/lib vs
// /usr/lib), in one dpkg -S call.
func dpkgOwners(t *testing.T, paths []string) map[string][]string {
	t.Helper()
	candidates := map[string][]string{} // path -> spellings
	var all []string
	for _, path := range paths {
		c := []string{path}
		if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
			c = append(c, real)
		}
		for _, p := range slices.Clone(c) {
			if rest, ok := strings.CutPrefix(p, "/usr"); ok {
				c = append(c, rest)
			} else {
				c = append(c, "/usr"+p)
			}
		}
		candidates[path] = c
		all = append(all, c...)
	}
	// Exit status 1 when some spelling is unknown: expected, read stdout.
	out, _ := exec.Command("dpkg", append([]string{"-S"}, all...)...).Output()
	owners := map[string][]string{} // file -> packages
	for line := range strings.Lines(string(out)) {
		pkgs, file, ok := strings.Cut(line, ": ")
		if !ok || strings.HasPrefix(pkgs, "diversion ") {
			continue
		}
		for _, p := range strings.Split(pkgs, ", ") {
			p, _, _ = strings.Cut(strings.TrimSpace(p), ":") // drop :amd64
			owners[strings.TrimSpace(file)] = append(owners[strings.TrimSpace(file)], p)
		}
	}
	result := map[string][]string{}
	for _, path := range paths {
		for _, c := range candidates[path] {
			if p := owners[c]; len(p) > 0 {
				result[path] = p
				break
			}
		}
		if len(result[path]) == 0 {
			t.Errorf("dpkg -S: no package owns %s", path)
		}
	}
	return result
}

// slimBase approximates the packages of debian:bookworm-slim (a debootstrap
// minbase: the Essential and Priority: required packages and their
// dependencies) from the installed packages' metadata, plus libc6,
// libgcc-s1 and libstdc++6 (apt's).
func slimBase(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f",
		`${db:Status-Abbrev}\t${Package}\t${Essential}\t${Priority}\t${Pre-Depends}\t${Depends}\t${Provides}\n`).Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	type pkg struct{ deps string }
	installed := map[string]pkg{}
	provider := map[string]string{} // virtual package -> an installed provider
	var roots []string
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) != 7 || !strings.HasPrefix(f[0], "ii") {
			continue
		}
		name := f[1]
		installed[name] = pkg{deps: f[4] + ", " + f[5]}
		for _, p := range splitDeps(f[6]) {
			provider[p] = name
		}
		if f[2] == "yes" || f[3] == "required" {
			roots = append(roots, name)
		}
	}
	roots = append(roots, "apt", "libc6", "libgcc-s1", "libstdc++6")
	base := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if base[name] {
			return
		}
		if _, ok := installed[name]; !ok {
			if p, ok := provider[name]; ok {
				name = p
			} else {
				return
			}
		}
		base[name] = true
		for _, group := range strings.Split(installed[name].deps, ",") {
			// The first alternative that is installed (or provided).
			for _, alt := range strings.Split(group, "|") {
				n := depName(alt)
				if _, ok := installed[n]; ok {
					visit(n)
					break
				}
				if _, ok := provider[n]; ok {
					visit(n)
					break
				}
			}
		}
	}
	for _, r := range roots {
		visit(r)
	}
	if !base["libc6"] || !base["dpkg"] || !base["bash"] {
		t.Fatalf("base set looks wrong: %d packages", len(base))
	}
	return base
}

// depName is the package name of one dependency: "libc6:any (>= 2.34)" ->
// "libc6".
func depName(dep string) string {
	f := strings.Fields(dep)
	if len(f) == 0 {
		return ""
	}
	n, _, _ := strings.Cut(f[0], ":")
	return n
}

func splitDeps(s string) []string {
	var out []string
	for _, d := range strings.Split(s, ",") {
		if n := depName(d); n != "" {
			out = append(out, n)
		}
	}
	return out
}
