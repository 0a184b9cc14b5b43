#!/usr/bin/env bash
# Packaging tests: the container image recipe (deploy/docker), the kustomize
# base and TAP overlay (deploy/k8s) and the Helm chart (deploy/helm).
#
#   deploy/tests/packaging/test.sh [--rootfs | --no-rootfs]
#
# 1. Builds pinned helm and kustomize from the Go module proxy, once, into
#    $PACKAGING_TOOLS (default ~/.cache/tcpemu/packaging-tools).
# 2. Copies deploy/ to a temporary directory (with a placeholder dashboard if
#    deploy/grafana/tcpemu.json does not exist yet), then: helm lint --strict
#    and helm template with the defaults, with TAP + ServiceMonitor on and
#    with proxies, from the chart directory and from its `helm package`
#    archive; values that values.schema.json or the chart's checks must
#    refuse; kustomize build of the base, the TAP overlay and the
#    proxy-redis overlay.
# 3. Builds build/server/tcpemud with deploy/docker/build.sh if it is missing
#    ($TCPEMUD overrides the path).
# 4. gofmt, go vet, then the Go tests (this directory's module): every
#    rendered document decoded strictly into the Kubernetes API types and
#    checked; the Dockerfile; runtime-packages.txt against ldd + dpkg -S;
#    tcpemud --version; and, as root, tcpemud run the way the rendered pods
#    run it, in a network namespace of its own (unshare --net), the
#    proxy-redis pod in front of redis-server.
# 5. As root (and a Debian mirror): replays the Dockerfile's runtime stage on
#    a debootstrap --variant=minbase bookworm root (cached in
#    $PACKAGING_TOOLS), with the build stage's /tcpemud made from $TCPEMUD,
#    and runs the image's ENTRYPOINT and HEALTHCHECK in it. --rootfs replays
#    the build stage too, on a root of its own (scripts/setup and the CMake
#    build: many more minutes); --no-rootfs skips the replay.
# 6. Ends with the list of the tests that skipped and why.
set -euo pipefail

rootfs_mode=runtime
for arg in "$@"; do
  case "$arg" in
    --rootfs) rootfs_mode=full ;;
    --no-rootfs) rootfs_mode=none ;;
    *) echo "usage: $0 [--rootfs | --no-rootfs]" >&2; exit 2 ;;
  esac
done

HELM_VERSION=v3.22.0
KUSTOMIZE_VERSION=v5.8.2
NAMESPACE=tcpemu-test

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tools="${PACKAGING_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpemu/packaging-tools}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log() { echo "test.sh: $*" >&2; }

# go_tool NAME PACKAGE VERSION [LDFLAGS]: builds PACKAGE@VERSION once into
# $tools/NAME-VERSION/NAME and prints that path.
go_tool() {
  local name="$1" pkg="$2" version="$3" ldflags="${4:-}"
  local bin="$tools/$name-$version/$name"
  if [[ ! -x "$bin" ]]; then
    log "building $name $version ($pkg) from the Go module proxy"
    mkdir -p "$tools"
    local tmp
    tmp="$(mktemp -d "$tools/.build.XXXXXX")"
    (cd "$work" && GOBIN="$tmp" go install -trimpath -ldflags "$ldflags" "$pkg@$version")
    mkdir -p "$(dirname "$bin")"
    mv "$tmp/$name" "$bin"
    rm -rf "$tmp"
  fi
  echo "$bin"
}

# helm's release builds stamp its version and the Kubernetes version it
# assumes (from its k8s.io/client-go) with -X; do the same.
helm_ldflags() {
  local gomod minor
  gomod="$(cd "$work" && go mod download -json "helm.sh/helm/v3@$HELM_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
  minor="$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod")"
  [[ -n "$minor" ]] || { log "no k8s.io/client-go in $gomod"; exit 1; }
  local v=helm.sh/helm/v3
  echo "-s -w -X $v/internal/version.version=$HELM_VERSION -X $v/internal/version.gitTreeState=clean" \
    "-X $v/pkg/lint/rules.k8sVersionMajor=1 -X $v/pkg/lint/rules.k8sVersionMinor=$minor" \
    "-X $v/pkg/chartutil.k8sVersionMajor=1 -X $v/pkg/chartutil.k8sVersionMinor=$minor"
}

