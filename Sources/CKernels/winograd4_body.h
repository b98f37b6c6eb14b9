// Winograd F(4×4, 3×3) (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks", §4–5), compiled
// per instruction set like diffusion_body.h (included right after it by diffusion_avx512.c / _avx2.c / _generic.c,
// whose `gather9`, `gather9_half` and `half_bits_to_float` it uses); dispatched in diffusion.c, declared in CKernels.h.
//
// Per 4×4 output tile: Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, d the 6×6 input tile (stride 4), g the 3×3 kernel: 36
// products instead of 144 (4× fewer than direct, against 2.25× for F(2×2, 3×3)). Interpolation points 0, ±1, ±2, ∞:
//
//        ⎡ 4   0  −5   0   1   0 ⎤         ⎡  1/4     0     0  ⎤         ⎡ 1   1   1   1   1   0 ⎤
//        ⎢ 0  −4  −4   1   1   0 ⎥         ⎢ −1/6  −1/6  −1/6  ⎥   Aᵀ =  ⎢ 0   1  −1   2  −2   0 ⎥
//   Bᵀ = ⎢ 0   4  −4  −1   1   0 ⎥    G =  ⎢ −1/6   1/6  −1/6  ⎥         ⎢ 0   1   1   4   4   0 ⎥
//        ⎢ 0  −2  −1   2   1   0 ⎥         ⎢ 1/24  1/12   1/6  ⎥         ⎣ 0   1  −1   8  −8   1 ⎦
//        ⎢ 0   2  −1  −2   1   0 ⎥         ⎢ 1/24 −1/12   1/6  ⎥
//        ⎣ 0   4   0  −5   0   1 ⎦         ⎣  0     0     1    ⎦
//
// (the matrices of Lavin & Gray and of NNPACK / ncnn: the 1/4, 1/6, 1/24 of G keep Bᵀ and Aᵀ integral, so the
// data transforms are exact up to Float32 rounding of sums of at most six terms). Position k = 6·r + c of a tile
// is row r (the kernel's y direction), column c. The transforms are vectorised across tiles of a tile row (VW at a
// time): the input transform first combines the six image rows of a tile row along x (contiguous vectors), then
// reads the six columns of VW tiles at stride 4 (`load_stride4`); the output transform writes its four columns
// back interleaved (`store_interleave4`).

/// Lane l of the result: p[4·l] (reads p[0 ..< 4·VW]).
CK_TARGET static inline V CK_FN(load_stride4)(const float *p) {
#if CK_ISA == 512
    const __m512i index = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    const __m512 low = _mm512_permutex2var_ps(_mm512_loadu_ps(p), index, _mm512_loadu_ps(p + 16));
    const __m512 high = _mm512_permutex2var_ps(_mm512_loadu_ps(p + 32), index, _mm512_loadu_ps(p + 48));
    return _mm512_shuffle_f32x4(low, high, 0x44);
#elif CK_ISA == 2
    const __m256 ab = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), _MM_SHUFFLE(0, 0, 0, 0));
    const __m256 cd = _mm256_shuffle_ps(_mm256_loadu_ps(p + 16), _mm256_loadu_ps(p + 24), _MM_SHUFFLE(0, 0, 0, 0));
    const __m256 e = _mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(2, 0, 2, 0));  // p0 p8 p16 p24 | p4 p12 p20 p28
    return _mm256_permutevar8x32_ps(e, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
#else
    return *p;
#endif
}

