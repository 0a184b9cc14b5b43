#!/usr/bin/env bash
# Interop with toxiproxy's official clients: the Go client package and
# toxiproxy-cli, both from github.com/Shopify/toxiproxy/v2 at the version
# go.mod pins (fetched through the Go module proxy), against tcpemud's
# toxiproxy-compatible HTTP API (--toxiproxy_listen).
#
#   tests/toxiproxy/test.sh [path/to/tcpemud]
#   TOXIPROXY_TARGET=toxiproxy tests/toxiproxy/test.sh
#
# The daemon is the first argument, else $TCPEMUD, else build/server/tcpemud
# of the repository. With TOXIPROXY_TARGET=toxiproxy the same tests run
# against toxiproxy's own server, built from the same module, which checks
# the tests themselves. Steps: gofmt and go vet; toxiproxy-cli built into a
# temporary directory; the server started on free loopback ports; go test -v;
# the skipped tests listed with their reasons; the server stopped (tcpemud
# must exit 0 on SIGTERM).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${TOXIPROXY_TARGET:-tcpemud}"
log() { echo "test.sh: $*" >&2; }

if [[ $# -ge 1 ]]; then
  export TCPEMUD="$1"
fi
tcpemud="${TCPEMUD:-$root/build/server/tcpemud}"
if [[ "$tcpemud" != /* ]]; then
  tcpemud="$(cd "$(dirname "$tcpemud")" && pwd)/$(basename "$tcpemud")"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

case "$target" in
  tcpemud)
    if [[ ! -x "$tcpemud" || -d "$tcpemud" ]]; then
      log "$tcpemud is not an executable tcpemud"
      exit 1
    fi
    ;;
  toxiproxy) ;;
  *)
    log "TOXIPROXY_TARGET must be tcpemud or toxiproxy, not $target"
    exit 2
    ;;
esac

cd "$here"
log "gofmt, go vet"
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
  log "gofmt -l found unformatted files: $unformatted"
  exit 1
fi
go vet ./...

log "building toxiproxy-cli ($(go list -m -f '{{.Path}} {{.Version}}' github.com/Shopify/toxiproxy/v2))"
go build -o "$work/toxiproxy-cli" github.com/Shopify/toxiproxy/v2/cmd/cli
go test -c -o "$work/toxiproxy.test" .

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server PORT: starts the server under test with its HTTP API on
# 127.0.0.1:PORT, in the background.
start_server() {
  local port="$1"
  case "$target" in
    tcpemud)
      "$tcpemud" --toxiproxy_listen "127.0.0.1:$port" --listen 127.0.0.1:0 \
        --metrics_listen "" >"$work/server.log" 2>&1 &
      ;;
    toxiproxy)
      "$work/toxiproxy-server" -host 127.0.0.1 -port "$port" >"$work/server.log" 2>&1 &
      ;;
  esac
  server_pid=$!
}

if [[ "$target" == toxiproxy ]]; then
  log "building toxiproxy-server from the same module"
  go build -o "$work/toxiproxy-server" github.com/Shopify/toxiproxy/v2/cmd/server
fi

# A free port can be taken between the probe and the bind: a server that
# exits at start gets two more tries on other ports.
api_port=""
for attempt in 1 2 3; do
  port="$(free_port)"
  start_server "$port"
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/version" 2>/dev/null; then
      api_port="$port"
      break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  [[ -n "$api_port" ]] && break
  log "attempt $attempt: the $target HTTP API did not come up on 127.0.0.1:$port:"
  cat "$work/server.log" >&2
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
done
if [[ -z "$api_port" ]]; then
  log "FAIL: the $target HTTP API did not start"
  exit 1
fi
log "go test against $target's HTTP API on 127.0.0.1:$api_port"

export TOXIPROXY_ADDR="127.0.0.1:$api_port" TOXIPROXY_CLI="$work/toxiproxy-cli" TOXIPROXY_TARGET="$target"
status=0
"$work/toxiproxy.test" -test.v -test.count=1 -test.timeout=15m 2>&1 | tee "$work/go-test.log" ||
  status=$?

# go test -v streams a test's log (a skip's reason) before its "--- SKIP"
# line, after an "=== RUN/CONT/NAME" line naming the test.
skips="$(awk '
  /^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
  /^ *--- SKIP: / { print; printf "%s", logs[$3]; delete logs[$3]; next }
  /^ *--- (PASS|FAIL): / { delete logs[$3]; next }
  /^ +[^ ]/ && cur != "" { logs[cur] = logs[cur] $0 "\n" }
' "$work/go-test.log")"
if [[ -n "$skips" ]]; then
  log "$(grep -c -- '--- SKIP: ' <<<"$skips") tests SKIPPED:"
  echo "$skips" >&2
else
  log "no test skipped"
fi

# The server must still be running, and tcpemud must exit 0 on SIGTERM.
if ! kill -0 "$server_pid" 2>/dev/null; then
  log "FAIL: the $target server died during the tests:"
  tail -50 "$work/server.log" >&2
  status=1
else
  kill -TERM "$server_pid"
  server_status=0
  wait "$server_pid" || server_status=$?
  server_pid=""
  if [[ "$target" == tcpemud && "$server_status" -ne 0 ]]; then
    log "FAIL: tcpemud exited $server_status on SIGTERM:"
    tail -50 "$work/server.log" >&2
    status=1
  fi
fi
if [[ "$status" -ne 0 ]]; then
  log "FAIL"
  exit "$status"
fi
log "ok"
