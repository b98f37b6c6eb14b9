#ifndef CKERNELS_MASKS_H
#define CKERNELS_MASKS_H

#include <immintrin.h>

/// The AVX-512 lane mask of the first `count` of 16 Float32 lanes (all for ≥ 16, none for ≤ 0).
static inline __mmask16 ck_tail_mask(int count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

#endif
