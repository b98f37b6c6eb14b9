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

# OpenBLAS picks its kernels from the CPU model; 0.3.21 (Debian 12) does not know recent Xeons
# (e.g. family 6 model 207) and falls back to "Prescott" SSE3 kernels, ~4× slower for sgemm/dgemm.
# `concepts` and `concepts-bench` fix that themselves at start-up (Tensors' BLASRuntime: they set
# OPENBLAS_CORETYPE and re-execute once), so nobody needs this variable to run them. It is still set
# here, harmlessly (the same choice), for the processes that do not go through that start-up: the
# `swift test` bundle and any Python the scripts run. Unless the caller chose, name the kernel family
# from the CPU flags (read once, when OpenBLAS loads).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
    flags="$(grep -m1 '^flags' /proc/cpuinfo || true)"
    has() { [[ " $flags " == *" $1 "* ]]; }
    if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
        export OPENBLAS_CORETYPE=SkylakeX
    elif has avx2 && has fma; then
        export OPENBLAS_CORETYPE=Haswell
    fi
    unset -f has
    unset flags
fi
