#!/usr/bin/env bash
# A local three-member cluster on loopback, for development, demos and manual fault drills. The layout is
# etcd's Procfile (infra1/infra2/infra3, clients on 2379/22379/32379, peers on 2380/22380/32380), so the same
# commands work against real etcd by passing --server etcd.
#
#   scripts/cluster.sh [options] start [NAME]     start all members (or one), wait until all are ready and healthy
#   scripts/cluster.sh [options] stop [NAME]      SIGTERM by PID, wait, then SIGKILL
#   scripts/cluster.sh [options] status           processes, `etcdctl endpoint status --cluster -w table`, health
#   scripts/cluster.sh [options] restart NAME     stop one member gracefully and start it again on its data dir
#   scripts/cluster.sh [options] kill NAME        SIGKILL one member (crash drill; `start NAME` brings it back)
#   scripts/cluster.sh [options] endpoints        print the client endpoints, comma-separated (for --endpoints=)
#   scripts/cluster.sh [options] restore FILE     build a NEW cluster in DIR from `etcdctl snapshot save` FILE
#                                                 (every member's data dir; then run `start`)
#   scripts/cluster.sh [options] clean            stop everything and delete the cluster directory
#
# Options (before or after the command):
#   --dir DIR                    data, logs, PID files and settings (default ./.cluster, or $METASTORE_CLUSTER_DIR)
#   --engine rocksdb|memory      MetaStore's storage engine (default rocksdb)
#   --server metastore|etcd      what to run (default metastore; etcd runs $ETCD, default /usr/bin/etcd)
#
# Ports: member i (1..3) listens for clients on 2379, 22379, 32379 and for peers on 2380, 22380, 32380. With
# METASTORE_CLUSTER_PORT_BASE=B set, member i uses B+10*(i-1) for clients and B+10*(i-1)+1 for peers
# (B=40000: 40000/40001, 40010/40011, 40020/40021).
#
# Layout of DIR: cluster.env (the settings the cluster was created with; later commands reuse them, and a
# conflicting --engine/--server/port base is refused), NAME.data/ (data dir), NAME.log (appended to on every
# start), NAME.pid, and app/ (MetaStore: a private copy of the launcher and jars, refreshed by `start` when no
# member is running and the build is newer, so `mvn clean` in the tree cannot pull classes from under a
# running member).
#
# Bounded: `start` waits up to METASTORE_CLUSTER_START_TIMEOUT seconds (default 180) for "ready to serve client
# requests" in every started member's log and then for `etcdctl endpoint health` on all of them; `stop` waits
# up to METASTORE_CLUSTER_STOP_TIMEOUT seconds (default 30) after SIGTERM before SIGKILL.
# A PID file is trusted only if the process's command line still names the member's data dir.
#
# Environment: METASTORE_CLUSTER_DIR, METASTORE_CLUSTER_PORT_BASE, METASTORE_CLUSTER_START_TIMEOUT,
# METASTORE_SERVER_FLAGS (extra flags for MetaStore members only, e.g. --leader-lease-reads),
# METASTORE_CLUSTER_STOP_TIMEOUT, METASTORE_CLUSTER_FLAGS (extra flags for every member, split on whitespace,
# e.g. "--heartbeat-interval 100 --election-timeout 1000"), METASTORE_JAVA_OPTS (member JVMs), ETCD, ETCDCTL.
set -euo pipefail

self="$(readlink -f "${BASH_SOURCE[0]}" 2>/dev/null || echo "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$self")/.." && pwd)"
ETCD="${ETCD:-/usr/bin/etcd}"
ETCDCTL="${ETCDCTL:-etcdctl}"
NAMES=(infra1 infra2 infra3)
START_TIMEOUT="${METASTORE_CLUSTER_START_TIMEOUT:-180}"
STOP_TIMEOUT="${METASTORE_CLUSTER_STOP_TIMEOUT:-30}"

