#!/usr/bin/env bash
# Benchmark of `concepts serve` (issue 11 §7), loopback, bounded in time: wrk (Debian) at 16
# connections for 10 s per case; nginx (Debian) serving the same file from disk as the ceiling for (b).
#
#   swift build -c release --product concepts && bench/server_bench.sh
#
# Cases: (a) a cached manifest GET, (b) a ~6 MB file download (the LoRA export of a concept stored
# at rank 60), (c) a composition POST served from the cache, (d) uncached composition POSTs
# ("cache": false: each request solved and exported again; also at 1 connection), and the CLI's
# whole-process `compose --no-cache` of the same pair for comparison. Prints one JSON object; the store lives in
# $BENCH_DIR (default /tmp/concepts-serve-bench) and is reused when present.
# Inputs: the SD1-sized bench data (`python3 bench/generate_sd1_bench.py` → bench/out/, or $SD1_BENCH_DIR).
# Needs: wrk, nginx (apt-get install wrk nginx-light), curl, python3 (to format the JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f scripts/env.sh ] && source scripts/env.sh
DATA=${SD1_BENCH_DIR:-bench/out}
DIR=${BENCH_DIR:-/tmp/concepts-serve-bench}
BIN=${CONCEPTS:-.build/release/concepts}
PORT=${PORT:-18750}
NGINX_PORT=${NGINX_PORT:-18751}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
CONCEPTS=(cat dog backpack barn car chair guitar sunglasses teapot teddybear)
mkdir -p "$DIR"
STORE="$DIR/store"

if [ ! -f "$STORE/catalog.sqlite" ]; then
    "$BIN" --store "$STORE" base add sd1 "$DATA/sd1-base" --json > /dev/null
    for c in "${CONCEPTS[@]}"; do
        "$BIN" --store "$STORE" register "$c" --base sd1 --category "$c" "$DATA/sd1-concepts/$c" --json > /dev/null
    done
    "$BIN" --store "$STORE" regset create bench200 --base sd1 --from-file "$DATA/regset.txt" --json > /dev/null
fi
# (b)'s file: the LoRA export of cat stored at rank 60 (32 weights × 60 × (h + 768) fp16 ≈ 5.9 MB).
if ! "$BIN" --store "$STORE" show cat-r60 > /dev/null 2>&1; then
    "$BIN" --store "$STORE" register cat-r60 --base sd1 --category cat --compress rank:60 "$DATA/sd1-concepts/cat" --json > /dev/null
