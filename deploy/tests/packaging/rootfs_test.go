package packaging

// TestImageStagesInRootfs replays deploy/docker/Dockerfile without Docker:
// each stage on its own Debian bookworm minbase root (debootstrap
// --variant=minbase with the images' apt sources: what debian:bookworm and
// debian:bookworm-slim are made of), the way `docker build` runs it: the build
// context filtered by Dockerfile.dockerignore (moby/patternmatcher, BuildKit's
// matcher), COPY, COPY --from, WORKDIR, and RUN with /bin/sh -c in a chroot
// with Docker's default environment. Then the runtime root runs the
// ENTRYPOINT as the image's USER with --version.
//
// test.sh (as root) makes the runtime root ($PACKAGING_ROOTFS) and runs this
// test twice: first with the network (the RUNs install packages), then in
// the live tests' network namespace, where it starts the daemon in the
// runtime root and checks the HEALTHCHECK and gRPC health. By default the
// build stage is not replayed (it would build tcpemud again): its product,
// /tcpemud, is made from $TCPEMUD by the same strip command as the stage's
// last RUN, on the same Debian release. test.sh --rootfs makes a build root
// too ($PACKAGING_ROOTFS_BUILD), and the build stage is replayed in it:
// scripts/setup and the CMake build in a chroot. test.sh --no-rootfs, or a
// run that is not root, skips this test, saying why
// ($PACKAGING_ROOTFS_SKIP); under test.sh a run without either fails.

import (
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// dockerEnv is the environment Docker gives RUN on a Debian image.
var dockerEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"HOSTNAME=buildkitsandbox",
}

// contextFiles lists the files (and symbolic links) of the build context:
// the repository minus what deploy/docker/Dockerfile.dockerignore excludes,
// as slash-separated paths relative to the repository root.
func contextFiles(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	f, err := os.Open(filepath.Join(root, "deploy", "docker", "Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if d.IsDir() {
			// Skip an excluded directory unless a `!` pattern reaches inside.
			if excluded && !slices.ContainsFunc(pm.Patterns(), func(p *patternmatcher.Pattern) bool {
				return p.Exclusion() && (p.String() == rel || strings.HasPrefix(p.String(), rel+"/"))
			}) {
				return filepath.SkipDir
			}
			return nil
		}
		if !excluded {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// stage replays one Dockerfile stage on root.
type stage struct {
	root    string
	workdir string
}

func (s *stage) run(t *testing.T, script string) {
	t.Helper()
	// A private mount namespace with /proc for the chroot; it goes with the
	// process.
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", `mount -t proc proc "$1/proc" && exec chroot "$1" /bin/sh -c "$2"`, "sh",
		s.root, "cd "+s.workdir+" && "+script)
	cmd.Env = dockerEnv
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("RUN %s: %v\n%s", script, err, tail(out, 60))
	}
	t.Logf("RUN %.60s... (%s)", script, time.Since(start).Round(time.Second))
}

// copyInto copies src (a file or directory on the host) to dst inside root.
func copyInto(t *testing.T, src, root, dst string) {
	t.Helper()
	target := filepath.Join(root, dst)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "-T", src, target).CombinedOutput(); err != nil {
		t.Fatalf("cp %s %s: %v\n%s", src, target, err, out)
	}
}

func (s *stage) copy(t *testing.T, args string, context []string, stages map[string]*stage) {
	t.Helper()
	f := strings.Fields(args)
	var from string
	if v, ok := strings.CutPrefix(f[0], "--from="); ok {
		from, f = v, f[1:]
	}
	if len(f) != 2 {
		t.Fatalf("COPY %s: one source and a destination only", args)
	}
	src, dst := f[0], f[1]
	if !path.IsAbs(dst) {
		dst = path.Join(s.workdir, dst)
	}
	if from != "" {
		other, ok := stages[from]
		if !ok {
			t.Fatalf("COPY %s: no stage %q", args, from)
		}
		copyInto(t, filepath.Join(other.root, src), s.root, dst)
		return
	}
	src = path.Clean(src)
	n := 0
	for _, file := range context {
		switch {
		case src == ".":
			copyInto(t, filepath.Join(repoRoot(t), file), s.root, path.Join(dst, file))
		case file == src:
			copyInto(t, filepath.Join(repoRoot(t), file), s.root, dst)
		case strings.HasPrefix(file, src+"/"):
			copyInto(t, filepath.Join(repoRoot(t), file), s.root, path.Join(dst, strings.TrimPrefix(file, src+"/")))
		default:
			continue
		}
		n++
	}
	if n == 0 {
		t.Fatalf("COPY %s: nothing in the build context", args)
	}
}