/// p[4·l + j] = (a, b, c, d)[j] lane l: 4·VW contiguous values, the four columns of VW tiles interleaved.
CK_TARGET static inline void CK_FN(store_interleave4)(float *p, V a, V b, V c, V d) {
#if CK_ISA == 512
    const __m512d t0 = _mm512_castps_pd(_mm512_unpacklo_ps(a, b)), t1 = _mm512_castps_pd(_mm512_unpackhi_ps(a, b));
    const __m512d t2 = _mm512_castps_pd(_mm512_unpacklo_ps(c, d)), t3 = _mm512_castps_pd(_mm512_unpackhi_ps(c, d));
    // 128-bit block g of u_j holds tile 4g + j.
    const __m512 u0 = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2)), u1 = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    const __m512 u2 = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3)), u3 = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    const __m512 v0 = _mm512_shuffle_f32x4(u0, u1, 0x44), v1 = _mm512_shuffle_f32x4(u2, u3, 0x44);  // tiles 0 4 1 5, 2 6 3 7
    const __m512 v2 = _mm512_shuffle_f32x4(u0, u1, 0xEE), v3 = _mm512_shuffle_f32x4(u2, u3, 0xEE);  // 8 12 9 13, 10 14 11 15
    _mm512_storeu_ps(p, _mm512_shuffle_f32x4(v0, v1, 0x88));
    _mm512_storeu_ps(p + 16, _mm512_shuffle_f32x4(v0, v1, 0xDD));
    _mm512_storeu_ps(p + 32, _mm512_shuffle_f32x4(v2, v3, 0x88));
    _mm512_storeu_ps(p + 48, _mm512_shuffle_f32x4(v2, v3, 0xDD));
