// The diffusion kernels' bodies (declared in CKernels.h as ck_* and dispatched in diffusion.c), written once
// in the vocabulary of simd_isa.h and compiled per instruction set. Include after defining CK_ISA and CK_SUFFIX.
#include "simd_isa.h"

#include <stdlib.h>

/// e^x, x clamped to [−87, 88] (the Float32 normal range): x = n ln2 + r, |r| ≤ ln2/2, Cephes `expf` polynomial
/// for e^r (≤ 2 ulp), then ·2ⁿ.
CK_TARGET static inline V CK_FN(vexp)(V x) {
    x = VMIN(VMAX(x, VSET(-87.0f)), VSET(88.0f));
    const V n = VROUND(VMUL(x, VSET(1.44269504088896341f)));
    V r = VFNMA(n, VSET(0.693359375f), x);
    r = VFNMA(n, VSET(-2.12194440e-4f), r);
    V p = VSET(1.9875691500E-4f);
    p = VFMA(p, r, VSET(1.3981999507E-3f));
    p = VFMA(p, r, VSET(8.3334519073E-3f));
    p = VFMA(p, r, VSET(4.1665795894E-2f));
    p = VFMA(p, r, VSET(1.6666665459E-1f));
    p = VFMA(p, r, VSET(5.0000001201E-1f));
    const V y = VADD(VFMA(VMUL(p, r), r, r), VSET(1.0f));
    return VSCALE2(y, n);
}

/// SiLU x·σ(x) = x / (1 + e^−x).
CK_TARGET static inline V CK_FN(vsilu)(V x) {
    return VDIV(x, VADD(VSET(1.0f), CK_FN(vexp)(VSUB(VZERO(), x))));
}

/// GELU (exact form) ½x(1 + erf(x/√2)); erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5·10⁻⁷), the
/// polynomial PyTorch's vectorised CPU `erf` uses.
CK_TARGET static inline V CK_FN(vgelu)(V x) {
    const V z = VMUL(x, VSET(0.70710678118654752f));
    const V a = VABS(z);
    const V t = VDIV(VSET(1.0f), VFMA(VSET(0.3275911f), a, VSET(1.0f)));
    V p = VSET(1.061405429f);
    p = VFMA(p, t, VSET(-1.453152027f));
    p = VFMA(p, t, VSET(1.421413741f));
    p = VFMA(p, t, VSET(-0.284496736f));
    p = VFMA(p, t, VSET(0.254829592f));
    p = VMUL(p, t);
    const V e = CK_FN(vexp)(VSUB(VZERO(), VMUL(a, a)));
    const V erf_abs = VFNMA(p, e, VSET(1.0f));
    const V erf = VCOPYSIGN(erf_abs, z);
    return VMUL(VMUL(VSET(0.5f), x), VADD(VSET(1.0f), erf));
}

/// Σ x over `n` values: Float32 lanes over blocks of 1024, blocks summed in Float64.
CK_TARGET static double CK_FN(sum)(const float *x, size_t n) {
    double total = 0;
    for (size_t start = 0; start < n; start += 1024) {
        const size_t end = start + 1024 < n ? start + 1024 : n;
        V acc = VZERO();
        size_t i = start;
        for (; i + VW <= end; i += VW) acc = VADD(acc, VLOAD(x + i));
        if (i < end) acc = VADD(acc, vload_n(x + i, (int)(end - i)));
        total += VHSUM(acc);
    }
    return total;
}

/// Σ (x − mean)² over `n` values, the same way.
CK_TARGET static double CK_FN(sum_squares)(const float *x, size_t n, float mean) {
    double total = 0;
    const V m = VSET(mean);
    for (size_t start = 0; start < n; start += 1024) {
        const size_t end = start + 1024 < n ? start + 1024 : n;
        V acc = VZERO();
        size_t i = start;
        for (; i + VW <= end; i += VW) { const V d = VSUB(VLOAD(x + i), m); acc = VFMA(d, d, acc); }
        if (i < end) { // lanes past `end` must add nothing: square the differences stored for the tail only
            float tail[16] = {0};
            vstore_n(tail, VSUB(vload_n(x + i, (int)(end - i)), m), (int)(end - i));
            const V d = VLOAD(tail);
            acc = VFMA(d, d, acc);
        }
        total += VHSUM(acc);
    }
    return total;
}

