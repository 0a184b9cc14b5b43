// Package packaging tests the container image recipe (deploy/docker), the
// kustomize base and overlays (deploy/k8s) and the Helm chart (deploy/helm).
// deploy/tests/packaging/test.sh renders the manifests with pinned helm and
// kustomize builds and runs these tests on them; see that script for the
// environment it sets.
package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
)

// repoRoot is the repository's top directory: $REPO_ROOT, else three levels
// above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	if r := os.Getenv("REPO_ROOT"); r != "" {
		return r
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// projectVersion is `project(tcpemu VERSION x.y.z ...)` of CMakeLists.txt.
func projectVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`project\(tcpemu\s+VERSION\s+([0-9.]+)`).FindSubmatch(
		readFile(t, filepath.Join(repoRoot(t), "CMakeLists.txt")))
	if m == nil {
		t.Fatal("CMakeLists.txt: no project(tcpemu VERSION ...)")
	}
	return string(m[1])
}

// requireEnv returns $name. When it is unset the test is skipped, or fails
// under test.sh (which sets PACKAGING_STRICT=1 and every variable).
func requireEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		skipOrFail(t, "$%s is not set; run deploy/tests/packaging/test.sh", name)
	}
	return v
}

// skipOrFail skips the test, or fails it under PACKAGING_STRICT=1.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("PACKAGING_STRICT") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
