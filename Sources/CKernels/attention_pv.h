// P·V of the fused attention: register-blocked products of AR rows of probabilities with V (included by
// attention_body.h, which defines AR, APV, PV_WIDE and PV_ROWS per instruction set; see its header comment).

/// Columns c ..< c + NV·VW (+ 8 when `half`) of Σ_j p[r][j] v[j] over `keys` keys, for AR rows. `accumulate` = 0:
/// out[r][…] (columns < d) = f[r] · Σ (f = 1/Σp). `accumulate` = 1: out[r][…] = f[r] · out[r][…] + Σ, and 2:
/// out[r][…] = Σ, over whole vectors (out: the running sums of the key-blocked path, f = its rescaling
/// 2^(old max − new max)).
CK_TARGET static inline __attribute__((always_inline)) void CK_FN(attention_pv)(const float *p, int mp, const float *vp, int ldv,
                                                                                int keys, int c, int nv, int half, int d,
                                                                                const float *f, float *const *out, int rows,
                                                                                int accumulate, int nr) {
    V acc[AR][APV > PV_WIDE ? APV : PV_WIDE];
#if CK_ISA == 512
    __m256 hacc[AR];
    for (int r = 0; r < nr; r++)
        hacc[r] = half && accumulate == 1 ? _mm256_mul_ps(_mm256_loadu_ps(out[r] + c + nv * VW), _mm256_set1_ps(f[r])) : _mm256_setzero_ps();
#else
    (void)half;
#endif
    for (int r = 0; r < nr; r++)
        for (int t = 0; t < nv; t++) acc[r][t] = accumulate == 1 ? VMUL(VLOAD(out[r] + c + t * VW), VSET(f[r])) : VZERO();
    for (int j = 0; j < keys; j++) {
        const float *vr = vp + (size_t)j * ldv + c;
        V vv[APV > PV_WIDE ? APV : PV_WIDE];
        for (int t = 0; t < nv; t++) vv[t] = VLOAD(vr + t * VW);
#if CK_ISA == 512
        const __m256 hv = half ? _mm256_loadu_ps(vr + nv * VW) : _mm256_setzero_ps();
#endif
        for (int r = 0; r < nr; r++) {
            const float pj = p[(size_t)r * mp + j];
            const V pb = VSET(pj);
            for (int t = 0; t < nv; t++) acc[r][t] = VFMA(pb, vv[t], acc[r][t]);
#if CK_ISA == 512
            if (half) hacc[r] = _mm256_fmadd_ps(_mm256_set1_ps(pj), hv, hacc[r]);
#endif
        }
    }
    if (accumulate) {
        for (int r = 0; r < nr; r++) {
            for (int t = 0; t < nv; t++) VSTORE(out[r] + c + t * VW, acc[r][t]);
#if CK_ISA == 512
            if (half) _mm256_storeu_ps(out[r] + c + nv * VW, hacc[r]);
#endif
        }
        return;
    }
    for (int r = 0; r < rows; r++) {
        const V s = VSET(f[r]);
        for (int t = 0; t < nv; t++) {
            const int col = c + t * VW, n = d - col < VW ? d - col : VW;
            if (n == VW) VSTORE(out[r] + col, VMUL(acc[r][t], s));
            else if (n > 0) vstore_n(out[r] + col, VMUL(acc[r][t], s), n);
        }
#if CK_ISA == 512
        if (half) {
            const int col = c + nv * VW, n = d - col;
            const __m256 y = _mm256_mul_ps(hacc[r], _mm256_set1_ps(f[r]));
            if (n >= 8) _mm256_storeu_ps(out[r] + col, y);
            else _mm256_maskstore_ps(out[r] + col, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), y);
        }
#endif
    }
}

/// P·V for AR rows over all head columns (`whole` vectors and maybe a half one), passes of ≤ APV vectors.
CK_TARGET static inline void CK_FN(attention_pv_rows)(const float *p, int mp, const float *vp, int ldv, int keys, int whole,
                                                      int half, int d, const float *f, float *const *out, int rows,
                                                      int accumulate) {
#if PV_WIDE > APV
    // Exactly PV_WIDE vectors (AVX2, d = 40): one pass over all head columns, PV_ROWS rows at a time, instead of
    // passes of APV vectors for AR rows (2 + 2 + 1, the last one loading 6 probabilities per vector of V). Measured
    // ~5% faster for d = 40 and slower for d = 80, 160 (as 2 or 4 such passes), so only there.
    if (whole == PV_WIDE && !half) {
        for (int c = 0; c < whole * VW; c += PV_WIDE * VW)
            for (int r0 = 0; r0 < AR; r0 += PV_ROWS) {
                const float *pr = p + (size_t)r0 * mp;
                const int n = rows - r0 < 0 ? 0 : (rows - r0 < PV_ROWS ? rows - r0 : PV_ROWS);
                if (accumulate == 1) CK_FN(attention_pv)(pr, mp, vp, ldv, keys, c, PV_WIDE, 0, d, f + r0, out + r0, n, 1, PV_ROWS);
                else if (accumulate == 2) CK_FN(attention_pv)(pr, mp, vp, ldv, keys, c, PV_WIDE, 0, d, f + r0, out + r0, n, 2, PV_ROWS);
                else CK_FN(attention_pv)(pr, mp, vp, ldv, keys, c, PV_WIDE, 0, d, f + r0, out + r0, n, 0, PV_ROWS);
            }
        return;
    }
#endif
    int left = whole, halfLeft = half, c = 0;
    while (left > 0 || halfLeft) {
        const int take = left <= APV ? left : (left < 2 * APV ? (left + 1) / 2 : APV);
        const int h = take == left && take < APV ? halfLeft : 0;
#define CK_PV(nv, hf) \
    (accumulate == 1   ? CK_FN(attention_pv)(p, mp, vp, ldv, keys, c, nv, hf, d, f, out, rows, 1, AR) \
     : accumulate == 2 ? CK_FN(attention_pv)(p, mp, vp, ldv, keys, c, nv, hf, d, f, out, rows, 2, AR) \
                       : CK_FN(attention_pv)(p, mp, vp, ldv, keys, c, nv, hf, d, f, out, rows, 0, AR))
        switch (take * 2 + h) {  // constant vector counts, so the accumulators stay in registers
#if APV >= 4
        case 8: CK_PV(4, 0); break;
#endif
#if APV >= 3
        case 6: CK_PV(3, 0); break;
#endif
#if APV >= 2
        case 4: CK_PV(2, 0); break;
#endif
#if CK_ISA == 512
        case 7: CK_PV(3, 1); break;
        case 5: CK_PV(2, 1); break;
        case 3: CK_PV(1, 1); break;
        case 1: CK_PV(0, 1); break;
#endif
        default: CK_PV(1, 0); break;
        }
#undef CK_PV
        c += take * VW + 8 * h;
        left -= take;
        halfLeft -= h;
    }
}