/// y = a·x + b over `n` values (in place allowed), then SiLU when `silu`.
CK_TARGET static void CK_FN(affine)(const float *x, float *y, size_t n, float a, float b, int silu) {
    const V va = VSET(a), vb = VSET(b);
    size_t i = 0;
    for (; i + VW <= n; i += VW) {
        V v = VFMA(VLOAD(x + i), va, vb);
        VSTORE(y + i, silu ? CK_FN(vsilu)(v) : v);
    }
    if (i < n) {
        V v = VFMA(vload_n(x + i, (int)(n - i)), va, vb);
        vstore_n(y + i, silu ? CK_FN(vsilu)(v) : v, (int)(n - i));
    }
}

CK_TARGET void CK_FN(ck_group_norm)(const float *x, float *y, int channels, int spatial, int groups, float eps,
                                    const float *gamma, const float *beta, int silu) {
    const int per = channels / groups;
    const size_t count = (size_t)per * spatial;
    for (int g = 0; g < groups; g++) {
        const float *xg = x + (size_t)g * count;
        const float mean = (float)(CK_FN(sum)(xg, count) / (double)count);
        const double var = CK_FN(sum_squares)(xg, count, mean) / (double)count;
        const float rstd = (float)(1.0 / sqrt(var + (double)eps));
        for (int c = g * per; c < (g + 1) * per; c++) {
            const float a = rstd * gamma[c];
            const float b = beta[c] - mean * a;
            CK_FN(affine)(x + (size_t)c * spatial, y + (size_t)c * spatial, (size_t)spatial, a, b, silu);
        }
    }
}

CK_TARGET void CK_FN(ck_layer_norm)(const float *x, float *y, int rows, int cols, float eps, const float *gamma,
                                    const float *beta) {
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float *yr = y + (size_t)r * cols;
        const float mean = (float)(CK_FN(sum)(xr, (size_t)cols) / cols);
        const float rstd = (float)(1.0 / sqrt(CK_FN(sum_squares)(xr, (size_t)cols, mean) / cols + (double)eps));
        const V vm = VSET(mean), vr = VSET(rstd);
        int i = 0;
        for (; i + VW <= cols; i += VW)
            VSTORE(yr + i, VFMA(VMUL(VSUB(VLOAD(xr + i), vm), vr), VLOAD(gamma + i), VLOAD(beta + i)));
        if (i < cols) {
            const int n = cols - i;
            vstore_n(yr + i, VFMA(VMUL(VSUB(vload_n(xr + i, n), vm), vr), vload_n(gamma + i, n), vload_n(beta + i, n)), n);
        }
    }
}

CK_TARGET void CK_FN(ck_silu)(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) VSTORE(y + i, CK_FN(vsilu)(VLOAD(x + i)));
    if (i < n) vstore_n(y + i, CK_FN(vsilu)(vload_n(x + i, (int)(n - i))), (int)(n - i));
}

CK_TARGET void CK_FN(ck_geglu)(const float *h, int rows, int inner, float *out) {
    for (int r = 0; r < rows; r++) {
        const float *a = h + (size_t)r * 2 * inner, *g = a + inner;
        float *o = out + (size_t)r * inner;
        int i = 0;
        for (; i + VW <= inner; i += VW) VSTORE(o + i, VMUL(VLOAD(a + i), CK_FN(vgelu)(VLOAD(g + i))));
        if (i < inner) {
            const int n = inner - i;
            vstore_n(o + i, VMUL(vload_n(a + i, n), CK_FN(vgelu)(vload_n(g + i, n))), n);
        }
    }
}

CK_TARGET void CK_FN(ck_add)(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) VSTORE(y + i, VADD(VLOAD(y + i), VLOAD(x + i)));
    if (i < n) vstore_n(y + i, VADD(vload_n(y + i, (int)(n - i)), vload_n(x + i, (int)(n - i))), (int)(n - i));
}