fi
"$BIN" --store "$STORE" token revoke bench > /dev/null 2>&1 || true
TOKEN=$("$BIN" --store "$STORE" token create bench --scope read --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
AUTH="Authorization: Bearer $TOKEN"

"$BIN" --store "$STORE" serve --port "$PORT" --log-level warning 2> "$DIR/serve.log" &
SERVER=$!
cleanup() {
    kill -TERM "$SERVER" 2> /dev/null || true
    [ -f "$DIR/nginx.pid" ] && kill -TERM "$(cat "$DIR/nginx.pid")" 2> /dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT"

# Warm: the manifests and the cached composition exist before timing.
curl -sf -H "$AUTH" "$URL/v1/concepts/cat/files?format=lora" > /dev/null
curl -sf -H "$AUTH" "$URL/v1/concepts/cat-r60/files?format=lora" > "$DIR/manifest.json"
curl -sf -H "$AUTH" -X POST -d '{"concepts":["cat","dog"],"regset":"bench200","format":"lora"}' "$URL/v1/compositions" > /dev/null
read -r SHA SIZE < <(python3 -c '
import json, sys
files = json.load(open(sys.argv[1]))["files"]
f = max(files, key=lambda f: f["size"])
print(f["sha256"], f["size"])' "$DIR/manifest.json")
curl -sf -H "$AUTH" "$URL/v1/files/$SHA" -o "$DIR/nginx-root.file"
mkdir -p "$DIR/www"
mv "$DIR/nginx-root.file" "$DIR/www/$SHA"

cat > "$DIR/nginx.conf" <<CONF
worker_processes 2;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path $DIR/nginx-tmp;
    proxy_temp_path $DIR/nginx-tmp;
    fastcgi_temp_path $DIR/nginx-tmp;
    uwsgi_temp_path $DIR/nginx-tmp;
    scgi_temp_path $DIR/nginx-tmp;
    server { listen 127.0.0.1:$NGINX_PORT; root $DIR/www; }
}
CONF
mkdir -p "$DIR/nginx-tmp"
nginx -c "$DIR/nginx.conf" -p "$DIR"

cat > "$DIR/post-cached.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"concepts":["cat","dog"],"regset":"bench200","format":"lora"}'
wrk.headers["Content-Type"] = "application/json"
LUA
# The same pair, solved and exported again by every request ("cache": false, as `compose --no-cache`).
cat > "$DIR/post-uncached.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"concepts":["cat","dog"],"regset":"bench200","format":"lora","cache":false}'
wrk.headers["Content-Type"] = "application/json"
LUA

run() { # name, extra wrk args…
    local name=$1; shift
    local threads=2
    [ "$CONNECTIONS" -lt 2 ] && threads=1
    wrk -t"$threads" -c"$CONNECTIONS" -d"$DURATION" --timeout 30s --latency "$@" > "$DIR/$name.txt" 2>&1 || true
}
run a_manifest -H "$AUTH" "$URL/v1/concepts/cat/files?format=lora"
run b_file -H "$AUTH" "$URL/v1/files/$SHA"
run b_nginx "http://127.0.0.1:$NGINX_PORT/$SHA"
run c_compose_cached -H "$AUTH" -s "$DIR/post-cached.lua" "$URL/v1/compositions"
run d_compose_uncached -H "$AUTH" -s "$DIR/post-uncached.lua" "$URL/v1/compositions"
CONNECTIONS=1 run d1_compose_uncached_1conn -H "$AUTH" -s "$DIR/post-uncached.lua" "$URL/v1/compositions"

# The CLI's whole-process `compose cat dog --no-cache` (median of 3).
cli=()
for _ in 1 2 3; do
    start=$(date +%s.%N)
    "$BIN" --store "$STORE" compose cat dog --regset bench200 --format lora --no-cache --out "$DIR/cli-out" --json > /dev/null
    cli+=("$(echo "$(date +%s.%N) - $start" | bc)")
done
kill -0 "$SERVER" # the server survived every case

python3 - "$DIR" "$SIZE" "${cli[@]}" <<'PY'
import json, re, statistics, sys
directory, size, cli = sys.argv[1], int(sys.argv[2]), [float(x) for x in sys.argv[3:]]
def ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[unit]
out = {}
for name in ["a_manifest", "b_file", "b_nginx", "c_compose_cached", "d_compose_uncached", "d1_compose_uncached_1conn"]:
    text = open(f"{directory}/{name}.txt").read()
    figures = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}(?:\.000)?%\s+(\S+)", text, re.M)
        figures[f"p{p}_ms"] = round(ms(m.group(1)), 3) if m else None
    m = re.search(r"timeout (\d+)", text)
    figures["timeouts"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    figures["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"(\d+) requests in", text)
    figures["requests"] = int(m.group(1)) if m else 0
    out[name] = figures
out["file_bytes"] = size
out["b_file"]["MB_per_s"] = round(out["b_file"]["requests_per_s"] * size / 1e6, 1)
out["b_nginx"]["MB_per_s"] = round(out["b_nginx"]["requests_per_s"] * size / 1e6, 1)
out["b_fraction_of_nginx"] = round(out["b_file"]["requests_per_s"] / out["b_nginx"]["requests_per_s"], 3)
out["cli_compose_no_cache_s"] = {"runs": [round(x, 3) for x in cli], "median": round(statistics.median(cli), 3)}
print(json.dumps(out, indent=1))
PY
