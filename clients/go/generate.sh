#!/usr/bin/env bash
# Generates the Go code for proto/tcpemu/v1 into OUT_DIR (default: this
# module's root, which puts it in gen/tcpemu/v1/). The plugin versions are
# pinned here and checked, so that the committed code and a regeneration
# agree byte for byte.
#
# Exit status 3 means that a tool or the proto source is missing (the message
# says which and how to install it); TestGeneratedCodeIsFresh skips on that
# status alone, and fails on any other error.
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$here}"
proto="$repo/proto/tcpemu/v1/tcpemu.proto"

export PATH="$(go env GOPATH)/bin:$PATH"
if [[ -n "$(go env GOBIN)" ]]; then export PATH="$(go env GOBIN):$PATH"; fi

need() {  # need TOOL WANT_VERSION INSTALL_PATH
  local got
  if ! command -v "$1" >/dev/null; then
    echo "generate.sh: $1 not found; install it with: go install $3@$2" >&2
    exit 3
  fi
  if ! got="$("$1" --version 2>&1)"; then
    echo "generate.sh: $1 --version failed: $got" >&2
    exit 1
  fi
  got="${got##* }"
  [[ "$got" == v* ]] || got="v$got"
  if [[ "$got" != "$2" ]]; then
    echo "generate.sh: $1 is $got, want $2; install it with: go install $3@$2" >&2
    exit 1
  fi
}
[[ -f "$proto" ]] || { echo "generate.sh: $proto not found (the module outside its repository)" >&2; exit 3; }
command -v protoc >/dev/null || { echo "generate.sh: protoc not found (Debian: apt-get install protobuf-compiler)" >&2; exit 3; }
need protoc-gen-go "$PROTOC_GEN_GO_VERSION" google.golang.org/protobuf/cmd/protoc-gen-go
need protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION" google.golang.org/grpc/cmd/protoc-gen-go-grpc

mkdir -p "$out"
protoc -I "$repo/proto" \
  --go_out="$out" --go_opt=module=github.com/tcpemu/tcpemu/clients/go \
  --go-grpc_out="$out" --go-grpc_opt=module=github.com/tcpemu/tcpemu/clients/go \
  "$proto"