CK_TARGET void CK_FN(ck_softmax_rows)(float *s, int rows, int cols, size_t ld) {
    for (int r = 0; r < rows; r++) {
        float *row = s + (size_t)r * ld;
        V vm = VSET(-INFINITY);
        int i = 0;
        for (; i + VW <= cols; i += VW) vm = VMAX(vm, VLOAD(row + i));
        float m = VHMAX(vm);
        for (; i < cols; i++) m = row[i] > m ? row[i] : m;
        const V mv = VSET(m);
        V total = VZERO();
        i = 0;
        for (; i + VW <= cols; i += VW) {
            const V e = CK_FN(vexp)(VSUB(VLOAD(row + i), mv));
            VSTORE(row + i, e);
            total = VADD(total, e);
        }
        float tail = 0;
        if (i < cols) {
            const int n = cols - i;
            float stored[16];
            VSTORE(stored, CK_FN(vexp)(VSUB(vload_n(row + i, n), mv)));
            for (int t = 0; t < n; t++) { row[i + t] = stored[t]; tail += stored[t]; }
        }
        const float inv = 1.0f / (VHSUM(total) + tail);
        const V vinv = VSET(inv);
        i = 0;
        for (; i + VW <= cols; i += VW) VSTORE(row + i, VMUL(VLOAD(row + i), vinv));
        for (; i < cols; i++) row[i] *= inv;
    }
}

