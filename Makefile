# ConceptRegistry — common tasks. Swift from PATH, else /opt/swift/usr/bin.
#   make build      set up system packages, debug build
#   make test       the test command (./scripts/test.sh): setup, swift build, swift test
#   make demo       the main flow on a temporary store (./scripts/demo.sh)
#   make bench      release build of concepts-bench, runs it, prints JSON (SUITES="sgemm …" to pick suites)
#   make fixtures   re-runs the Python generators in fixtures/ (needs torch 2.15, numpy, safetensors 0.8,
#                   transformers 5, diffusers 0.42; OPEN_CLIP=/path/to/open_clip also regenerates fixtures/clip,
#                   see fixtures/generate_clip.py). Tests and CI never run Python.
# SCRATCH=DIR builds in DIR instead of .build (e.g. SCRATCH=.build-me when several people build at once).
# `concepts`/`concepts-bench` pick OpenBLAS's fast kernels themselves; the scripts also set OPENBLAS_CORETYPE
# (for the test bundle): see scripts/env.sh. CONCEPTS_KERNELS=avx2|generic picks our kernels' path (README).

SHELL := /bin/bash
export PATH := $(if $(shell command -v swift),$(PATH),/opt/swift/usr/bin:$(PATH))
SCRATCH ?=
SUITES ?=
OPEN_CLIP ?=
PYTHON ?= python3
SCRATCH_FLAG := $(if $(SCRATCH),--scratch-path $(SCRATCH),)
export SWIFT_SCRATCH_PATH := $(or $(SCRATCH),$(SWIFT_SCRATCH_PATH))

.PHONY: build test demo bench fixtures setup

setup:
	./scripts/setup.sh

build: setup
	swift build $(SCRATCH_FLAG)

test:
	./scripts/test.sh

demo:
	./scripts/demo.sh

bench: setup
	swift build -c release $(SCRATCH_FLAG) --product concepts-bench
	swift build -c release $(SCRATCH_FLAG) --product concepts
	source scripts/env.sh && "$$(swift build -c release $(SCRATCH_FLAG) --show-bin-path)/concepts-bench" $(SUITES)

# Generators run from the package root; generate_clip.py needs the open_clip folder (for the BPE file),
# and generate_sd_tiny.py reads fixtures/clip/merges.txt, so clip goes first.
fixtures:
	@set -e; \
	if [ -n "$(OPEN_CLIP)" ]; then echo "$$ $(PYTHON) fixtures/generate_clip.py $(OPEN_CLIP)"; $(PYTHON) fixtures/generate_clip.py "$(OPEN_CLIP)"; \
	else echo "fixtures: skipping generate_clip.py (set OPEN_CLIP=/path/to/open_clip to regenerate fixtures/clip)"; fi; \
	for script in fixtures/generate_*.py; do \
		[ "$$script" = fixtures/generate_clip.py ] && continue; \
		echo "$$ $(PYTHON) $$script"; $(PYTHON) "$$script"; \
	done
