#!/usr/bin/env bash
# A throw-away S3 for the RegistryS3 tests: moto_server (PyPI `moto[server]`, installed with pip
# when missing) on 127.0.0.1, on a free port, with its files in a temporary directory.
#
#   scripts/services/moto.sh start   # starts it (or reuses the running one), prints the env file
#   scripts/services/moto.sh env     # prints the env file of the running server
#   scripts/services/moto.sh stop    # stops it and removes its directory
#
# Signature checking is ON: INITIAL_NO_AUTH_ACTION_COUNT=3 lets exactly three unauthenticated
# calls through (IAM CreateUser, CreateAccessKey, PutUserPolicy allowing s3:*, made with curl on
# the IAM query API); every later request must be signed with that key, so a wrong secret gets 403.
#
# `start` writes, and prints the path of, an env file to source before `swift test`:
#   CONCEPTS_TEST_S3_ENDPOINT, CONCEPTS_TEST_S3_ACCESS_KEY, CONCEPTS_TEST_S3_SECRET_KEY
#     . "$(scripts/services/moto.sh start)" && swift test --filter RegistryS3Tests
# State lives in $CONCEPTS_SERVICES_DIR (default: .build/services under the package) so that
# worktrees do not share a server.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state="${CONCEPTS_SERVICES_DIR:-$root/.build/services}/moto"
env_file="$state/moto.env"

running() { [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

stop() {
    if running; then
        local pid; pid="$(cat "$state/pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    if [[ -f "$state/dir" ]]; then rm -rf "$(cat "$state/dir")"; fi
    rm -rf "$state"
}

# One IAM query-API call (unauthenticated: counted by INITIAL_NO_AUTH_ACTION_COUNT). The dummy
# Authorization header only tells moto's single-server dispatcher that this is an IAM request.
iam() {
    curl -sS --fail-with-body -X POST "$endpoint/" \
        -H "Authorization: AWS4-HMAC-SHA256 Credential=bootstrap/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0" \
        -H "Content-Type: application/x-www-form-urlencoded" \
        --data-urlencode "Version=2010-05-08" "$@"
}

xml_value() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" | head -n 1; }

start() {
    if running && [[ -f "$env_file" ]]; then echo "$env_file"; return; fi
    stop
    if ! command -v moto_server >/dev/null 2>&1; then
        echo "moto.sh: installing moto[server] with pip" >&2
        python3 -m pip install --quiet 'moto[server]' >&2
    fi
    mkdir -p "$state"
    local dir; dir="$(mktemp -d "${TMPDIR:-/tmp}/concepts-moto.XXXXXX")"
    echo "$dir" > "$state/dir"
    local port; port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    endpoint="http://127.0.0.1:$port"
    (cd "$dir" && INITIAL_NO_AUTH_ACTION_COUNT=3 exec moto_server -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1) &
    echo $! > "$state/pid"
    for _ in $(seq 1 100); do
        if curl -s -o /dev/null "$endpoint/moto-api/"; then break; fi
        if ! running; then echo "moto.sh: moto_server exited; log:" >&2; cat "$dir/moto.log" >&2; stop; exit 1; fi
        sleep 0.2
    done
    local user="concepts-test"
    iam --data-urlencode "Action=CreateUser" --data-urlencode "UserName=$user" >/dev/null
    local key; key="$(iam --data-urlencode "Action=CreateAccessKey" --data-urlencode "UserName=$user")"
    local access secret
    access="$(echo "$key" | xml_value AccessKeyId)"
    secret="$(echo "$key" | xml_value SecretAccessKey)"
    iam --data-urlencode "Action=PutUserPolicy" --data-urlencode "UserName=$user" --data-urlencode "PolicyName=s3-all" \
        --data-urlencode 'PolicyDocument={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}' >/dev/null
    if [[ -z "$access" || -z "$secret" ]]; then echo "moto.sh: no access key from IAM CreateAccessKey: $key" >&2; stop; exit 1; fi
    cat > "$env_file" <<ENV
export CONCEPTS_TEST_S3_ENDPOINT=$endpoint
export CONCEPTS_TEST_S3_ACCESS_KEY=$access
export CONCEPTS_TEST_S3_SECRET_KEY=$secret
ENV
    echo "$env_file"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) if running && [[ -f "$env_file" ]]; then echo "$env_file"; else echo "moto.sh: not running" >&2; exit 1; fi ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
