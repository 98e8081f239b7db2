#!/usr/bin/env bash
# A real local Redis Cluster for the tests and the cluster bench: 3 masters + 3 replicas on
# 127.0.0.1:7000-7005, nothing kept on disk but each node's cluster config (in REDIS_CLUSTER_DIR).
#   bash .ci/redis-cluster.sh start   starts what is down, creates the cluster if it does not exist,
#                                     and waits for cluster_state:ok (safe to run again)
#   bash .ci/redis-cluster.sh stop    stops the six nodes (by their pid files) and forgets the cluster
# A node timeout of 2 s (Redis's default is 15 s) makes a replica take over a killed master in ~2-3 s;
# a replica validity factor of 0 lets a replica take over however long its link was down (with the
# default 10, a replica whose link had been down longer than ~30 s refuses, and the slots stay down).
# "ok" waits for cluster_state:ok and for every replica's first sync.
set -euo pipefail

DIR=${REDIS_CLUSTER_DIR:-/tmp/handoff-redis-cluster}
PORTS=(7000 7001 7002 7003 7004 7005)
log() { printf '[redis-cluster] %s\n' "$*"; }
up() { redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1; }
info() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | tr -d '\r' | grep "^$2:" | cut -d: -f2; }

start_node() {
  local port=$1
  mkdir -p "$DIR/$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --daemonize yes --save "" --appendonly no \
    --cluster-config-file "$DIR/$port/nodes.conf" --cluster-node-timeout 2000 --cluster-replica-validity-factor 0 --dir "$DIR/$port" \
    --pidfile "$DIR/$port/pid" --logfile "$DIR/$port/log"
}

# Every replica has finished its first sync (a replica whose link never came up cannot take over).
replicas_synced() {
  for port in "${PORTS[@]}"; do
    local repl
    repl=$(redis-cli -h 127.0.0.1 -p "$port" info replication 2>/dev/null | tr -d '\r')
    if grep -q '^role:slave' <<<"$repl" && ! grep -q '^master_link_status:up' <<<"$repl"; then return 1; fi
  done
  return 0
}

wait_ok() {
  for _ in $(seq 1 "$1"); do
    [ "$(info 7000 cluster_state)" = ok ] && [ "$(info 7000 cluster_known_nodes)" = 6 ] &&
      [ "$(redis-cli -h 127.0.0.1 -p 7000 cluster nodes | grep -v fail | grep -c slave)" = 3 ] && replicas_synced && return 0
    sleep 0.5
  done
  return 1
}

stop() {
  for port in "${PORTS[@]}"; do
    local pidfile="$DIR/$port/pid"
    if [ -f "$pidfile" ]; then
      local pid
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    # Not "stopped" while something still answers on the port.
    for _ in $(seq 1 50); do up "$port" || break; sleep 0.1; done
  done
  rm -rf "$DIR"
  log "stopped"
}

create() {
  log "creating the cluster"
  for port in "${PORTS[@]}"; do
    # A replica is turned into an empty master first; a master must be empty to be reset.
    redis-cli -h 127.0.0.1 -p "$port" cluster reset hard >/dev/null 2>&1 || true
    redis-cli -h 127.0.0.1 -p "$port" flushall >/dev/null 2>&1 || true
    redis-cli -h 127.0.0.1 -p "$port" cluster reset hard >/dev/null
  done
  local nodes=()
  for port in "${PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
}

start() {
  command -v redis-server >/dev/null || { log "redis-server is not installed"; exit 1; }
  for port in "${PORTS[@]}"; do up "$port" || start_node "$port"; done
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 40); do up "$port" && break; sleep 0.25; done
    up "$port" || { log "node $port did not start (see $DIR/$port/log)"; exit 1; }
  done
  if [ "$(info 7000 cluster_known_nodes)" != 6 ]; then
    create
  elif ! wait_ok 20; then
    # Known to each other but not serving (e.g. a restarted node of a cluster that lost its data): start over.
    log "cluster not ok; recreating it"
    create
  fi
  wait_ok 60 || { log "cluster_state is not ok"; exit 1; }
  log "ok: 3 masters + 3 replicas on 127.0.0.1:7000-7005"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