/// IEEE fp16 bits → Float32, exactly.
static inline float CK_FN(half_bits_to_float)(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) bits = sign | 0x7F800000u | (mantissa << 13);
    else if (exponent != 0) bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    else if (mantissa == 0) bits = sign;
    else { // subnormal: value = mantissa · 2⁻²⁴, exact in Float32
        float v = (float)mantissa * 5.9604644775390625e-8f;
        memcpy(&bits, &v, 4);
        bits |= sign;
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

CK_TARGET void CK_FN(ck_half_to_float)(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
#if CK_ISA == 512
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
#elif CK_ISA == 2
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
#endif
    for (; i < n; i++) dst[i] = CK_FN(half_bits_to_float)(src[i]);
}

CK_TARGET void CK_FN(ck_pad_image)(const float *x, int channels, int h, int w, float *out) {
    const int pw = w + 2;
    for (int c = 0; c < channels; c++) {
        float *o = out + (size_t)c * (h + 2) * pw;
        const float *s = x + (size_t)c * h * w;
        memset(o, 0, sizeof(float) * pw);
        for (int y = 0; y < h; y++) {
            float *row = o + (size_t)(y + 1) * pw;
            row[0] = 0;
            memcpy(row + 1, s + (size_t)y * w, sizeof(float) * w);
            row[w + 1] = 0;
        }
        memset(o + (size_t)(h + 1) * pw, 0, sizeof(float) * pw);
    }
}

CK_TARGET void CK_FN(ck_upsample_pad_image)(const float *x, int channels, int h, int w, float *out) {
    const int ow = 2 * w, pw = ow + 2, oh = 2 * h;
    for (int c = 0; c < channels; c++) {
        float *o = out + (size_t)c * (oh + 2) * pw;
        const float *s = x + (size_t)c * h * w;
        memset(o, 0, sizeof(float) * pw);
        for (int y = 0; y < h; y++) {
            float *row = o + (size_t)(2 * y + 1) * pw;
            row[0] = 0;
            const float *src = s + (size_t)y * w;
            for (int xx = 0; xx < w; xx++) { row[1 + 2 * xx] = src[xx]; row[2 + 2 * xx] = src[xx]; }
            row[ow + 1] = 0;
            memcpy(row + pw, row, sizeof(float) * pw);
        }
        memset(o + (size_t)(oh + 1) * pw, 0, sizeof(float) * pw);
    }
}

CK_TARGET void CK_FN(ck_im2col3x3_stride2)(const float *padded, int channels, int h, int w, float *cols) {
    const int pw = w + 2, oh = (h - 1) / 2 + 1, ow = (w - 1) / 2 + 1;
    for (int c = 0; c < channels; c++) {
        const float *p = padded + (size_t)c * (h + 2) * pw;
        for (int k = 0; k < 9; k++) {
            const int ky = k / 3, kx = k % 3;
            float *o = cols + ((size_t)c * 9 + k) * oh * ow;
            for (int y = 0; y < oh; y++)
                for (int xx = 0; xx < ow; xx++) o[(size_t)y * ow + xx] = p[(size_t)(2 * y + ky) * pw + 2 * xx + kx];
        }
    }
}

CK_TARGET void CK_FN(ck_taps_from_kernel3x3)(const float *w, int cout, int cin, float *taps) {
    for (int o = 0; o < cout; o++) {
        const float *src = w + (size_t)o * cin * 9;
        for (int k = 0; k < 9; k++) {
            float *dst = taps + ((size_t)k * cout + o) * cin;
            for (int i = 0; i < cin; i++) dst[i] = src[(size_t)i * 9 + k];
        }
    }
}

// MARK: Winograd F(2×2, 3×3) (Lavin & Gray 2016): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per 2×2 output tile, 16 products
// per tile instead of 36. The element-wise products summed over input channels are 16 GEMMs (one per position).

/// G g Gᵀ of one 3×3 kernel `g` (9 values, row-major), the 16 results at u[k·stride] (one lane of V per kernel).
#define CK_WINOGRAD_WEIGHT(V_T, ADD, SUB, MUL, HALF, g, STORE)                                                       \
    do {                                                                                                            \
        V_T t[4][3]; /* G g: 4 × 3 */                                                                               \
        for (int c = 0; c < 3; c++) {                                                                               \
            const V_T g0 = g[c], g1 = g[3 + c], g2 = g[6 + c];                                                      \
            t[0][c] = g0;                                                                                           \
            t[1][c] = MUL(HALF, ADD(ADD(g0, g1), g2));                                                              \
            t[2][c] = MUL(HALF, ADD(SUB(g0, g1), g2));                                                              \
            t[3][c] = g2;                                                                                           \
        }                                                                                                           \
        for (int r = 0; r < 4; r++) { /* (G g) Gᵀ: 4 × 4 */                                                         \
            const V_T a = t[r][0], b = t[r][1], c = t[r][2];                                                        \
            STORE(r * 4 + 0, a);                                                                                    \
            STORE(r * 4 + 1, MUL(HALF, ADD(ADD(a, b), c)));                                                         \
            STORE(r * 4 + 2, MUL(HALF, ADD(SUB(a, b), c)));                                                         \
            STORE(r * 4 + 3, c);                                                                                    \
        }                                                                                                           \
    } while (0)

#define CK_SADD(a, b) ((a) + (b))
#define CK_SSUB(a, b) ((a) - (b))
#define CK_SMUL(a, b) ((a) * (b))

/// Lane l of the result: p[l·9] (nine interleaved 3×3 kernels read one tap at a time).
CK_TARGET static inline V CK_FN(gather9)(const float *p) {
#if CK_ISA == 512
    const __m512i index = _mm512_setr_epi32(0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99, 108, 117, 126, 135);
    return _mm512_i32gather_ps(index, p, 4);
#elif CK_ISA == 2
    return _mm256_i32gather_ps(p, _mm256_setr_epi32(0, 9, 18, 27, 36, 45, 54, 63), 4);
#else
    return *p;
#endif
}

CK_TARGET void CK_FN(ck_winograd_weights)(const float *w, size_t pairs, float *u, size_t stride) {
    size_t p = 0;
    const V half = VSET(0.5f);
    for (; p + VW <= pairs; p += VW) {  // VW kernels at a time: lane l is kernel p + l
        V g[9];
        for (int e = 0; e < 9; e++) g[e] = CK_FN(gather9)(w + p * 9 + e);
#define CK_STORE_V(k, value) VSTORE(u + (size_t)(k) * stride + p, value)
        CK_WINOGRAD_WEIGHT(V, VADD, VSUB, VMUL, half, g, CK_STORE_V);
#undef CK_STORE_V
    }
    for (; p < pairs; p++) {
        const float *g = w + p * 9;
#define CK_STORE_S(k, value) u[(size_t)(k) * stride + p] = (value)
        CK_WINOGRAD_WEIGHT(float, CK_SADD, CK_SSUB, CK_SMUL, 0.5f, g, CK_STORE_S);
#undef CK_STORE_S
    }
}

/// Lane l of the result: the fp16 value p[l·9], widened exactly (reads 2 bytes past the last lane's value).
CK_TARGET static inline V CK_FN(gather9_half)(const uint16_t *p) {
#if CK_ISA == 512
    const __m512i index = _mm512_setr_epi32(0, 18, 36, 54, 72, 90, 108, 126, 144, 162, 180, 198, 216, 234, 252, 270);
    const __m512i words = _mm512_i32gather_epi32(index, (const void *)p, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words));
#elif CK_ISA == 2
    const __m256i index = _mm256_setr_epi32(0, 18, 36, 54, 72, 90, 108, 126);
    const __m256i words = _mm256_and_si256(_mm256_i32gather_epi32((const int *)(const void *)p, index, 1), _mm256_set1_epi32(0xFFFF));
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
    return _mm256_cvtph_ps(packed);
#else
    return CK_FN(half_bits_to_float)(*p);
#endif
}

