#!/usr/bin/env bash
# Checks and tests the Go module: the protoc plugins (installed if missing,
# at the pinned versions), generated code freshness, gofmt, go vet, and
# go test against a live tcpemud.
#
#   clients/go/test.sh [path/to/tcpemud]
#
# The daemon is the first argument, else $TCPEMUD, else build/server/tcpemud
# of the repository. A daemon that is given but is no executable fails the
# run; with none given and none built, the live tests skip, except with
# CI=true, where that fails. The run ends with the skipped tests and why.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# A relative daemon path is relative to where the script was run from, so it
# is made absolute before the cd below; a path that names no executable fails
# the run rather than letting every test that needs the daemon skip.
if [[ $# -ge 1 ]]; then
  export TCPEMUD="$1"
fi
if [[ -n "${TCPEMUD:-}" ]]; then
  if [[ ! -x "$TCPEMUD" || -d "$TCPEMUD" ]]; then
    echo "test.sh: $TCPEMUD is not an executable tcpemud" >&2
    exit 1
  fi
  if [[ "$TCPEMUD" != /* ]]; then
    TCPEMUD="$(cd "$(dirname "$TCPEMUD")" && pwd)/$(basename "$TCPEMUD")"
    export TCPEMUD
  fi
fi
cd "$here"

# The versions generate.sh pins.
gen_go_version="$(sed -n 's/^PROTOC_GEN_GO_VERSION=//p' generate.sh)"
gen_grpc_version="$(sed -n 's/^PROTOC_GEN_GO_GRPC_VERSION=//p' generate.sh)"
gobin="$(go env GOBIN)"
gobin="${gobin:-$(go env GOPATH)/bin}"
export PATH="$gobin:$PATH"

installed_version() {  # installed_version TOOL: its version with a v, or nothing
  local v
  v="$("$1" --version 2>/dev/null)" || return 0
  v="${v##* }"
  [[ "$v" == v* ]] || v="v$v"
  echo "$v"
}
if [[ "$(installed_version protoc-gen-go)" != "$gen_go_version" ]]; then
  echo "test.sh: installing protoc-gen-go $gen_go_version"
  go install "google.golang.org/protobuf/cmd/protoc-gen-go@$gen_go_version"
fi
if [[ "$(installed_version protoc-gen-go-grpc)" != "$gen_grpc_version" ]]; then
  echo "test.sh: installing protoc-gen-go-grpc $gen_grpc_version"
  go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$gen_grpc_version"
fi

echo "test.sh: generated code"
go test -count=1 -run '^TestGeneratedCodeIsFresh$' ./gen/...

echo "test.sh: gofmt"
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
  echo "gofmt -l found unformatted files:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "test.sh: go vet"
go vet ./...

echo "test.sh: go test (tcpemud: ${TCPEMUD:-default path})"
# Verbose into a log, so that the skipped tests and their reasons can be
# listed at the end (go test shows them only with -v); the whole log when
# something fails.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
go test -count=1 -v ./... >"$log" 2>&1 || status=$?
if [[ "$status" -ne 0 ]]; then
  cat "$log"
else
  grep -E '^(ok|FAIL|\?) ' "$log" || true
fi
# -v streams each test's log (a skip's reason) before its "--- SKIP" line,
# after an "=== RUN/CONT/NAME" line naming the test.
skips="$(awk '
  /^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
  /^ *--- SKIP: / { print; printf "%s", logs[$3]; delete logs[$3]; next }
  /^ *--- (PASS|FAIL): / { delete logs[$3]; next }
  /^ +[^ ]/ && cur != "" { logs[cur] = logs[cur] $0 "\n" }
' "$log")"
if [[ -n "$skips" ]]; then
  echo "test.sh: $(grep -c -- '--- SKIP: ' <<<"$skips") tests SKIPPED:"
  echo "$skips"
else
  echo "test.sh: no test skipped"
fi
exit "$status"
