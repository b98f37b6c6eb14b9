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

# Base models: a tiny SD1-layout diffusers pipeline, the same again (nothing new is stored),
# and its CompVis single-file form (fp16).
step concepts base add tiny "$FIXTURES/sd-tiny/base"
step concepts base add tiny-again "$FIXTURES/sd-tiny/base" --json
step concepts base add tiny-compvis "$FIXTURES/sd-tiny/base-compvis.safetensors"
step concepts base list

# Concepts from every format met in the wild; a second version; tags; search.
step concepts register cat --base tiny --category cat --description "grey tabby cat" --tag stable "$FIXTURES/sd-tiny/concepts/cat-diffusers"
step concepts register cat --base tiny --category cat --compress lossless "$FIXTURES/sd-tiny/concepts/cat-diffusers-bin"
step concepts register cat-adobe --base tiny --category cat --compress energy:0.6 "$FIXTURES/sd-tiny/concepts/cat-adobe.bin"
step concepts register cat-adobe-compressed --base tiny --category cat "$FIXTURES/sd-tiny/concepts/cat-adobe-compressed.bin"
step concepts register cat-compvis --base tiny --category cat --token "<new1>" "$FIXTURES/sd-tiny/concepts/cat-compvis.ckpt"
step concepts register dog --base tiny --category dog --description "a corgi" "$FIXTURES/sd-tiny/concepts/dog-diffusers"
step concepts register pair --base tiny --category cat --category dog --kind object "$FIXTURES/sd-tiny/concepts/pair-diffusers"
step concepts list
step concepts list --search corgi
step concepts versions cat
step concepts show cat@stable
step concepts tag cat@2 stable

# Export a concept in every format.
for format in diffusers lora compvis adobe; do
    step concepts export cat --format "$format" --out "$WORK/export/cat-$format"
done

# Compose two concepts that were both trained as <new1> (their tokens are renamed apart), in every
# format; the second compose of the same set is a cache lookup.
for format in lora diffusers compvis adobe; do
    step concepts compose cat dog --format "$format" --out "$WORK/compose/cat-dog-$format"
done
step concepts compose cat pair --format lora --out "$WORK/compose/cat-pair" --json
# Too many target rows for the tiny text encoder (d = 32): refused with a clear error.
printf "\n$ concepts compose cat dog pair --out \$WORK/compose/three   (expected to fail)\n"
! concepts compose cat dog pair --out "$WORK/compose/three"
step concepts verify

# Generate: an image from the composition of cat and dog, with the tokens compose named (<new1>, <new1-dog>);
# PNG with its parameters chunk. (DEMO_IMAGE=PATH also copies it there, e.g. docs/images/demo-generate.png.)
if [ -f "$FIXTURES/sd-tiny/base/vae/config.json" ]; then
    mkdir -p "$WORK/generate"
    step concepts generate "a <new1> cat sitting next to a <new1-dog> dog" --base tiny --concepts cat dog \
        --steps 20 --seed 42 --size 128x128 --out "$WORK/generate/cat-dog.png"
    step concepts generate "a <new1> cat sitting next to a <new1-dog> dog" --base tiny --concepts cat dog \
        --scheduler ddpm --steps 10 --guidance 6 --seed 42 --size 64x64 --count 2 --out "$WORK/generate/cat-dog-ddpm.png" --json
    if [ -n "${DEMO_IMAGE:-}" ]; then cp "$WORK/generate/cat-dog.png" "$DEMO_IMAGE"; fi
else
    echo "demo: fixtures/sd-tiny/base has no vae/: skipping generate" >&2
fi
echo
echo "demo: made these files:"
(cd "$WORK" && find export compose generate -type f 2>/dev/null | sort)