helm_bin="$tools/helm-$HELM_VERSION/helm"
if [[ ! -x "$helm_bin" ]]; then
  helm_bin="$(go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "$(helm_ldflags)")"
fi
kustomize_bin="$(go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION" "-s -w")"
log "$("$helm_bin" version --short), kustomize $("$kustomize_bin" version)"

# helm notes every symbolic link it follows (the chart's dashboard link).
helm() { "$helm_bin" "$@" 2> >(grep -v 'found symbolic link in path' >&2); }

# The deploy tree, as committed, in a scratch directory.
mkdir -p "$work/deploy/grafana" "$work/rendered"
cp -a "$root/deploy/k8s" "$root/deploy/helm" "$work/deploy/"
dashboard="$work/deploy/grafana/tcpemu.json"
if [[ -f "$root/deploy/grafana/tcpemu.json" ]]; then
  cp "$root/deploy/grafana/tcpemu.json" "$dashboard"
else
  log "WARNING: deploy/grafana/tcpemu.json does not exist yet; testing with a placeholder dashboard"
  echo '{"title": "tcpemu (placeholder)", "panels": []}' >"$dashboard"
fi
chart="$work/deploy/helm/tcpemu"
out="$work/rendered"
tap_values=(--set tap.enabled=true --set serviceMonitor.enabled=true --set replicaCount=2)
# The chart with the values of the proxy-redis overlay.
cat >"$work/proxy-redis-values.yaml" <<'EOF'
proxies:
  - name: redis
    port: 6379
    upstream: redis:6379
proxyUpstreamAllow: ["10.0.0.0/8:6379", "172.16.0.0/12:6379", "192.168.0.0/16:6379"]
toxiproxyApi:
  enabled: true
  port: 8474
EOF
# Two proxies (one disabled, Service ports other than the pod's, an IPv6
# upstream), the API on another port, and every setting of the policy.
cat >"$work/proxies-values.yaml" <<'EOF'
proxies:
  - name: redis
    port: 16379
    servicePort: 6379
    upstream: redis.data.svc.cluster.local:6379
  - name: api
    port: 8080
    servicePort: 80
    upstream: "[fd00::10]:8443"
    enabled: false
proxyUpstreamAllow: ["10.96.0.0/12:6379", "[fd00::/8]:8443"]
toxiproxyApi:
  enabled: true
  port: 18474
networkPolicy:
  grpc:
    from:
      - namespaceSelector: {matchLabels: {tcpemu.test/clients: "yes"}}
  proxies:
    from:
      - namespaceSelector: {matchLabels: {tcpemu.test/app: "yes"}}
        podSelector: {matchLabels: {app: client}}
  egress:
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: data}}
          podSelector: {matchLabels: {app.kubernetes.io/name: redis}}
      ports:
        - port: 6379
          protocol: TCP
EOF

log "helm lint"
helm lint --strict "$chart"
helm lint --strict "$chart" "${tap_values[@]}"
helm lint --strict "$chart" -f "$work/proxies-values.yaml"

log "helm package + helm template"
helm package "$chart" --destination "$work/package" >/dev/null
archive="$work/package/tcpemu-$(sed -n 's/^version: *//p' "$chart/Chart.yaml").tgz"
helm template tcpemu "$archive" --namespace "$NAMESPACE" >"$out/helm-default.yaml"
helm template tcpemu "$archive" --namespace "$NAMESPACE" "${tap_values[@]}" >"$out/helm-tap.yaml"
# The NetworkPolicy's settings: other namespaces and pods, and off.
helm template tcpemu "$archive" --namespace "$NAMESPACE" \
  --set 'networkPolicy.metrics.namespaceLabels.tcpemu\.test/monitoring=yes' \
  --set 'networkPolicy.metrics.podLabels.app\.kubernetes\.io/name=prometheus' \
  --set-json 'networkPolicy.grpc.from=[{"namespaceSelector": {"matchLabels": {"tcpemu.test/clients": "yes"}}}]' \
  >"$out/helm-netpol.yaml"
