// Causal self-attention of one sequence, one head at a time; see CKernels.h. The AVX-512 path and the
// portable one here, the AVX2 path in attention_avx2.c.
#include "paths.h"
#include "masks.h"

#include <immintrin.h>
#include <math.h>

#if defined(__x86_64__)

#define ATTRS __attribute__((target("avx512f,fma")))

/// e^x for x ≤ 0 (softmax arguments): x = n ln2 + r, |r| ≤ ln2/2, Cephes `expf` polynomial for e^r,
/// then ·2ⁿ by `scalef` (which flushes to 0 below the range, as e^x does in Float32).
ATTRS static inline __m512 exp_nonpositive(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(y, n);
}


ATTRS static float dot(const float *a, const float *b, int count) {
    __m512 acc = _mm512_setzero_ps();
    for (int t = 0; t < count; t += 16) {
        const __mmask16 m = ck_tail_mask(count - t);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + t), _mm512_maskz_loadu_ps(m, b + t), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

ATTRS static void head(const float *qkv, int n, int d, int dh, int h, float scale, float *out, int ldo, float *s) {
    const int stride = 3 * d;
    for (int i = 0; i < n; i++) {
        const float *q = qkv + (size_t)i * stride + h * dh;
        float m = -INFINITY;
        for (int j = 0; j <= i; j++) {
            s[j] = dot(q, qkv + (size_t)j * stride + d + h * dh, dh) * scale;
            if (s[j] > m) m = s[j];
        }
        __m512 total = _mm512_setzero_ps();
        const __m512 mv = _mm512_set1_ps(m);
        for (int j = 0; j <= i; j += 16) {
            const __mmask16 mask = ck_tail_mask(i + 1 - j);
            const __m512 e = _mm512_maskz_mov_ps(mask, exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, s + j), mv)));
            _mm512_mask_storeu_ps(s + j, mask, e);
            total = _mm512_add_ps(total, e);
        }
        const float inv = 1.0f / _mm512_reduce_add_ps(total);
        // O_i = Σ_j p_j v_j, 16 output columns at a time.
        for (int t = 0; t < dh; t += 16) {
            const __mmask16 mask = ck_tail_mask(dh - t);
            __m512 o = _mm512_setzero_ps();
            for (int j = 0; j <= i; j++) {
                o = _mm512_fmadd_ps(_mm512_set1_ps(s[j]), _mm512_maskz_loadu_ps(mask, qkv + (size_t)j * stride + 2 * d + h * dh + t), o);
            }
            _mm512_mask_storeu_ps(out + (size_t)i * ldo + h * dh + t, mask, _mm512_mul_ps(o, _mm512_set1_ps(inv)));
        }
    }
}

#endif

/// The portable path: the same steps in plain C with `expf`.
static void head_portable(const float *qkv, int n, int d, int dh, int h, float scale, float *out, int ldo, float *s) {
    const int stride = 3 * d;
    for (int i = 0; i < n; i++) {
        const float *q = qkv + (size_t)i * stride + h * dh;
        float m = -INFINITY;
        for (int j = 0; j <= i; j++) {
            const float *key = qkv + (size_t)j * stride + d + h * dh;
            float dot = 0;
            for (int t = 0; t < dh; t++) dot = fmaf(q[t], key[t], dot);
            s[j] = dot * scale;
            if (s[j] > m) m = s[j];
        }
        float total = 0;
        for (int j = 0; j <= i; j++) { s[j] = expf(s[j] - m); total += s[j]; }
        const float inv = 1.0f / total;
        for (int t = 0; t < dh; t++) {
            float o = 0;
            for (int j = 0; j <= i; j++) o = fmaf(s[j], qkv[(size_t)j * stride + 2 * d + h * dh + t], o);
            out[(size_t)i * ldo + h * dh + t] = o * inv;
        }
    }
}

void ck_causal_attention(ck_instruction_set set, const float *qkv, int n, int d, int dh, int head_begin, int head_end,
                         float scale, float *out, int ldo, float *scores) {
    set = ck_supported_subset(set);
    for (int h = head_begin; h < head_end; h++) {
#if defined(__x86_64__)
        if (set == CK_AVX512) { head(qkv, n, d, dh, h, scale, out, ldo, scores); continue; }
        if (set == CK_AVX2) { ck_attention_head_avx2(qkv, n, d, dh, h, scale, out, ldo, scores); continue; }
#endif
        head_portable(qkv, n, d, dh, h, scale, out, ldo, scores);
    }
}
