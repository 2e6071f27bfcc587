#!/usr/bin/env bash
# Runs the channel-store and Credo-storage suites against PostgreSQL: a throwaway server of
# Debian's postgresql package, started in a temporary directory on 127.0.0.1 and a free port,
# removed afterwards. (As root it runs the server as the postgres user, as initdb requires.)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$BIN" ]; then
  echo "PostgreSQL is not installed: apt-get install -y postgresql" >&2
  exit 1
fi
DIR=$(mktemp -d /tmp/perun-pg.XXXXXX)
PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
AS=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$DIR"
  AS=(runuser -u postgres --)
fi
cleanup() {
  "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U perun --auth=trust >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -o "-h 127.0.0.1 -p $PORT -k $DIR" -l "$DIR/server.log" -w start >/dev/null
"$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U perun perun
echo "PostgreSQL on 127.0.0.1:$PORT"
DATABASE_URL="postgres://perun@127.0.0.1:$PORT/perun" node --experimental-vm-modules --no-warnings \
  node_modules/jest/bin/jest.js test/persistence test/agent/storage
