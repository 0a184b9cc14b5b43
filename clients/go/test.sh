#!/usr/bin/env bash
# Checks and tests the Go module: the protoc plugins (installed if missing,
# at the pinned versions), generated code freshness, gofmt, go vet, and
# go test against a live tcpemud.
#
#   clients/go/test.sh [path/to/tcpemud]
#
# The daemon is the first argument, else $TCPEMUD, else build/server/tcpemud
# of the repository. With CI=true a missing daemon fails the run.
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
go test -count=1 ./...