helm template tcpemu "$archive" --namespace "$NAMESPACE" --set networkPolicy.enabled=false >"$out/helm-netpol-off.yaml"
helm template tcpemu "$archive" --namespace "$NAMESPACE" -f "$work/proxy-redis-values.yaml" >"$out/helm-proxy-redis.yaml"
helm template tcpemu "$archive" --namespace "$NAMESPACE" -f "$work/proxies-values.yaml" >"$out/helm-proxies.yaml"
# The archive (what a chart repository serves) renders as the directory does.
helm template tcpemu "$chart" --namespace "$NAMESPACE" >"$work/dir-default.yaml"
helm template tcpemu "$chart" --namespace "$NAMESPACE" "${tap_values[@]}" >"$work/dir-tap.yaml"
cmp "$work/dir-default.yaml" "$out/helm-default.yaml"
cmp "$work/dir-tap.yaml" "$out/helm-tap.yaml"
helm template tcpemu "$chart" --namespace "$NAMESPACE" -f "$work/proxies-values.yaml" >"$work/dir-proxies.yaml"
cmp "$work/dir-proxies.yaml" "$out/helm-proxies.yaml"

log "values.schema.json refuses bad values"
bad_values=(
  bogus=1 tap.bogus=1 image.bogus=1 serviceMonitor.bogus=1 tests.image.bogus=1
  replicaCount=0 shards=-1 service.type=ExternalName service.grpcPort=70000
  serviceMonitor.interval=soon image.pullPolicy=Sometimes 'extraArgs[0]=shards=2'
  image.digest=sha256:abc tap.enabled=yes
  networkPolicy.bogus=1 networkPolicy.enabled=yes networkPolicy.metrics.namespace=Not_A_Name
  'networkPolicy.grpc.from[0].bogus=1' 'networkPolicy.grpc.from[0].podSelector.matchLabels=x'
  toxiproxyApi.bogus=1 toxiproxyApi.port=0 toxiproxyApi.enabled=yes
  'proxyUpstreamAllow[0]=fd00::/8:8443' 'proxyUpstreamAllow[0]=redis:6379' 'proxyUpstreamAllow[0]=10.0.0.0/8:http'
  'networkPolicy.proxies.from[0].bogus=1' 'networkPolicy.egress[0].bogus=1'
  'networkPolicy.egress[0].ports[0].protocol=ICMP' 'networkPolicy.egress[0].to[0].ipBlock.bogus=1'
)
# Proxies with one fault each (--set-json).
bad_json=(
  'proxies=[{"name": "redis", "port": 6379, "upstream": "redis:6379", "bogus": 1}]'
  'proxies=[{"name": "Redis", "port": 6379, "upstream": "redis:6379"}]'
  'proxies=[{"name": "re.dis", "port": 6379, "upstream": "redis:6379"}]'
  'proxies=[{"name": "redis", "port": 80, "upstream": "redis:6379"}]'
  'proxies=[{"name": "redis", "port": 6379, "servicePort": 0, "upstream": "redis:6379"}]'
  'proxies=[{"name": "redis", "port": 6379, "upstream": "redis"}]'
  'proxies=[{"name": "redis", "port": 6379, "upstream": "fd00::10:6379"}]'
  'proxies=[{"name": "redis", "port": 6379}]'
  'proxies=[{"name": "redis", "port": 6379, "upstream": "redis:6379", "enabled": "yes"}]'
  'proxies=[{"name": "redis", "port": 6379, "upstream": "redis:6379", "toxics": []}]'
)
for bad in "${bad_values[@]}" "${bad_json[@]}"; do
  set_flag=--set
  [[ "$bad" == proxies=* ]] && set_flag=--set-json
  if "$helm_bin" template tcpemu "$chart" --set 'proxyUpstreamAllow[0]=10.0.0.0/8' \
    "$set_flag" "$bad" >/dev/null 2>"$work/err"; then
    log "FAIL: helm template accepted $set_flag $bad"
    exit 1
  fi
  if ! grep -q "values don't meet the specifications of the schema" "$work/err"; then
    log "FAIL: $set_flag $bad failed, but not on the schema:"
    cat "$work/err" >&2
    exit 1
  fi