#elif CK_ISA == 2
    const __m256d t0 = _mm256_castps_pd(_mm256_unpacklo_ps(a, b)), t1 = _mm256_castps_pd(_mm256_unpackhi_ps(a, b));
    const __m256d t2 = _mm256_castps_pd(_mm256_unpacklo_ps(c, d)), t3 = _mm256_castps_pd(_mm256_unpackhi_ps(c, d));
    const __m256 u0 = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2)), u1 = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
    const __m256 u2 = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3)), u3 = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
    _mm256_storeu_ps(p, _mm256_permute2f128_ps(u0, u1, 0x20));
    _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
    _mm256_storeu_ps(p + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
    _mm256_storeu_ps(p + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
#else
    p[0] = a, p[1] = b, p[2] = c, p[3] = d;
#endif
}

/// t = Bᵀ d for six values d (one column or row of a tile).
CK_TARGET static inline void CK_FN(wino4_bt)(const V d[6], V t[6]) {
    const V four = VSET(4.0f), five = VSET(5.0f), two = VSET(2.0f);
    t[0] = VFMA(four, d[0], VFNMA(five, d[2], d[4]));  // 4d0 − 5d2 + d4
    const V s12 = VADD(d[1], d[2]), s34 = VADD(d[3], d[4]);
    t[1] = VFNMA(four, s12, s34);                      // −4(d1 + d2) + d3 + d4
    const V d12 = VSUB(d[1], d[2]), d43 = VSUB(d[4], d[3]);
    t[2] = VFMA(four, d12, d43);                       // 4(d1 − d2) − d3 + d4
    const V d31 = VSUB(d[3], d[1]), d42 = VSUB(d[4], d[2]);
    t[3] = VFMA(two, d31, d42);                        // −2d1 − d2 + 2d3 + d4
    t[4] = VFNMA(two, d31, d42);                       // 2d1 − d2 − 2d3 + d4
    t[5] = VFMA(four, d[1], VFNMA(five, d[3], d[5]));  // 4d1 − 5d3 + d5
}

/// y = Aᵀ m for six values m.
CK_TARGET static inline void CK_FN(wino4_at)(const V m[6], V y[4]) {
    const V s12 = VADD(m[1], m[2]), s34 = VADD(m[3], m[4]), d12 = VSUB(m[1], m[2]), d34 = VSUB(m[3], m[4]);
    y[0] = VADD(VADD(m[0], s12), s34);
    y[1] = VFMA(VSET(2.0f), d34, d12);
    y[2] = VFMA(VSET(4.0f), s34, s12);
    y[3] = VADD(VFMA(VSET(8.0f), d34, d12), m[5]);
}

/// u = G g for three values g.
CK_TARGET static inline void CK_FN(wino4_g)(const V g[3], V u[6]) {
    u[0] = VMUL(VSET(0.25f), g[0]);
    const V s02 = VADD(g[0], g[2]);
    u[1] = VMUL(VSET(-1.0f / 6.0f), VADD(s02, g[1]));
    u[2] = VMUL(VSET(-1.0f / 6.0f), VSUB(s02, g[1]));
    const V q = VFMA(VSET(1.0f / 24.0f), g[0], VMUL(VSET(1.0f / 6.0f), g[2]));  // g0/24 + g2/6
    u[3] = VFMA(VSET(1.0f / 12.0f), g[1], q);
    u[4] = VFNMA(VSET(1.0f / 12.0f), g[1], q);
    u[5] = g[2];
}

/// U = G g Gᵀ of the VW kernels g (g[e] lane l: tap e of kernel l) into u[k·stride + l], the first `count` lanes.
CK_TARGET static inline void CK_FN(wino4_weight)(const V g[9], float *u, size_t stride, int count) {
    V t[6][3];  // G g: 6 × 3
    for (int c = 0; c < 3; c++) {
        const V column[3] = {g[c], g[3 + c], g[6 + c]};
        V r[6];
        CK_FN(wino4_g)(column, r);
        for (int i = 0; i < 6; i++) t[i][c] = r[i];
    }
    for (int i = 0; i < 6; i++) {  // (G g) Gᵀ: 6 × 6
        V r[6];
        CK_FN(wino4_g)(t[i], r);
        for (int j = 0; j < 6; j++) {
            float *target = u + (size_t)(6 * i + j) * stride;
            if (count == VW) VSTORE(target, r[j]);
            else vstore_n(target, r[j], count);
        }
    }
}

CK_TARGET void CK_FN(ck_winograd4_weights)(const float *w, size_t pairs, float *u, size_t stride) {
    size_t p = 0;
    V g[9];
    for (; p + VW <= pairs; p += VW) {  // lane l: kernel p + l
        for (int e = 0; e < 9; e++) g[e] = CK_FN(gather9)(w + p * 9 + e);
        CK_FN(wino4_weight)(g, u + p, stride, VW);
    }
    if (p < pairs) {  // the last < VW kernels, zero-padded
        float last[9 * VW];
        memset(last, 0, sizeof last);
        memcpy(last, w + p * 9, sizeof(float) * 9 * (pairs - p));
        for (int e = 0; e < 9; e++) g[e] = CK_FN(gather9)(last + e);
        CK_FN(wino4_weight)(g, u + p, stride, (int)(pairs - p));
    }
}

CK_TARGET void CK_FN(ck_winograd4_weights_f16)(const uint16_t *w, size_t pairs, float *u, size_t stride) {
    size_t p = 0;
    V g[9];
    for (; p + VW < pairs; p += VW) {  // strictly below: the gathers read 2 bytes past their values
        for (int e = 0; e < 9; e++) g[e] = CK_FN(gather9_half)(w + p * 9 + e);
        CK_FN(wino4_weight)(g, u + p, stride, VW);
    }
    if (p < pairs) {  // the last ≤ VW kernels, widened exactly and zero-padded
        float last[9 * VW];
        memset(last, 0, sizeof last);
        for (size_t e = 0; e < 9 * (pairs - p); e++) last[e] = CK_FN(half_bits_to_float)(w[p * 9 + e]);
        for (int e = 0; e < 9; e++) g[e] = CK_FN(gather9)(last + e);
        CK_FN(wino4_weight)(g, u + p, stride, (int)(pairs - p));
    }
}

CK_TARGET void CK_FN(ck_winograd4_input)(const float *padded, int channels, int h, int w, float *v, size_t ldc,
                                         size_t stride) {
    const int pw = w + 2, th = h / 4, tw = w / 4, groups = (tw + VW - 1) / VW;
    const size_t plane = (size_t)(h + 2) * pw;
    // Bᵀ d of one tile row: six rows of `row` values, the columns past the image zero (the last group's lanes
    // beyond the tiles read them and are not stored).
    const int row = 4 * VW * groups + 8;
    float *t = (float *)malloc(sizeof(float) * 6 * (size_t)row);
    if (t == NULL) return;
    for (int r = 0; r < 6; r++) memset(t + (size_t)r * row + pw, 0, sizeof(float) * (size_t)(row - pw));
    for (int c = 0; c < channels; c++) {
        const float *image = padded + (size_t)c * plane;
        float *out = v + (size_t)c * ldc;
        for (int ty = 0; ty < th; ty++) {
            const float *d = image + (size_t)(4 * ty) * pw;
            for (int x = 0; x < pw; x += VW) {  // the six rows combined along x
                const int n = pw - x < VW ? pw - x : VW;
                V rows[6], combined[6];
                for (int i = 0; i < 6; i++) rows[i] = n == VW ? VLOAD(d + (size_t)i * pw + x) : vload_n(d + (size_t)i * pw + x, n);
                CK_FN(wino4_bt)(rows, combined);
                for (int r = 0; r < 6; r++) {
                    if (n == VW) VSTORE(t + (size_t)r * row + x, combined[r]);
                    else vstore_n(t + (size_t)r * row + x, combined[r], n);
                }
            }
            for (int g = 0; g < groups; g++) {  // VW tiles: the six columns of each (stride 4), combined
                const int n = tw - g * VW < VW ? tw - g * VW : VW;
                float *target = out + (size_t)ty * tw + (size_t)g * VW;
                for (int r = 0; r < 6; r++) {
                    const float *source = t + (size_t)r * row + 4 * VW * g;
                    V columns[6], combined[6];
                    for (int j = 0; j < 6; j++) columns[j] = CK_FN(load_stride4)(source + j);
                    CK_FN(wino4_bt)(columns, combined);
                    for (int k = 0; k < 6; k++) {
                        if (n == VW) VSTORE(target + (size_t)(6 * r + k) * stride, combined[k]);
                        else vstore_n(target + (size_t)(6 * r + k) * stride, combined[k], n);
                    }
                }
            }
        }
    }
    free(t);
}

CK_TARGET void CK_FN(ck_winograd4_output)(const float *m, int channels, int h, int w, const float *bias,
                                          const float *residual, float *y, size_t ldc, size_t stride) {
    const int th = h / 4, tw = w / 4, groups = (tw + VW - 1) / VW;
    for (int o = 0; o < channels; o++) {
        const float *src = m + (size_t)o * ldc;
        float *out = y + (size_t)o * h * w;
        const float *res = residual ? residual + (size_t)o * h * w : NULL;
        const V b = VSET(bias[o]);
        for (int ty = 0; ty < th; ty++) {
            for (int g = 0; g < groups; g++) {
                const int n = tw - g * VW < VW ? tw - g * VW : VW;
                const float *source = src + (size_t)ty * tw + (size_t)g * VW;
                V t[4][6];  // Aᵀ M: 4 × 6
                for (int c = 0; c < 6; c++) {
                    V column[6], combined[4];
                    for (int r = 0; r < 6; r++) {
                        const float *s = source + (size_t)(6 * r + c) * stride;
                        column[r] = n == VW ? VLOAD(s) : vload_n(s, n);
                    }
                    CK_FN(wino4_at)(column, combined);
                    for (int i = 0; i < 4; i++) t[i][c] = combined[i];
                }
                for (int i = 0; i < 4; i++) {  // (Aᵀ M) A + bias (+ residual), row 4·ty + i of VW tiles
                    V r[4];
                    CK_FN(wino4_at)(t[i], r);
                    const size_t offset = (size_t)(4 * ty + i) * w + (size_t)(4 * VW * g);
                    float *target = out + offset;
                    if (n == VW) {
                        CK_FN(store_interleave4)(target, VADD(r[0], b), VADD(r[1], b), VADD(r[2], b), VADD(r[3], b));
                        if (res)
                            for (int q = 0; q < 4; q++)
                                VSTORE(target + q * VW, VADD(VLOAD(target + q * VW), VLOAD(res + offset + q * VW)));
                    } else {
                        float row[4 * VW];
                        CK_FN(store_interleave4)(row, VADD(r[0], b), VADD(r[1], b), VADD(r[2], b), VADD(r[3], b));
                        for (int e = 0; e < 4 * n; e++) target[e] = row[e] + (res ? res[offset + e] : 0.0f);
                    }
                }
            }
        }
    }
}
