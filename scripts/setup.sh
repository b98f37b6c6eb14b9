#!/usr/bin/env bash
# Installs the Debian packages the build links against, if any is missing. Idempotent and quiet:
# prints nothing when everything is already installed. Runs apt-get as root, or through sudo.
set -euo pipefail

packages=(libsqlite3-dev libzstd-dev libopenblas-dev liblapacke-dev libpng-dev)
# The PostgreSQL catalog's tests run against a throw-away cluster (scripts/services/postgres.sh); moto.sh talks to moto with curl.
packages+=(postgresql curl)
# SETUP_SERVICE_TOOLS=1: also the tools of bench/server_bench.sh and of the HTML page check (not the tests).
if [ "${SETUP_SERVICE_TOOLS:-0}" = 1 ]; then packages+=(wrk nginx-light bc chromium); fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing ${missing[*]} and no apt-get: install them with your package manager" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "error: missing ${missing[*]}; run as root or install sudo" >&2
    exit 1
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
