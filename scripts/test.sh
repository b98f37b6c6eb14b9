#!/usr/bin/env bash
# The test command: installs missing system packages, builds everything, runs every test
# (Swift Testing and XCTest, both run by `swift test`). Exits non-zero on any failure.
# Optional: SWIFT_SCRATCH_PATH=DIR to build somewhere other than .build/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

./scripts/setup.sh
swift build ${SWIFT_BUILD_FLAGS[@]+"${SWIFT_BUILD_FLAGS[@]}"}
swift test ${SWIFT_BUILD_FLAGS[@]+"${SWIFT_BUILD_FLAGS[@]}"}