func tail(b []byte, lines int) string {
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func TestImageStagesInRootfs(t *testing.T) {
	runtimeRoot := os.Getenv("PACKAGING_ROOTFS")
	buildRoot := os.Getenv("PACKAGING_ROOTFS_BUILD")
	if runtimeRoot == "" {
		if why := os.Getenv("PACKAGING_ROOTFS_SKIP"); why != "" {
			t.Skip("SKIPPING: " + why)
		}
		skipOrFail(t, "no $PACKAGING_ROOTFS: run deploy/tests/packaging/test.sh as root (it debootstraps a bookworm root from a Debian mirror)")
	}
	d := parseDockerfile(t)
	user := onlyOne(t, "runtime USER", d.find(d.runtime(), "USER"))
	entry := d.entrypoint(t)
	chrootAs := []string{"chroot", "--userspec=" + user, runtimeRoot}
	built := filepath.Join(runtimeRoot, ".stages-replayed")

	if os.Getenv("PACKAGING_NETNS") == "1" {
		// Second pass: the daemon in the runtime root.
		if _, err := os.Stat(built); err != nil {
			t.Fatal("the stages were not replayed (test.sh runs that first, with the network)")
		}
		dm := startDaemon(t, slices.Concat(chrootAs, entry, []string{"--shards=2"}))
		if got := dm.health(t, healthService); got != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %s", healthService, got)
		}
		hc := slices.Concat(chrootAs, d.healthcheck(t))
		if b, err := exec.Command(hc[0], hc[1:]...).CombinedOutput(); err != nil {
			t.Errorf("HEALTHCHECK in the runtime root: %v\n%s", err, b)
		}
		dm.stop(t, 15*time.Second)
		return
	}

	context := contextFiles(t)
	t.Logf("build context: %d files", len(context))
	if len(d.stages) != 3 {
		t.Fatalf("Dockerfile: %d stages, the replay knows two (build, runtime)", len(d.stages)-1)
	}
	replayBuild := buildRoot != ""
	if !replayBuild {
		buildRoot = standInBuildStage(t, d)
	}
	roots := []string{buildRoot, runtimeRoot}
	stages := map[string]*stage{}
	for i, instrs := range d.stages[1:] {
		s := &stage{root: roots[i], workdir: "/"}
		if f := strings.Fields(instrs[0].args); len(f) == 3 && strings.EqualFold(f[1], "AS") {
			stages[f[2]] = s
		}
		if i == 0 && !replayBuild {
			continue
		}
		for _, in := range instrs[1:] {
			switch in.cmd {
			case "WORKDIR":
				s.workdir = path.Join(s.workdir, in.args)
				if err := os.MkdirAll(filepath.Join(s.root, s.workdir), 0o755); err != nil {
					t.Fatal(err)
				}
			case "COPY":
				s.copy(t, in.args, context, stages)
			case "RUN":
				s.run(t, in.args)
			case "ARG", "ENV", "ADD", "SHELL", "ONBUILD", "VOLUME":
				t.Fatalf("%s %s: the replay does not know %s", in.cmd, in.args, in.cmd)
			}
		}
	}

	out := run(t, slices.Concat(chrootAs, entry, []string{"--version"})...)
	if got, want := strings.TrimSpace(out), "tcpemud "+projectVersion(t); got != want {
		t.Errorf("--version in the runtime root: %q, want %q", got, want)
	}
	if err := os.WriteFile(built, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildProduct is what the runtime stage takes from the build stage, and the
// command of the build stage's last RUN that makes it.
const (
	buildProduct = "/tcpemud"
	buildStrip   = "strip --strip-debug -o /tcpemud build/server/tcpemud"
)

// standInBuildStage stands in for the build stage without building: a
// directory holding what the stage's last RUN leaves in /tcpemud, made by the
// same command from $TCPEMUD, built by the same scripts on the same Debian
// release. It checks that the Dockerfile's build stage still makes it so.
func standInBuildStage(t *testing.T, d dockerfile) string {
	t.Helper()
	runs := d.find(d.stages[1], "RUN")
	if len(runs) == 0 || !strings.Contains(runs[len(runs)-1], buildStrip) {
		t.Fatalf("the build stage's last RUN does not contain %q; the stand-in for the build stage "+
			"(test.sh without --rootfs) must learn the new recipe", buildStrip)
	}
	if !slices.ContainsFunc(d.find(d.runtime(), "COPY"), func(args string) bool {
		f := strings.Fields(args)
		return len(f) == 3 && f[0] == "--from=build" && f[1] == buildProduct
	}) {
		t.Fatalf("the runtime stage does not COPY --from=build %s; the stand-in must learn what it takes", buildProduct)
	}
	dir := t.TempDir()
	run(t, "strip", "--strip-debug", "-o", filepath.Join(dir, buildProduct), tcpemud(t))
	t.Logf("build stage not replayed (test.sh --rootfs does): %s made from %s", buildProduct, tcpemud(t))
	return dir
}

func run(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}