done

log "the chart refuses proxies that clash"
# Pairs: values (--set-json, beside a proxy redis on 6379) and the error.
clashes=(
  'proxies=[{"name": "a", "port": 6379, "upstream": "a:1"}, {"name": "b", "port": 6379, "upstream": "b:1"}]'
  'proxies: b: port 6379 is taken by proxy a'
  'proxies=[{"name": "a", "port": 6379, "upstream": "a:1"}, {"name": "a", "port": 6380, "upstream": "b:1"}]'
  'proxies: the name a is given twice'
  'proxies=[{"name": "a", "port": 6379, "upstream": "a:1"}, {"name": "b", "port": 6380, "servicePort": 6379, "upstream": "b:1"}]'
  'proxies: b: servicePort 6379 is taken by proxy a'
  'proxies=[{"name": "a", "port": 50051, "upstream": "a:1"}]'
  'proxies: a: port 50051 is taken by grpc'
  'proxies=[{"name": "a", "port": 9464, "upstream": "a:1"}]'
  'proxies: a: port 9464 is taken by metrics'
  'toxiproxyApi={"enabled": true, "port": 6379}'
  'proxies: redis: port 6379 is taken by toxiproxyApi.port'
  'toxiproxyApi={"enabled": true, "port": 50051}'
  'toxiproxyApi.port 50051 is taken by gRPC or metrics'
  'proxyUpstreamAllow=[]'
  'proxies: set proxyUpstreamAllow'
)
for ((i = 0; i < ${#clashes[@]}; i += 2)); do
  # --set-json values apply in order (and before every --set).
  if "$helm_bin" template tcpemu "$chart" --set-json 'proxyUpstreamAllow=["10.0.0.0/8"]' \
    --set-json 'proxies=[{"name": "redis", "port": 6379, "upstream": "redis:6379"}]' \
    --set-json "${clashes[i]}" >/dev/null 2>"$work/err"; then
    log "FAIL: helm template accepted --set-json ${clashes[i]}"
    exit 1
  fi
  if ! grep -qF "${clashes[i + 1]}" "$work/err"; then
    log "FAIL: --set-json ${clashes[i]}: want \"${clashes[i + 1]}\", got:"
    cat "$work/err" >&2
    exit 1
  fi
done

log "kustomize build"
# The dashboard is outside the kustomization's directory (deploy/grafana).
"$kustomize_bin" build --load-restrictor LoadRestrictionsNone "$work/deploy/k8s/base" >"$out/kustomize-base.yaml"
"$kustomize_bin" build --load-restrictor LoadRestrictionsNone "$work/deploy/k8s/overlays/tap" >"$out/kustomize-tap.yaml"
"$kustomize_bin" build --load-restrictor LoadRestrictionsNone "$work/deploy/k8s/overlays/proxy-redis" >"$out/kustomize-proxy-redis.yaml"
# An overlay of one's own that moves the metrics rule to another namespace
# label, as docs/deploy.md shows.
mkdir "$work/deploy/k8s/overlays/netpol-test"
cat >"$work/deploy/k8s/overlays/netpol-test/kustomization.yaml" <<'EOF'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
patches:
  - target:
      kind: NetworkPolicy
      name: tcpemu
    patch: |-
      - op: replace
        path: /spec/ingress/1/from/0/namespaceSelector/matchLabels
        value:
          tcpemu.test/monitoring: "yes"
EOF
"$kustomize_bin" build --load-restrictor LoadRestrictionsNone "$work/deploy/k8s/overlays/netpol-test" >"$out/kustomize-netpol.yaml"

tcpemud="${TCPEMUD:-$root/build/server/tcpemud}"
if [[ ! -x "$tcpemud" ]]; then
  log "$tcpemud is missing: building it (deploy/docker/build.sh)"
  "$root/deploy/docker/build.sh"
fi

if [[ "$rootfs_mode" != none && "$(id -u)" -ne 0 ]]; then
  if [[ "$rootfs_mode" == full ]]; then
    log "--rootfs needs root (debootstrap, chroot)"
    exit 1
  fi
  export PACKAGING_ROOTFS_SKIP="the Dockerfile's replay on a bookworm root needs root (debootstrap, chroot); run test.sh as root"
  log "SKIPPING: $PACKAGING_ROOTFS_SKIP"
  rootfs_mode=none
elif [[ "$rootfs_mode" == none ]]; then
  export PACKAGING_ROOTFS_SKIP="test.sh --no-rootfs: the Dockerfile's replay on a bookworm root is left out"
fi
if [[ "$rootfs_mode" != none ]]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null ||
      { apt-get update -q >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null; }
  fi
  minbase="$tools/bookworm-minbase.tar"
  if [[ ! -f "$minbase" ]]; then
    log "debootstrap --variant=minbase bookworm (once; cached in $minbase)"
    mkdir -p "$tools"
    debootstrap --variant=minbase bookworm "$work/minbase" \
      "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
      { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    tar -C "$work/minbase" -cf "$minbase.tmp" . && mv "$minbase.tmp" "$minbase"
    rm -rf "$work/minbase"
  fi
  # One root per replayed stage, with the images' apt sources (debootstrap
  # writes bookworm only).
  stages=(runtime)
  [[ "$rootfs_mode" == full ]] && stages+=(build)
  for stage in "${stages[@]}"; do
    dir="$work/rootfs-$stage"
    mkdir "$dir"
    tar -C "$dir" -xf "$minbase"
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    rm -f "$dir/etc/apt/sources.list"
    cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${DEBIAN_MIRROR:-http://deb.debian.org/debian}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  done
  export PACKAGING_ROOTFS="$work/rootfs-runtime"
  if [[ "$rootfs_mode" == full ]]; then
    export PACKAGING_ROOTFS_BUILD="$work/rootfs-build"
  fi
fi

cd "$here"
log "gofmt, go vet"
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
  log "gofmt -l: $unformatted"
  exit 1
fi
go vet ./...
go test -c -o "$work/packaging.test" .

export REPO_ROOT="$root" RENDERED="$out" DASHBOARD="$dashboard" RENDER_NAMESPACE="$NAMESPACE"
export TCPEMUD="$tcpemud" PACKAGING_STRICT=1
test_args=(-test.v -test.count=1 -test.timeout=5m)
# Every run's output also goes to a log, for the list of skips at the end.
log_file="$work/go-test.log"
: >"$log_file"
status=0
if [[ -n "${PACKAGING_ROOTFS:-}" ]]; then
  if [[ -n "${PACKAGING_ROOTFS_BUILD:-}" ]]; then
    log "the Dockerfile's stages on bookworm minbase roots"
  else
    log "the Dockerfile's runtime stage on a bookworm minbase root (the build stage with --rootfs)"
  fi
  "$work/packaging.test" "${test_args[@]}" -test.timeout=30m -test.run '^TestImageStagesInRootfs$' |
    tee -a "$log_file" || status=$?
fi
if [[ "$(id -u)" -eq 0 ]] && command -v ip >/dev/null && unshare --net true 2>/dev/null; then
  log "go test (live tests in a new network namespace)"
  unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh \
    env PACKAGING_NETNS=1 "$work/packaging.test" "${test_args[@]}" | tee -a "$log_file" || status=$?
else
  log "go test (not root, or no unshare/ip: the live tests are skipped)"
  "$work/packaging.test" "${test_args[@]}" | tee -a "$log_file" || status=$?
fi

# go test -v streams a test's log (a skip's reason) before its "--- SKIP"
# line, after an "=== RUN/CONT/NAME" line naming the test.
skips="$(awk '
  /^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
  /^ *--- SKIP: / { print; printf "%s", logs[$3]; delete logs[$3]; next }
  /^ *--- (PASS|FAIL): / { delete logs[$3]; next }
  /^ +[^ ]/ && cur != "" { logs[cur] = logs[cur] $0 "\n" }
' "$log_file")"
if [[ -n "$skips" ]]; then
  log "$(grep -c -- '--- SKIP: ' <<<"$skips") tests SKIPPED:"
  echo "$skips" >&2
else
  log "no test skipped"
fi
if [[ "$status" -ne 0 ]]; then
  log "FAIL"
  exit "$status"
fi
log "ok"