say() { echo "cluster: $*"; }
die() { echo "cluster: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//'; }

# ---- arguments ----
dir="${METASTORE_CLUSTER_DIR:-./.cluster}"
engine=""
server=""
cmd=""
target=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --dir=*) dir="${1#*=}"; shift ;;
    --engine|--storage-engine) engine="$2"; shift 2 ;;
    --engine=*|--storage-engine=*) engine="${1#*=}"; shift ;;
    --server) server="$2"; shift 2 ;;
    --server=*) server="${1#*=}"; shift ;;
    -h|--help|help) usage; exit 0 ;;
    -*) echo "cluster: unknown option $1 (see --help)" >&2; exit 2 ;;
    *)
      if [[ -z "$cmd" ]]; then cmd="$1"
      elif [[ -z "$target" ]]; then target="$1"
      else echo "cluster: unexpected argument $1 (see --help)" >&2; exit 2
      fi
      shift ;;
  esac
done
snapshot_file=""
case "$cmd" in
  start|stop|status|endpoints|clean) ;;
  restore)
    [[ -n "$target" ]] || { echo "cluster: restore needs a snapshot file (from etcdctl snapshot save)" >&2; exit 2; }
    [[ -f "$target" ]] || { echo "cluster: no such file: $target" >&2; exit 2; }
    snapshot_file="$(realpath "$target")"; target="" ;;
  restart|kill) [[ -n "$target" ]] || { echo "cluster: $cmd needs a member name (${NAMES[*]})" >&2; exit 2; } ;;
  "") usage >&2; exit 2 ;;
  *) echo "cluster: unknown command $cmd (see --help)" >&2; exit 2 ;;
esac
if [[ -n "$target" && " ${NAMES[*]} " != *" $target "* ]]; then
  echo "cluster: unknown member $target (members: ${NAMES[*]})" >&2; exit 2
fi
case "$cmd" in status|endpoints|clean) [[ -z "$target" ]] || { echo "cluster: $cmd takes no member name" >&2; exit 2; } ;; esac
[[ -z "$engine" || "$engine" == rocksdb || "$engine" == memory ]] || { echo "cluster: --engine must be rocksdb or memory" >&2; exit 2; }
[[ -z "$server" || "$server" == metastore || "$server" == etcd ]] || { echo "cluster: --server must be metastore or etcd" >&2; exit 2; }

if [[ "$cmd" == start || "$cmd" == restore ]]; then mkdir -p "$dir" 2>/dev/null || die "cannot create $dir"; fi
DIR="$(realpath -m "$dir")"
ENV_FILE="$DIR/cluster.env"

# ---- settings: from cluster.env when the cluster exists, else from options/environment ----
if [[ -n "${METASTORE_CLUSTER_PORT_BASE:-}" ]]; then
  [[ "$METASTORE_CLUSTER_PORT_BASE" =~ ^[0-9]+$ ]] && (( METASTORE_CLUSTER_PORT_BASE >= 1024 && METASTORE_CLUSTER_PORT_BASE <= 65500 )) \
    || die "METASTORE_CLUSTER_PORT_BASE must be a number between 1024 and 65500"
  b=$METASTORE_CLUSTER_PORT_BASE
  want_client=("$b" "$((b + 10))" "$((b + 20))")
  want_peer=("$((b + 1))" "$((b + 11))" "$((b + 21))")
else
  want_client=(2379 22379 32379)
  want_peer=(2380 22380 32380)
