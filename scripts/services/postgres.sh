#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the catalog tests (issue 12).
#
#   scripts/services/postgres.sh start   # initdb into a temporary directory, start on 127.0.0.1
#   source "$SERVICES_DIR/postgres.env"   # CONCEPTS_TEST_POSTGRES_URL=postgres://concepts:…@127.0.0.1:PORT/concepts
#   scripts/services/postgres.sh stop    # stop the server and delete the cluster
#
# SERVICES_DIR (default: .build/services in the package) holds postgres.env and the cluster's state
# file, so several worktrees each run their own cluster. The cluster itself lives in a `mktemp -d`
# directory (data, log and Unix socket), on a free loopback port, with SCRAM password
# authentication over TCP (a random password) and fsync off (test data only).
#
# As root, the server runs as the unprivileged user `concepts-test` (created with useradd when
# missing; PostgreSQL refuses to run as root); otherwise as the current user. Installs Debian's
# `postgresql` with apt-get when no initdb is found (as root or through sudo).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SERVICES_DIR="${SERVICES_DIR:-$PWD/.build/services}"
STATE="$SERVICES_DIR/postgres.state"
ENV_FILE="$SERVICES_DIR/postgres.env"
SERVICE_USER="${CONCEPTS_TEST_POSTGRES_USER:-concepts-test}"

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
    done
    command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
    return 1
}

install_postgresql() {
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "postgres.sh: PostgreSQL is not installed; run as root or install Debian's postgresql" >&2; exit 1; }
        as_root=(sudo)
    fi
    echo "postgres.sh: installing Debian's postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq >/dev/null
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# Runs a command as the server's user (root: concepts-test; anyone else: themselves).
as_server() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$SERVICE_USER" -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    if [ -f "$STATE" ]; then
        local old_dir old_bin
        old_dir="$(sed -n 's/^dir=//p' "$STATE")"
        old_bin="$(sed -n 's/^bin=//p' "$STATE")"
        if [ -d "$old_dir/data" ] && as_server "$old_bin/pg_ctl" -D "$old_dir/data" status >/dev/null 2>&1; then
            echo "postgres.sh: a cluster is already running (see $STATE); stop it first" >&2
            exit 1
        fi
        stop   # left over from a run that did not stop it
    fi
    local bin
    bin="$(find_bin)" || { install_postgresql; bin="$(find_bin)"; }
    if [ "$(id -u)" -eq 0 ] && ! id "$SERVICE_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SERVICE_USER"
    fi
    local dir password port attempt started=0
    dir="$(mktemp -d "${TMPDIR:-/tmp}/concepts-pg.XXXXXX")"
    chmod 700 "$dir"
    [ "$(id -u)" -eq 0 ] && chown "$SERVICE_USER" "$dir"
    password="$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    printf '%s\n' "$password" > "$dir/pwfile"
    [ "$(id -u)" -eq 0 ] && chown "$SERVICE_USER" "$dir/pwfile"
    as_server "$bin/initdb" -D "$dir/data" -U concepts --pwfile="$dir/pwfile" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
    rm -f "$dir/pwfile"
    for attempt in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" && continue
        if as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            >/dev/null 2>&1; then
            started=1
            break
        fi
    done
    if [ "$started" -ne 1 ]; then
        echo "postgres.sh: the server did not start; its log:" >&2
        cat "$dir/server.log" >&2 || true
        rm -rf "$dir"
        exit 1
    fi
    as_server "$bin/createdb" -h "$dir" -p "$port" -U concepts concepts
    mkdir -p "$SERVICES_DIR"
    printf 'dir=%s\nbin=%s\nport=%s\n' "$dir" "$bin" "$port" > "$STATE"
    printf 'export CONCEPTS_TEST_POSTGRES_URL=%s\n' "postgres://concepts:$password@127.0.0.1:$port/concepts" > "$ENV_FILE"
    chmod 600 "$ENV_FILE"
    echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir); source $ENV_FILE" >&2
}

stop() {
    [ -f "$STATE" ] || return 0
    local dir bin
    dir="$(sed -n 's/^dir=//p' "$STATE")"
    bin="$(sed -n 's/^bin=//p' "$STATE")"
    if [ -n "$dir" ] && [ -d "$dir/data" ]; then
        as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    case "$dir" in
        */concepts-pg.*) rm -rf "$dir" ;;
    esac
    rm -f "$STATE" "$ENV_FILE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
