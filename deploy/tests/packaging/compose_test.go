package packaging

// deploy/compose.yaml, loaded the way `docker compose config` loads it: with
// compose-go, Docker Compose's own loader (the Compose Specification's JSON
// schema, interpolation, normalization, consistency checks, paths resolved
// from the file's directory). No Docker engine is needed, and none runs here.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func loadCompose(t *testing.T, file string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		// No environment: the file must not depend on the caller's.
		cli.WithEnv(nil),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// TestComposeLoaderRejectsMistakes: the loader under test refuses what a
// typo produces, so that TestComposeFile cannot pass by a loader that checks
// nothing.
func TestComposeLoaderRejectsMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown key":        "services:\n  a:\n    image: x\n    bogus: 1\n",
		"bad port":           "services:\n  a:\n    image: x\n    ports: [\"127.0.0.1:99999:1\"]\n",
		"unknown dependency": "services:\n  a:\n    image: x\n    depends_on: [b]\n",
		"undeclared volume":  "services:\n  a:\n    image: x\n    volumes: [\"data:/data\"]\n",
	} {
		file := filepath.Join(t.TempDir(), "compose.yaml")
		if err := os.WriteFile(file, []byte("name: x\n"+doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadCompose(t, file); err == nil {
			t.Errorf("%s: loaded without error:\n%s", name, doc)
		}
	}
}

func TestComposeFile(t *testing.T) {
	root := repoRoot(t)
	file := filepath.Join(root, "deploy", "compose.yaml")
	p, err := loadCompose(t, file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if p.Name != "tcpemu" {
		t.Errorf("project name %q, want tcpemu", p.Name)
	}
	if got, want := p.ServiceNames(), []string{"grafana", "prometheus", "tcpemud"}; !slices.Equal(sorted(got), want) {
		t.Errorf("services %v, want %v", got, want)
	}

	tcpemud, err := p.GetService("tcpemud")
	if err != nil {
		t.Fatal(err)
	}
	if tcpemud.Build == nil {
		t.Fatal("tcpemud: no build section")
	}
	if tcpemud.Build.Context != root {
		t.Errorf("tcpemud: build context %s, want the repository root %s", tcpemud.Build.Context, root)
	}
	if want := filepath.Join(root, "deploy", "docker", "Dockerfile"); filepath.Join(tcpemud.Build.Context, tcpemud.Build.Dockerfile) != want &&
		tcpemud.Build.Dockerfile != want {
		t.Errorf("tcpemud: dockerfile %s, want %s", tcpemud.Build.Dockerfile, want)
	}

	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Image == "" || strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":") {
			t.Errorf("%s: image %q, want a pinned tag", name, s.Image)
		}
		if len(s.Ports) == 0 {
			t.Errorf("%s: publishes no port", name)
		}
		// Nothing is published beyond this machine.
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %d published on %q, want 127.0.0.1", name, port.Target, port.HostIP)
			}
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: bind mount %s: %v", name, v.Source, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s: bind mount %s is writable", name, v.Source)
			}
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
