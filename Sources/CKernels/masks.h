#ifndef CKERNELS_MASKS_H
#define CKERNELS_MASKS_H

#include <immintrin.h>

/// The AVX-512 lane mask of the first `count` of 16 Float32 lanes (all for ≥ 16, none for ≤ 0).
static inline __mmask16 ck_tail_mask(int count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/// The AVX2 lane mask (all bits set per lane, for `vmaskmovps`) of the first `count` of 8 Float32 lanes.
__attribute__((target("avx2"))) static inline __m256i ck_tail_mask8(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#endif
