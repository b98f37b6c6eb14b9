#!/usr/bin/env bash
# The test command: installs missing system packages, builds everything, starts the servers the
# backend tests need (a throw-away PostgreSQL cluster and moto's S3, both on loopback, stopped on
# exit), runs every test (Swift Testing and XCTest, both run by `swift test`). Exits non-zero on any
# failure. Optional: SWIFT_SCRATCH_PATH=DIR to build somewhere other than .build/;
# CONCEPTS_TEST_SERVICES=0 to run without the servers (the PostgreSQL/S3 tests then say they are skipped).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

./scripts/setup.sh
swift build ${SWIFT_BUILD_FLAGS[@]+"${SWIFT_BUILD_FLAGS[@]}"}

if [ "${CONCEPTS_TEST_SERVICES:-1}" = 1 ]; then
    stop_services() {
        scripts/services/moto.sh stop >/dev/null 2>&1 || true
        scripts/services/postgres.sh stop >/dev/null 2>&1 || true
    }
    trap stop_services EXIT
    scripts/services/postgres.sh start
    source "${SERVICES_DIR:-$PWD/.build/services}/postgres.env"
    source "$(scripts/services/moto.sh start)"
    # moto 5 signs query values with '/' unencoded (S3Configuration.queryKeepsSlash).
    export CONCEPTS_S3_COMPAT=moto
fi
swift test ${SWIFT_BUILD_FLAGS[@]+"${SWIFT_BUILD_FLAGS[@]}"}
