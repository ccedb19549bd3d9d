#!/usr/bin/env bash
# Start a Docker engine and a local registry (127.0.0.1:5000) when they are not
# already answering. Idempotent: a second run only checks.
# Needs Debian's docker.io and docker-registry packages (.ci/run installs them).
set -euo pipefail

DOCKER=/usr/bin/docker # Debian's client: BuildKit works with DOCKER_BUILDKIT=1, no buildx needed
REGISTRY_ADDR=${REGISTRY_ADDR:-127.0.0.1:5000}
STATE=${DOCKER_UP_STATE:-/tmp/docker-up}
mkdir -p "$STATE"

wait_for() { # wait_for SECONDS COMMAND...: poll until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

if ! "$DOCKER" info >/dev/null 2>&1; then
  echo "docker-up: starting dockerd (log: $STATE/dockerd.log)"
  setsid dockerd >"$STATE/dockerd.log" 2>&1 </dev/null &
  echo $! >"$STATE/dockerd.pid"
  wait_for 60 "$DOCKER" info || { tail -20 "$STATE/dockerd.log"; exit 1; }
fi

if ! curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then
  echo "docker-up: starting docker-registry on $REGISTRY_ADDR (log: $STATE/registry.log)"
  mkdir -p "$STATE/registry-data"
  cat >"$STATE/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry-data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  setsid docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 </dev/null &
  echo $! >"$STATE/registry.pid"
  wait_for 30 curl -fsS "http://$REGISTRY_ADDR/v2/" || { tail -20 "$STATE/registry.log"; exit 1; }
fi

echo "docker-up: engine $("$DOCKER" version -f '{{.Server.Version}}'), registry $REGISTRY_ADDR"