CK_TARGET void CK_FN(ck_winograd_weights_f16)(const uint16_t *w, size_t pairs, float *u, size_t stride) {
    size_t p = 0;
    const V half = VSET(0.5f);
    for (; p + VW < pairs; p += VW) {  // strictly below: the gathers read 2 bytes past their values
        V g[9];
        for (int e = 0; e < 9; e++) g[e] = CK_FN(gather9_half)(w + p * 9 + e);
#define CK_STORE_V(k, value) VSTORE(u + (size_t)(k) * stride + p, value)
        CK_WINOGRAD_WEIGHT(V, VADD, VSUB, VMUL, half, g, CK_STORE_V);
#undef CK_STORE_V
    }
    for (; p < pairs; p++) {
        float g[9];
        for (int e = 0; e < 9; e++) g[e] = CK_FN(half_bits_to_float)(w[p * 9 + e]);
#define CK_STORE_S(k, value) u[(size_t)(k) * stride + p] = (value)
        CK_WINOGRAD_WEIGHT(float, CK_SADD, CK_SSUB, CK_SMUL, 0.5f, g, CK_STORE_S);
#undef CK_STORE_S
    }
}

CK_TARGET void CK_FN(ck_winograd_input)(const float *padded, int channels, int h, int w, float *v, size_t ldc, size_t stride) {
    const int pw = w + 2, th = h / 2, tw = w / 2, tiles = th * tw;
    for (int c = 0; c < channels; c++) {
        const float *p = padded + (size_t)c * (h + 2) * pw;
        float *out = v + (size_t)c * ldc;
        for (int ty = 0; ty < th; ty++) {
            for (int tx = 0; tx < tw; tx++) {
                const float *d = p + (size_t)(2 * ty) * pw + 2 * tx;
                float t[4][4];  // Bᵀ d
                for (int col = 0; col < 4; col++) {
                    const float d0 = d[col], d1 = d[pw + col], d2 = d[2 * pw + col], d3 = d[3 * pw + col];
                    t[0][col] = d0 - d2;
                    t[1][col] = d1 + d2;
                    t[2][col] = d2 - d1;
                    t[3][col] = d1 - d3;
                }
                const int tile = ty * tw + tx;
                for (int r = 0; r < 4; r++) {  // (Bᵀ d) B
                    out[(size_t)(r * 4 + 0) * stride + tile] = t[r][0] - t[r][2];
                    out[(size_t)(r * 4 + 1) * stride + tile] = t[r][1] + t[r][2];
                    out[(size_t)(r * 4 + 2) * stride + tile] = t[r][2] - t[r][1];
                    out[(size_t)(r * 4 + 3) * stride + tile] = t[r][1] - t[r][3];
                }
            }
        }
    }
}

CK_TARGET void CK_FN(ck_winograd_output)(const float *m, int channels, int h, int w, const float *bias, float *y, size_t ldc,
                                         size_t stride) {
    const int th = h / 2, tw = w / 2, tiles = th * tw;
    for (int o = 0; o < channels; o++) {
        const float *src = m + (size_t)o * ldc;
        float *out = y + (size_t)o * h * w;
        const float b = bias[o];
        for (int ty = 0; ty < th; ty++) {
            for (int tx = 0; tx < tw; tx++) {
                const int tile = ty * tw + tx;
                float s[16];
                for (int k = 0; k < 16; k++) s[k] = src[(size_t)k * stride + tile];
                float t[2][4];  // Aᵀ s
                for (int col = 0; col < 4; col++) {
                    t[0][col] = s[col] + s[4 + col] + s[8 + col];
                    t[1][col] = s[4 + col] - s[8 + col] - s[12 + col];
                }
                float *row0 = out + (size_t)(2 * ty) * w + 2 * tx, *row1 = row0 + w;
                row0[0] = b + t[0][0] + t[0][1] + t[0][2];
                row0[1] = b + t[0][1] - t[0][2] - t[0][3];
                row1[0] = b + t[1][0] + t[1][1] + t[1][2];
                row1[1] = b + t[1][1] - t[1][2] - t[1][3];
            }
        }
    }
}

// MARK: Fused attention (softmax(scale · Q Kᵀ) V per head): attention_body.h.
#include "attention_body.h"
