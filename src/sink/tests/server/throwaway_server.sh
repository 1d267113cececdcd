#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL or MariaDB server for the sink's real-server
# tests, with all its files in DIR and listening on 127.0.0.1:PORT only.
#   throwaway_server.sh start postgres|mariadb DIR PORT
#   throwaway_server.sh stop  postgres|mariadb DIR
# Exit 77: the server binaries are not installed (the caller skips, saying so).
# Running as root, the server runs as the `postgres` / `mysql` user (initdb refuses
# root, mariadbd should not run as root), so DIR is handed to that user.
set -euo pipefail

action=${1:?action}; kind=${2:?kind}; dir=${3:?dir}; port=${4:-}

as_user() {
  local user=$1; shift
  if [[ $EUID -eq 0 ]]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

find_pg_bin() {
  local name=$1 found
  found=$(command -v "$name" 2>/dev/null || true)
  if [[ -z $found ]]; then
    found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n1 || true)
  fi
  printf '%s' "$found"
}

case "$kind:$action" in
  postgres:start)
    initdb=$(find_pg_bin initdb); pg_ctl=$(find_pg_bin pg_ctl)
    [[ -x $initdb && -x $pg_ctl ]] || { echo "PostgreSQL server binaries (initdb, pg_ctl) not found" >&2; exit 77; }
    [[ $EUID -eq 0 ]] && chown -R postgres: "$dir"
    as_user postgres "$initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_user postgres "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  postgres:stop)
    pg_ctl=$(find_pg_bin pg_ctl)
    [[ -f $dir/data/postmaster.pid ]] && as_user postgres "$pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
  mariadb:start)
    command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || { echo "mariadbd not found (apt-get install mariadb-server)" >&2; exit 77; }
    command -v mariadb-install-db >/dev/null 2>&1 || { echo "mariadb-install-db not found" >&2; exit 77; }
    mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
    user_opt=()
    # A private tmpdir: the bootstrap's temporary tables in a shared /tmp were seen to collide
    # with other servers starting at the same moment ("Unknown table 'mysql.tmp_user_sys'").
    mkdir -p "$dir/tmp"
    if [[ $EUID -eq 0 ]]; then chown -R mysql: "$dir"; user_opt=(--user=mysql); fi
    mariadb-install-db --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" "${user_opt[@]}" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
      || { cat "$dir/install.log" >&2; exit 1; }
    setsid "$mariadbd" --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" "${user_opt[@]}" --port="$port" --bind-address=127.0.0.1 \
      --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" --skip-name-resolve \
      --skip-log-bin --innodb-buffer-pool-size=32M --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=0 \
      </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 600); do
      if mariadb-admin --no-defaults --protocol=socket -S "$dir/mysqld.sock" -uroot ping >/dev/null 2>&1; then break; fi
      sleep 0.1
    done
    mariadb --no-defaults --protocol=socket -S "$dir/mysqld.sock" -uroot -e "
      CREATE USER 'sink'@'127.0.0.1' IDENTIFIED BY 'sink';
      GRANT ALL ON *.* TO 'sink'@'127.0.0.1';
      CREATE DATABASE metersync_test;" || { cat "$dir/error.log" >&2; exit 1; }
    ;;
  mariadb:stop)
    if [[ -f $dir/mysqld.pid ]]; then
      pid=$(cat "$dir/mysqld.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    ;;
  *) echo "usage: $0 start|stop postgres|mariadb DIR [PORT]" >&2; exit 2 ;;
esac
