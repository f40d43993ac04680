#!/usr/bin/env bash
# Runs a command against a private redis-server: starts one on a free
# loopback port, exports where it is, runs the command, stops the server.
#
#   tests/redis/with_redis.sh COMMAND [ARGS...]
#
# The command sees
#   BECKON_TEST_REDIS_URL     redis://127.0.0.1:PORT/0 (append ?prefix=... to
#                             keep tests apart)
#   BECKON_TEST_REDIS_SOCKET  unix://DIR/redis.sock, the same server
#   BECKON_TEST_REDIS_PORT    PORT
#   BECKON_TEST_REDIS_PID     the server's process id
#
# The server keeps nothing on disk (--save '' --appendonly no, its --dir a
# temporary folder removed afterwards). Exits with the command's status; 77
# (ctest's SKIP_RETURN_CODE) when redis-server is not installed or cannot
# be started, saying why.
set -euo pipefail

SKIP=77
if [[ $# -lt 1 ]]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi
skip() { echo "SKIPPED: $*"; exit $SKIP; }

server=${REDIS_SERVER:-redis-server}
command -v "$server" >/dev/null ||
  skip "redis-server not installed (Debian: apt-get install redis-server;" \
       "scripts/setup.sh installs it)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/beckon-redis.XXXXXX")
pid=
stop() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# True once the server on port $1 answers PING (bash's /dev/tcp; no
# redis-cli needed).
answers() {
  local reply=
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 1 reply <&3 || true
  exec 3<&- 3>&-
  [[ "$reply" == +PONG* ]]
}

# Tries random high ports: the server binds the port itself, so a port
# another process holds makes it exit and the next one is tried.
port=
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  candidate=$((20000 + RANDOM % 40000))
  "$server" --port "$candidate" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$dir" --daemonize no \
    --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
    --logfile "$dir/redis.log" &
  pid=$!
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    if answers "$candidate"; then port=$candidate; break; fi
    sleep 0.05
  done
  [[ -n "$port" ]] && break
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
done
if [[ -z "$port" ]]; then
  echo "redis-server's log:" >&2
  tail -n 20 "$dir/redis.log" >&2 || true
  skip "redis-server could not be started on a loopback port (10 attempts)"
fi

export BECKON_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
export BECKON_TEST_REDIS_SOCKET="unix://$dir/redis.sock"
export BECKON_TEST_REDIS_PORT=$port
export BECKON_TEST_REDIS_PID=$pid
echo "with_redis: redis-server $("$server" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')" \
     "on 127.0.0.1:$port (pid $pid)"
status=0
"$@" || status=$?
exit $status
