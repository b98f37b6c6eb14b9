#!/usr/bin/env bash
# The main flow, end to end, on a store created in a temporary directory (removed on exit;
# KEEP=1 keeps it). Sets up, builds `concepts` in release mode, then runs each step below,
# printing the command before its output. Stops at the first failing step.
#
# To extend: append `step concepts …` lines at the end (see "Steps"). `$WORK` is the scratch
# directory, `$FIXTURES` the committed fixtures, and `$CONCEPTS_STORE` the store.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

./scripts/setup.sh
echo "demo: building concepts (release)…" >&2
swift build -c release --product concepts ${SWIFT_BUILD_FLAGS[@]+"${SWIFT_BUILD_FLAGS[@]}"} >&2
BIN="$(swift build -c release ${SWIFT_BUILD_FLAGS[@]+"${SWIFT_BUILD_FLAGS[@]}"} --show-bin-path)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/concepts-demo.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then echo "demo: keeping $WORK" >&2; else trap 'rm -rf "$WORK"' EXIT; fi
export CONCEPTS_STORE="$WORK/store"
FIXTURES="$PWD/fixtures"

concepts() { "$BIN/concepts" "$@"; }

# step CMD ARGS…: prints `$ CMD ARGS…` (paths shortened, arguments quoted as a shell needs), then runs it.
step() {
    local shown="" arg
    for arg in "$@"; do
        arg="${arg//$WORK/\$WORK}"
        arg="${arg//$FIXTURES/fixtures}"
        if [[ "$arg" =~ ^[][A-Za-z0-9_./:@%+=,\$-]+$ ]]; then shown+="$arg "; else shown+="'${arg//\'/\'\\\'\'}' "; fi
    done
    shown="${shown% }"
    printf '\n$ %s\n' "$shown"
    local status=0
    "$@" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "demo: step failed with exit status $status: $shown" >&2
        exit "$status"
    fi
}

echo "demo: store at \$WORK/store (WORK=$WORK)"

# MARK: Steps — append new ones below.

# Files: read safetensors and torch checkpoints, convert a torch checkpoint to safetensors.
step concepts inspect "$FIXTURES/safetensors/all_dtypes.safetensors"
step concepts inspect "$FIXTURES/sd-tiny/concepts/cat-compvis.ckpt"
step concepts inspect --json "$FIXTURES/sd-tiny/concepts/cat-adobe.bin"
step concepts convert "$FIXTURES/sd-tiny/concepts/cat-adobe.bin" "$WORK/cat-adobe.safetensors"
step concepts inspect "$WORK/cat-adobe.safetensors"