fi
if [[ -f "$ENV_FILE" ]]; then
  # shellcheck disable=SC1090
  source "$ENV_FILE"   # sets cl_server, cl_engine, cl_token, client_ports, peer_ports
  # Starting with other settings than the cluster was created with is refused; other commands just use the
  # recorded ones (so `stop` always finds the cluster).
  conflict() { if [[ "$cmd" == start || "$cmd" == restart || "$cmd" == restore ]]; then die "$1"; else say "note: $1"; fi; }
  [[ -z "$server" || "$server" == "$cl_server" ]] \
    || conflict "the cluster in $DIR runs $cl_server, not $server (use another --dir, or '$0 --dir $dir clean' first)"
  [[ -z "$engine" || "$engine" == "$cl_engine" || "$cl_server" == etcd ]] \
    || conflict "the cluster in $DIR was created with --engine $cl_engine (use another --dir, or '$0 --dir $dir clean' first)"
  if [[ -n "${METASTORE_CLUSTER_PORT_BASE:-}" && "${want_client[*]}" != "${client_ports[*]}" ]]; then
    conflict "the cluster in $DIR uses client ports ${client_ports[*]}, not ${want_client[*]} (METASTORE_CLUSTER_PORT_BASE)"
  fi
else
  cl_server="${server:-metastore}"
  cl_engine="${engine:-rocksdb}"
  # One token per port layout: MetaStore derives its Ratis group from the token alone, so two local clusters must
  # not share one (etcd's cluster ID also covers the peer URLs).
  cl_token="local-cluster-${want_client[0]}"
  client_ports=("${want_client[@]}")
  peer_ports=("${want_peer[@]}")
fi

idx() { local i; for i in 0 1 2; do [[ "${NAMES[$i]}" == "$1" ]] && { echo "$i"; return; }; done; }
client_url() { echo "http://127.0.0.1:${client_ports[$1]}"; }
peer_url() { echo "http://127.0.0.1:${peer_ports[$1]}"; }
data_dir() { echo "$DIR/${NAMES[$1]}.data"; }
pid_file() { echo "$DIR/${NAMES[$1]}.pid"; }
log_file() { echo "$DIR/${NAMES[$1]}.log"; }
endpoints() { echo "127.0.0.1:${client_ports[0]},127.0.0.1:${client_ports[1]},127.0.0.1:${client_ports[2]}"; }
initial_cluster() {
  echo "${NAMES[0]}=$(peer_url 0),${NAMES[1]}=$(peer_url 1),${NAMES[2]}=$(peer_url 2)"
}

