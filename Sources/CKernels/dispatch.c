// Run-time choice of the instruction set every kernel in this target uses; see CKernels.h.
#include "CKernels.h"
#include "paths.h"

#include <stdlib.h>
#include <string.h>

/// What the CPU runs, before the switch: AVX-512F (with FMA) > AVX2 + FMA + F16C > none.
static ck_instruction_set detected(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return CK_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) return CK_AVX2;
#endif
    return CK_GENERIC;
}

ck_instruction_set ck_supported_instruction_set(void) { return detected(); }

/// `CONCEPTS_KERNELS` lowers (never raises) the detected set: `avx2` forces the AVX2 + FMA paths on an
/// AVX-512 CPU, `generic` forces the portable/BLAS fall-backs; unset, empty or `auto` keeps what the CPU
/// supports. Read on every call (cheap), so tests can switch paths by `setenv`.
ck_instruction_set ck_instruction_set_in_use(void) { return ck_instruction_set_requested(getenv("CONCEPTS_KERNELS")); }

ck_instruction_set ck_instruction_set_requested(const char *requested) {
    const ck_instruction_set cpu = detected();
    if (requested == NULL || requested[0] == 0 || strcmp(requested, "auto") == 0) return cpu;
    ck_instruction_set wanted = cpu;
    if (strcmp(requested, "avx2") == 0) wanted = CK_AVX2;
    else if (strcmp(requested, "generic") == 0) wanted = CK_GENERIC;
    else if (strcmp(requested, "avx512") == 0) wanted = CK_AVX512;
    return wanted < cpu ? wanted : cpu;
}

ck_instruction_set ck_supported_subset(ck_instruction_set set) {
    const ck_instruction_set cpu = detected();
    return set < cpu ? set : cpu;
}

const char *ck_instruction_set_name(ck_instruction_set set) {
    switch (set) {
    case CK_AVX512: return "avx512";
    case CK_AVX2: return "avx2";
    default: return "generic";
    }
}
