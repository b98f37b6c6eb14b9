#!/usr/bin/env bash
# Benchmark of the two store backends (issue 12 §8), loopback, bounded: the same SD 1.x-sized work on
# the embedded default (SQLite catalog + blob folder) and on PostgreSQL + S3 (a throw-away cluster and
# moto, started here unless CONCEPTS_TEST_POSTGRES_URL / CONCEPTS_TEST_S3_* are set):
#   - `base add` of the SD1 bench base, `register` of 4 concepts (median), `list` (median of 10),
#     `compose cat dog --no-cache` (median of 3), a cached compose, `verify`;
#   - 8 writers registering one name at once (8 `concepts register` processes as two hosts with their
#     own store directories, 4 each, sharing the PostgreSQL catalog and the bucket): versions 1…8, verify;
#   - 2 `concepts serve` instances on the one PostgreSQL catalog under wrk (issue 11's case (a), the
#     cached manifest GET, 8 connections each, both at once) and the same against one local server.
#
#   swift build -c release --product concepts && bench/backends_bench.sh
#
# Prints one JSON object. Inputs: bench/out (python3 bench/generate_sd1_bench.py) or $SD1_BENCH_DIR.
# Needs: wrk, curl, python3 (JSON formatting), postgresql and moto (scripts/services/).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f scripts/env.sh ] && source scripts/env.sh
DATA=${SD1_BENCH_DIR:-bench/out}
BIN=$(realpath "${CONCEPTS:-.build/release/concepts}")
DIR=$(mktemp -d /tmp/concepts-backends-bench.XXXXXX)
DURATION=${DURATION:-10s}
RESULTS="$DIR/results.txt"
: > "$RESULTS"
cleanup() {
    jobs -p | xargs -r kill 2>/dev/null || true
    if [ "${STARTED_SERVICES:-0}" = 1 ]; then
        SERVICES_DIR="$DIR/services" CONCEPTS_SERVICES_DIR="$DIR/services" scripts/services/moto.sh stop >/dev/null 2>&1 || true
        SERVICES_DIR="$DIR/services" scripts/services/postgres.sh stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT
if [ -z "${CONCEPTS_TEST_POSTGRES_URL:-}" ] || [ -z "${CONCEPTS_TEST_S3_ENDPOINT:-}" ]; then
    STARTED_SERVICES=1
    export SERVICES_DIR="$DIR/services" CONCEPTS_SERVICES_DIR="$DIR/services"
    scripts/services/postgres.sh start 2>/dev/null
    source "$DIR/services/postgres.env"
    source "$(scripts/services/moto.sh start)"
fi
export AWS_ACCESS_KEY_ID=$CONCEPTS_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$CONCEPTS_TEST_S3_SECRET_KEY
export AWS_ENDPOINT_URL=$CONCEPTS_TEST_S3_ENDPOINT AWS_REGION=${AWS_REGION:-us-east-1} CONCEPTS_S3_COMPAT=moto
PG=$CONCEPTS_TEST_POSTGRES_URL

record() { echo "$1 $2" >> "$RESULTS"; }
# Wall seconds of one command (output discarded; a failure stops the bench).
timed() {
    local start end
    start=$(date +%s.%N)
    "$@" > "$DIR/last.out" 2> "$DIR/last.err" || { echo "failed: $*" >&2; cat "$DIR/last.err" >&2; exit 1; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

run_backend() { # name, then the root options of the backend
    local name=$1; shift
    local store=("$@")
    record "${name}.base_add_s" "$(timed "$BIN" "${store[@]}" base add sd1 "$DATA/sd1-base")"
    local c times=()
    for c in cat dog backpack barn; do
        times+=("$(timed "$BIN" "${store[@]}" register "$c" --base sd1 --category "$c" "$DATA/sd1-concepts/$c")")
    done
    record "${name}.register_median_s" "$(printf '%s\n' "${times[@]}" | median)"
    times=()
    for _ in $(seq 10); do times+=("$(timed "$BIN" "${store[@]}" list --json)"); done
    record "${name}.list_median_s" "$(printf '%s\n' "${times[@]}" | median)"
    "$BIN" "${store[@]}" regset create bench200 --base sd1 --from-file "$DATA/regset.txt" > /dev/null
    times=()
    for _ in 1 2 3; do times+=("$(timed "$BIN" "${store[@]}" compose cat dog --regset bench200 --no-cache --out "$DIR/out-$name")"); done
    record "${name}.compose2_uncached_median_s" "$(printf '%s\n' "${times[@]}" | median)"
    record "${name}.compose2_cached_s" "$(timed "$BIN" "${store[@]}" compose cat dog --regset bench200 --out "$DIR/out-$name")"
    record "${name}.verify_s" "$(timed "$BIN" "${store[@]}" verify)"
}

echo "bench: local (SQLite + folder)…" >&2
run_backend local --store "$DIR/local"
echo "bench: PostgreSQL + S3 (moto)…" >&2
REMOTE=(--catalog "$PG" --blobs s3://bench/store)
run_backend remote --store "$DIR/host-a" "${REMOTE[@]}"

echo "bench: 8 concurrent writers of one name (two hosts)…" >&2
start=$(date +%s.%N)
pids=()
for i in $(seq 8); do
    host=$([ "$i" -le 4 ] && echo host-a || echo host-b)
    "$BIN" --store "$DIR/$host" "${REMOTE[@]}" register shared --base sd1 --category cat --description "writer $i" \
        "$DATA/sd1-concepts/cat" --json > "$DIR/writer-$i.json" 2> "$DIR/writer-$i.err" &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
end=$(date +%s.%N)
record concurrent.writers 8
record concurrent.failed "$failed"
record concurrent.seconds "$(echo "$end - $start" | bc -l)"
versions=$("$BIN" --store "$DIR/host-b" "${REMOTE[@]}" versions shared --json | python3 -c 'import json,sys; print(",".join(str(v["version"]) for v in json.load(sys.stdin)["versions"]))')
record concurrent.versions "\"$versions\""
verify_problems=$("$BIN" --store "$DIR/host-b" "${REMOTE[@]}" verify --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["problems"]))' || true)
record concurrent.verify_problems "$verify_problems"

echo "bench: two servers on one PostgreSQL catalog under wrk…" >&2
serve() { # port, then root options
    local port=$1; shift
    "$BIN" "$@" serve --port "$port" --public-read --log-level warning 2>> "$DIR/serve.log" &
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && return 0; sleep 0.1; done
    echo "server on $port did not start" >&2; cat "$DIR/serve.log" >&2; exit 1
}
wrk_case() { # name, url
    wrk -t1 -c8 -d"$DURATION" --latency "$2" > "$DIR/wrk-$1.txt"
}
wrk_figures() { # name → requests/s and p99 ms
    python3 - "$DIR/wrk-$1.txt" "$1" <<'PY' >> "$RESULTS"
import re, sys
text = open(sys.argv[1]).read(); name = sys.argv[2]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(label):
    m = re.search(label + r"\s+([\d.]+)(us|ms|s)", text)
    v = float(m.group(1)); return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
print(f"serve.{name}.requests_per_s {rps}"); print(f"serve.{name}.p50_ms {ms('50%')}"); print(f"serve.{name}.p99_ms {ms('99%')}")
PY
}
serve 18761 --store "$DIR/host-a" "${REMOTE[@]}"
serve 18762 --store "$DIR/host-b" "${REMOTE[@]}"
serve 18763 --store "$DIR/local"
for p in 18761 18762 18763; do curl -sf "http://127.0.0.1:$p/v1/concepts/cat/files?format=lora" > /dev/null; done
wrk_case postgres_a "http://127.0.0.1:18761/v1/concepts/cat/files?format=lora" &
wrk_a=$!
wrk_case postgres_b "http://127.0.0.1:18762/v1/concepts/cat/files?format=lora" &
wrk_b=$!
wait "$wrk_a" "$wrk_b"
wrk_figures postgres_a; wrk_figures postgres_b
wrk_case local_one "http://127.0.0.1:18763/v1/concepts/cat/files?format=lora"
wrk_figures local_one

python3 - "$RESULTS" <<'PY'
import json, sys
out = {}
for line in open(sys.argv[1]):
    key, value = line.split(maxsplit=1)
    node = out
    *path, leaf = key.split(".")
    for p in path: node = node.setdefault(p, {})
    value = value.strip()
    node[leaf] = json.loads(value) if value.startswith('"') else float(value)
print(json.dumps(out, indent=2, sort_keys=True))
PY