# PID of member i if it runs: the PID file names a live process whose command line holds the member's data dir.
member_pid() {
  local i="$1" pid
  pid="$(cat "$(pid_file "$i")" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$(data_dir "$i")" || return 1
  echo "$pid"
}
# For a member this script has just launched: alive and not a zombie. (Its command line may not name the data
# dir yet: between fork and exec it is still this shell.)
running_child() {
  local state
  state="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}
any_running() { local i; for i in 0 1 2; do member_pid "$i" >/dev/null && return 0; done; return 1; }
port_in_use() { [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }

selected() { # indices the command applies to
  if [[ -n "$target" ]]; then idx "$target"; else echo 0 1 2; fi
}

# ---- MetaStore binaries: a private copy under DIR/app ----
prepare_app() {
  [[ "$cl_server" == metastore ]] || return 0
  local jar="$ROOT/server/target/metastore-server.jar" lib="$ROOT/server/target/lib" app="$DIR/app"
  if [[ ! -f "$jar" || ! -d "$lib" ]]; then
    if [[ -f "$app/server/target/metastore-server.jar" ]]; then return 0; fi
    say "building the server first (mvn -B -q -DskipTests package -pl server -am)..."
    mvn -B -q -DskipTests package -pl server -am -f "$ROOT/pom.xml" >&2
  fi
  if [[ -f "$app/server/target/metastore-server.jar" ]] && ! [[ "$jar" -nt "$app/server/target/metastore-server.jar" ]]; then
    return 0
  fi
  if any_running; then
    say "note: the build in $ROOT is newer than $app, but members are running; keeping the old copy (stop all, then start)"
    return 0
  fi
  say "copying the server jars to $app"
  rm -rf "$app"
  mkdir -p "$app/scripts" "$app/server/target"
  cp -p "$ROOT/scripts/metastore" "$app/scripts/"
  cp -rp "$jar" "$lib" "$app/server/target/"
}

# ---- commands ----
launch() { # launch i: start member i in the background, write its PID file
  local i="$1" name="${NAMES[$1]}" state=new bin extra=()
  local dd; dd="$(data_dir "$i")"
  read -r -a extra <<<"${METASTORE_CLUSTER_FLAGS:-}"
  if [[ "$cl_server" == metastore ]]; then
    bin="$DIR/app/scripts/metastore"
    extra+=(--storage-engine "$cl_engine")
    local more=()
    read -r -a more <<<"${METASTORE_SERVER_FLAGS:-}" # MetaStore-only flags (e.g. --leader-lease-reads)
    extra+=(${more[@]+"${more[@]}"})
  else
    bin="$ETCD"
    [[ -x "$bin" ]] || die "etcd not found at $bin (Debian: apt-get install etcd-server; or set ETCD)"
  fi
  {
    echo
    echo "===== cluster.sh: starting $name at $(date -u +%FT%TZ) ($( [[ -d "$dd" ]] && echo "existing data dir" || echo "new data dir")) ====="
  } >>"$(log_file "$i")"
  # setsid: the member gets its own session, so a Ctrl-C in this terminal does not reach it. setsid execs
  # (this background child is not a process-group leader) and scripts/metastore execs java, so $! is the
  # member's own PID.
  setsid "$bin" --name "$name" --data-dir "$dd" \
    --listen-client-urls "$(client_url "$i")" --advertise-client-urls "$(client_url "$i")" \
    --listen-peer-urls "$(peer_url "$i")" --initial-advertise-peer-urls "$(peer_url "$i")" \
    --initial-cluster "$(initial_cluster)" --initial-cluster-state "$state" --initial-cluster-token "$cl_token" \
    ${extra[@]+"${extra[@]}"} </dev/null >>"$(log_file "$i")" 2>&1 &
  echo $! >"$(pid_file "$i")"
}

wait_ready() { # wait_ready "i j ..." "offsets": until each log shows the ready line after its offset, then health
  local -a ids offs
  read -r -a ids <<<"$1"; read -r -a offs <<<"$2"
  local deadline=$((SECONDS + START_TIMEOUT)) k i pending pids=()
  for i in "${ids[@]}"; do pids+=("$(cat "$(pid_file "$i")")"); done
  while :; do
    pending=()
    for k in "${!ids[@]}"; do
      i="${ids[$k]}"
      if ! running_child "${pids[$k]}"; then
        echo "cluster: ${NAMES[$i]} exited during start; last lines of $(log_file "$i"):" >&2
        tail -n 20 "$(log_file "$i")" >&2
        return 1
      fi
      tail -c +"$((offs[k] + 1))" "$(log_file "$i")" | grep -q "ready to serve client requests" || pending+=("${NAMES[$i]}")
    done
    (( ${#pending[@]} == 0 )) && break
    if (( SECONDS >= deadline )); then
      echo "cluster: not ready after ${START_TIMEOUT}s: ${pending[*]} (logs in $DIR)" >&2; return 1
    fi
    sleep 0.5
  done
  # "ready" is logged when the member serves; a quorum (leader) may still be forming. Wait for health too.
  local eps="" out
  for i in "${ids[@]}"; do eps+="${eps:+,}127.0.0.1:${client_ports[$i]}"; done
  while :; do
    if out="$("$ETCDCTL" --endpoints="$eps" --dial-timeout=2s --command-timeout=5s endpoint health 2>&1)"; then
      say "ready and healthy: $(for i in "${ids[@]}"; do echo "${NAMES[$i]}"; done | paste -sd' ')"
      return 0
    fi
    if (( SECONDS >= deadline )); then
      echo "cluster: ready, but not healthy after ${START_TIMEOUT}s:" >&2; echo "$out" >&2; return 1
    fi
    sleep 1
  done
}

do_start() {
  local i pid to_start=() offs=()
  write_env
  prepare_app
  for i in $(selected); do
    if pid="$(member_pid "$i")"; then say "${NAMES[$i]} is already running (pid $pid)"; continue; fi
    rm -f "$(pid_file "$i")"
    if port_in_use "${client_ports[$i]}" || port_in_use "${peer_ports[$i]}"; then
      die "port ${client_ports[$i]} or ${peer_ports[$i]} for ${NAMES[$i]} is in use by another process (see: ss -tlnp); set METASTORE_CLUSTER_PORT_BASE or stop it"
    fi
    to_start+=("$i")
  done
  if (( ${#to_start[@]} == 0 )); then
    say "nothing to start"; [[ -n "$target" ]] || say "endpoints: $(endpoints)"; return 0
  fi
  for i in "${to_start[@]}"; do
    offs+=("$(stat -c %s "$(log_file "$i")" 2>/dev/null || echo 0)")
    launch "$i"
    say "started ${NAMES[$i]} (pid $(cat "$(pid_file "$i")"), client $(client_url "$i"), peer $(peer_url "$i"), log $(log_file "$i"))"
  done
  # A member started alone (start NAME, restart) rejoins a running cluster; all three together need each other.
  say "waiting up to ${START_TIMEOUT}s for $(( ${#to_start[@]} )) member(s) to be ready..."
  wait_ready "${to_start[*]}" "${offs[*]}" || exit 1
  say "$cl_server cluster ($( [[ "$cl_server" == metastore ]] && echo "engine $cl_engine, " )dir $DIR)"
  say "endpoints: $(endpoints)"
  say "try: etcdctl --endpoints=$(endpoints) endpoint status --cluster -w table"
}

write_env() {
  [[ -f "$ENV_FILE" ]] && return 0
  [[ "$cl_server" != etcd ]] || [[ -x "$ETCD" ]] || die "etcd not found at $ETCD (Debian: apt-get install etcd-server; or set ETCD)"
  printf 'cl_server=%s\ncl_engine=%s\ncl_token=%s\nclient_ports=(%s)\npeer_ports=(%s)\n' \
    "$cl_server" "$cl_engine" "$cl_token" "${client_ports[*]}" "${peer_ports[*]}" >"$ENV_FILE"
}

# etcd's restore procedure for a whole cluster: the same snapshot into every member's (new) data dir, then start
# all members with the usual flags. MetaStore's restore keeps keys, history and leases and starts a new Raft log.
do_restore() {
  local i
  for i in 0 1 2; do
    [[ ! -e "$(data_dir "$i")" ]] || die "$(data_dir "$i") exists; restore builds a new cluster (use another --dir, or clean first)"
  done
  write_env
  prepare_app
  for i in 0 1 2; do
    if [[ "$cl_server" == metastore ]]; then
      "$DIR/app/scripts/metastore" snapshot restore "$snapshot_file" --data-dir "$(data_dir "$i")" \
        --name "${NAMES[$i]}" --storage-engine "$cl_engine" || die "restore into $(data_dir "$i") failed"
    else
      ETCDCTL_API=3 "$ETCDCTL" snapshot restore "$snapshot_file" --data-dir "$(data_dir "$i")" --name "${NAMES[$i]}" \
        --initial-cluster "$(initial_cluster)" --initial-cluster-token "$cl_token" \
        --initial-advertise-peer-urls "$(peer_url "$i")" >>"$(log_file "$i")" 2>&1 \
        || die "etcdctl snapshot restore into $(data_dir "$i") failed (see $(log_file "$i"))"
      say "restored snapshot $snapshot_file into $(data_dir "$i")"
    fi
  done
  say "restored; start the cluster with: $0 --dir $dir start"
}

stop_members() { # stop_members SIGNAL i...: signal the running ones, wait (bounded), SIGKILL the rest
  local sig="$1"; shift
  local i pid pids=() names=()
  for i in "$@"; do
    if pid="$(member_pid "$i")"; then
      kill "-$sig" "$pid" 2>/dev/null || true
      pids+=("$pid"); names+=("${NAMES[$i]}")
      say "sent SIG$sig to ${NAMES[$i]} (pid $pid)"
    else
      say "${NAMES[$i]} is not running"
      rm -f "$(pid_file "$i")"
    fi
  done
  (( ${#pids[@]} > 0 )) || return 0
  local deadline=$((SECONDS + STOP_TIMEOUT)) left k
  while :; do
    left=()
    for k in "${!pids[@]}"; do kill -0 "${pids[$k]}" 2>/dev/null && left+=("$k"); done
    (( ${#left[@]} == 0 )) && break
    if (( SECONDS >= deadline )); then
      for k in "${left[@]}"; do
        echo "cluster: ${names[$k]} (pid ${pids[$k]}) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL" >&2
        kill -KILL "${pids[$k]}" 2>/dev/null || true
      done
      sleep 1
      break
    fi
    sleep 0.2
  done
  for i in "$@"; do member_pid "$i" >/dev/null || rm -f "$(pid_file "$i")"; done
  say "stopped: ${names[*]}"
}

do_status() {
  local i pid any=false
  if [[ ! -f "$ENV_FILE" ]]; then say "no cluster in $DIR"; return 0; fi
  say "$cl_server cluster in $DIR$( [[ "$cl_server" == metastore ]] && echo " (engine $cl_engine)" )"
  for i in 0 1 2; do
    if pid="$(member_pid "$i")"; then
      any=true; printf '  %-7s running  pid %-8s client %s  peer %s\n' "${NAMES[$i]}" "$pid" "$(client_url "$i")" "$(peer_url "$i")"
    else
      printf '  %-7s stopped  %-12s client %s  peer %s\n' "${NAMES[$i]}" "" "$(client_url "$i")" "$(peer_url "$i")"
    fi
  done
  [[ "$any" == true ]] || return 0
  local rc=0
  echo
  echo "\$ etcdctl --endpoints=$(endpoints) endpoint status --cluster -w table"
  "$ETCDCTL" --endpoints="$(endpoints)" --dial-timeout=2s --command-timeout=5s endpoint status --cluster -w table || rc=1
  echo
  echo "\$ etcdctl --endpoints=$(endpoints) endpoint health"
  "$ETCDCTL" --endpoints="$(endpoints)" --dial-timeout=2s --command-timeout=5s endpoint health 2>&1 || rc=1
  return $rc
}

case "$cmd" in
  start) do_start ;;
  stop)
    [[ -f "$ENV_FILE" ]] || { say "no cluster in $DIR"; exit 0; }
    # shellcheck disable=SC2046
    stop_members TERM $(selected) ;;
  kill)
    [[ -f "$ENV_FILE" ]] || die "no cluster in $DIR"
    i="$(idx "$target")"
    if pid="$(member_pid "$i")"; then
      kill -KILL "$pid"; say "sent SIGKILL to $target (pid $pid); bring it back with: $0 --dir $dir start $target"
    else
      say "$target is not running"
    fi ;;
  restart)
    [[ -f "$ENV_FILE" ]] || die "no cluster in $DIR (start it first)"
    stop_members TERM "$(idx "$target")"
    do_start ;;
  status) do_status ;;
  endpoints) endpoints ;;
  restore)
    any_running && die "members are running in $DIR; restore builds a new cluster (use another --dir)"
    do_restore ;;
  clean)
    if [[ -f "$ENV_FILE" ]]; then
      stop_members TERM 0 1 2
      rm -rf "$DIR"; say "deleted $DIR"
    elif [[ ! -d "$DIR" ]]; then
      say "nothing to clean in $DIR"
    elif [[ -z "$(ls -A "$DIR")" ]]; then
      rmdir "$DIR"; say "nothing to clean in $DIR"
    else
      die "$DIR has no cluster.env; not deleting a directory this script did not create"
    fi ;;
esac
