#!/usr/bin/env bash
# Makes sure what the test suite needs is on this machine and running: PostgreSQL, Redis, a local
# Redis Cluster (.ci/redis-cluster.sh) and Debian's Chromium (and ffmpeg, for the camera tests;
# nginx and openssl, for the reverse-proxy test of deploy/nginx/handoff.conf in e2e/release.spec.ts).
# Safe to run again; starts only what is down.
set -euo pipefail

log() { printf '[services] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1
  fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null; then
    log "installing PostgreSQL"; apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

# Redis
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || { log "installing Redis"; apt_install redis-server; }
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
log "redis: $(redis-cli -h 127.0.0.1 -p 6379 ping)"

# Redis Cluster (3 masters + 3 replicas on 127.0.0.1:7000-7005) for the `cluster` test project.
bash "$(dirname "$0")/redis-cluster.sh" start

# Chromium for Playwright (never Playwright's own download: it is not reachable offline).
chromium_path=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$chromium_path" ]; then log "installing Chromium"; apt_install chromium; fi
command -v ffmpeg >/dev/null || { log "installing ffmpeg"; apt_install ffmpeg; }
# The test runs nginx as a plain process with its own -c and -p (no nginx service is needed).
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { log "installing nginx"; apt_install nginx; }
command -v openssl >/dev/null || { log "installing openssl"; apt_install openssl; }
log "chromium: $("$chromium_path" --version 2>/dev/null | head -n 1)"
