# Sourced by the scripts in this folder: go to the package root and make sure `swift` is on PATH
# (the CI image and this machine's toolchain live in /opt/swift).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "error: swift not found (install Swift 6.3, or put its usr/bin on PATH)" >&2
    exit 1
fi
# SWIFT_SCRATCH_PATH=DIR selects a private build directory (several builds on one machine).
SWIFT_BUILD_FLAGS=()
if [ -n "${SWIFT_SCRATCH_PATH:-}" ]; then
    SWIFT_BUILD_FLAGS+=(--scratch-path "$SWIFT_SCRATCH_PATH")
fi
