// The AVX2 + FMA path of the causal attention kernel (see CKernels.h, attention.c). Each 16-float step
// of the AVX-512 path is two 8-float halves here, the reductions add the halves in the order
// `_mm512_reduce_add_ps` does, and the exponential is the same polynomial with 2ⁿ applied in two exact
// steps, so both paths give the same bits.
#include "paths.h"
#include "masks.h"

#include <math.h>

#if defined(__x86_64__)

#include <immintrin.h>

#define ATTRS __attribute__((target("avx2,fma")))

/// e^x for x ≤ 0, as `exp_nonpositive` in attention.c; `scalef(y, n)` becomes y·2^⌊n/2⌋·2^(n−⌊n/2⌋): the
/// first product is exact (both factors normal, n ≥ −150), the second rounds once, as `scalef` does.
ATTRS static inline __m256 exp_nonpositive(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-104.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

/// The sum of the 16 lanes `lo | hi` in `_mm512_reduce_add_ps`'s order (halving: 16 → 8 → 4 → 2 → 1).
ATTRS static inline float reduce16(__m256 lo, __m256 hi) {
    const __m256 s8 = _mm256_add_ps(lo, hi);
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    const __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

/// Loads the first `count` (≤ 8) lanes, zeros elsewhere.
ATTRS static inline __m256 load(const float *p, int count) {
    if (count >= 8) return _mm256_loadu_ps(p);
    if (count <= 0) return _mm256_setzero_ps();
    return _mm256_maskload_ps(p, ck_tail_mask8(count));
}

ATTRS static inline void store(float *p, int count, __m256 v) {
    if (count >= 8) _mm256_storeu_ps(p, v);
    else if (count > 0) _mm256_maskstore_ps(p, ck_tail_mask8(count), v);
}

ATTRS static float dot(const float *a, const float *b, int count) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (int t = 0; t < count; t += 16) {
        lo = _mm256_fmadd_ps(load(a + t, count - t), load(b + t, count - t), lo);
        hi = _mm256_fmadd_ps(load(a + t + 8, count - t - 8), load(b + t + 8, count - t - 8), hi);
    }
    return reduce16(lo, hi);
}

ATTRS void ck_attention_head_avx2(const float *qkv, int n, int d, int dh, int h, float scale, float *out, int ldo, float *s) {
    const int stride = 3 * d;
    for (int i = 0; i < n; i++) {
        const float *q = qkv + (size_t)i * stride + h * dh;
        float m = -INFINITY;
        for (int j = 0; j <= i; j++) {
            s[j] = dot(q, qkv + (size_t)j * stride + d + h * dh, dh) * scale;
            if (s[j] > m) m = s[j];
        }
        __m256 total_lo = _mm256_setzero_ps(), total_hi = _mm256_setzero_ps();
        const __m256 mv = _mm256_set1_ps(m);
        for (int j = 0; j <= i; j += 16) {
            const int lo_count = i + 1 - j, hi_count = i + 1 - j - 8;
            const __m256i lo_mask = ck_tail_mask8(lo_count), hi_mask = ck_tail_mask8(hi_count);
            const __m256 e_lo = _mm256_and_ps(_mm256_castsi256_ps(lo_mask), exp_nonpositive(_mm256_sub_ps(load(s + j, lo_count), mv)));
            const __m256 e_hi = _mm256_and_ps(_mm256_castsi256_ps(hi_mask), exp_nonpositive(_mm256_sub_ps(load(s + j + 8, hi_count), mv)));
            store(s + j, lo_count, e_lo);
            store(s + j + 8, hi_count, e_hi);
            total_lo = _mm256_add_ps(total_lo, e_lo);
            total_hi = _mm256_add_ps(total_hi, e_hi);
        }
        const float inv = 1.0f / reduce16(total_lo, total_hi);
        // O_i = Σ_j p_j v_j, 8 output columns at a time (each lane: the same FMA chain as on AVX-512).
        for (int t = 0; t < dh; t += 8) {
            const int count = dh - t;
            __m256 o = _mm256_setzero_ps();
            for (int j = 0; j <= i; j++) {
                o = _mm256_fmadd_ps(_mm256_set1_ps(s[j]), load(qkv + (size_t)j * stride + 2 * d + h * dh + t, count), o);
            }
            store(out + (size_t)i * ldo + h * dh + t, count, _mm256_mul_ps(o, _mm256_set1_ps(inv)));
        }
    }
}

#endif
