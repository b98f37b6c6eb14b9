// Fused attention of one head (included at the end of diffusion_body.h, so compiled once per instruction set):
//
//     out_i = Σ_j p_ij v_j / Σ_j p_ij,   p_ij = 2^(t_ij − max_j t_ij),   t_ij = (scale·log₂e · q_i) · k_j,
//
// which is softmax_j(scale · q_i·k_j) v_j (Vaswani et al. 2017, eq. 1: e^x = 2^(x·log₂e), and subtracting the row's
// maximum changes nothing but keeps 2^… ≤ 1). AR query rows at a time: their scores (AR × m floats, ≤ 96 KB for
// 4096 keys) are formed in register blocks of AR rows × AKV vectors of keys (AVX-512 6 × 4·16, AVX2 6 × 2·8), the
// row maxima taken from the registers as they are stored; exponentiated in place (≈ 10 vector operations per VW
// scores, beside 2·d multiply-adds per score for Q·Kᵀ and P·V); then multiplied by V (attention_pv.h) in register
// blocks of AR rows × ≤ APV vectors of head columns (AVX-512 6 × ≤ 4·16; AVX2 6 × ≤ 2·8, and for d = 40 2 × 5·8).
// The m × m matrix never reaches memory.
//
// When Kᵀ and V (4·m·(d + ldv) bytes) exceed CK_ATTENTION_L2, keys go in blocks that fit it, for CK_ATTENTION_ROWS
// query rows at a time, with the online softmax (Milakov & Gimelshein 2018; FlashAttention, Dao et al. 2022): per
// row a running maximum t̂, sum l and unnormalised Σ p v, rescaled by 2^(t̂_old − t̂_new) when a block raises t̂.
//
// Layouts in the scratch (K and V are packed once per call): K transposed (kt: d × mp; keys past m are zeros;
// mp ≥ m rounded up to VW, an odd number of 64-byte lines), V with rows padded to ldv columns (zeros), AR rows of
// scores (AR × mp), the AR query rows times scale·log₂e (AR × d) and, for key blocks, Σ p v, t̂ and l of
// CK_ATTENTION_ROWS rows. Head columns: whole vectors, except on AVX-512 when d mod 16 ∈ 1…8 — there the last 8
// columns are one 256-bit half vector (d = 40 = 16 + 16 + 8, so P·V does no work on padding; on CPUs that split
// 512-bit operations in two, the half costs half).

#include "attention_blocking.h"

#if CK_ISA == 512
#define AR 6   /* query rows per register block */
#define AKV 4  /* key vectors per block of scores */
#define APV 4  /* most whole vectors of head columns per P·V pass */
#define PV_WIDE 0  /* no special pass (see below) */
#define PV_ROWS AR
#elif CK_ISA == 2
#define AR 6
#define AKV 2
#define APV 2
#define PV_WIDE 5  /* d = 40: all 5 vectors of head columns in one pass, */
#define PV_ROWS 2  /* for 2 rows at a time (see attention_pv_rows) */
#else
#define AR 4
#define AKV 1
#define APV 1
#define PV_WIDE 0
#define PV_ROWS AR
#endif

/// 2^x for x ≤ 0 (x clamped to ≥ −125 so that 2ⁿ stays normal): x = n + f with n = round(x), |f| ≤ ½, 2^f by a
/// degree-5 polynomial fitted to minimise the relative error on [−½, ½] (≤ 7.5·10⁻⁸ in exact arithmetic,
/// ≤ 2.2·10⁻⁷ evaluated in Float32 by Horner with FMA), then ·2ⁿ.
CK_TARGET static inline V CK_FN(vexp2_nonpositive)(V x) {
    x = VMAX(x, VSET(-125.0f));
    const V n = VROUND(x);
    const V f = VSUB(x, n);
    V p = VSET(1.327647129e-3f);
    p = VFMA(p, f, VSET(9.675540961e-3f));
    p = VFMA(p, f, VSET(5.550713092e-2f));
    p = VFMA(p, f, VSET(2.402212024e-1f));
    p = VFMA(p, f, VSET(6.931469440e-1f));
    p = VFMA(p, f, VSET(1.000000119e+0f));
    return VSCALE2(p, n);
}

/// Scores of AR rows for keys j ..< j + NKV·VW: s[r][j…] = qs_r · k_…, with qs the AR prescaled query rows (AR × d).
/// When `full` (no padded key in the block), the block's maxima are folded into vmax[r].
CK_TARGET static inline __attribute__((always_inline)) void CK_FN(attention_scores)(const float *qs, int d, const float *kt,
                                                                                    int mp, int j, int nkv, int full,
                                                                                    float *s, V *vmax) {
    V acc[AR][AKV];
    for (int r = 0; r < AR; r++)
        for (int t = 0; t < nkv; t++) acc[r][t] = VZERO();
    for (int e = 0; e < d; e++) {
        const float *k = kt + (size_t)e * mp + j;
        V kv[AKV];
        for (int t = 0; t < nkv; t++) kv[t] = VLOAD(k + t * VW);
        for (int r = 0; r < AR; r++) {
            const V qb = VSET(qs[r * d + e]);
            for (int t = 0; t < nkv; t++) acc[r][t] = VFMA(qb, kv[t], acc[r][t]);
        }
    }
    for (int r = 0; r < AR; r++) {
        for (int t = 0; t < nkv; t++) VSTORE(s + (size_t)r * mp + j + t * VW, acc[r][t]);
        if (full)
            for (int t = 0; t < nkv; t++) vmax[r] = VMAX(vmax[r], acc[r][t]);
    }
}

/// Row of m scores (log₂ domain) ← 2^(t − mx); returns Σ.
CK_TARGET static inline float CK_FN(attention_exp_row)(float *row, int m, float mx) {
    const V mv = VSET(mx);
    V total = VZERO();
    int i = 0;
    for (; i + VW <= m; i += VW) {
        const V e = CK_FN(vexp2_nonpositive)(VSUB(VLOAD(row + i), mv));
        VSTORE(row + i, e);
        total = VADD(total, e);
    }
    float tail = 0;
    if (i < m) {
        const int n = m - i;
        float stored[16];
        VSTORE(stored, CK_FN(vexp2_nonpositive)(VSUB(vload_n(row + i, n), mv)));
        for (int t = 0; t < n; t++) { row[i + t] = stored[t]; tail += stored[t]; }
    }
    return VHSUM(total) + tail;
}

/// Scores of AR rows (qs: prescaled, AR × d) for keys j0 ..< j1 (j1 − j0 a multiple of AKV·VW unless j1 = m) into
/// s[r][j0 …]; mx[r] ← the rows' maxima over these keys.
CK_TARGET static inline void CK_FN(attention_score_rows)(const float *qs, int d, const float *kt, int mp, int j0, int j1,
                                                         float *s, float *mx) {
    V vmax[AR];
    for (int r = 0; r < AR; r++) vmax[r] = VSET(-INFINITY);
    int j = j0;
    for (; j + AKV * VW <= j1; j += AKV * VW) CK_FN(attention_scores)(qs, d, kt, mp, j, AKV, 1, s, vmax);
    if (j < j1) {  // the last keys: fewer vectors, maybe padded ones (their maxima are taken from s below)
        switch ((j1 - j + VW - 1) / VW) {
#if AKV >= 4
        case 4: CK_FN(attention_scores)(qs, d, kt, mp, j, 4, 0, s, vmax); break;
#endif
#if AKV >= 3
        case 3: CK_FN(attention_scores)(qs, d, kt, mp, j, 3, 0, s, vmax); break;
#endif
#if AKV >= 2
        case 2: CK_FN(attention_scores)(qs, d, kt, mp, j, 2, 0, s, vmax); break;
#endif
        default: CK_FN(attention_scores)(qs, d, kt, mp, j, 1, 0, s, vmax); break;
        }
    }
    for (int r = 0; r < AR; r++) {
        float top = VHMAX(vmax[r]);
        const float *row = s + (size_t)r * mp;
        for (int i = j; i < j1; i++) top = row[i] > top ? row[i] : top;
        mx[r] = top;
    }
}

#include "attention_pv.h"

CK_TARGET void CK_FN(ck_attention)(const float *q, int ldq, int rows, const float *k, const float *v, int ldkv, int m, int d,
                                   float scale, float *out, int ldo, float *scratch) {
    if (rows <= 0 || m <= 0 || d <= 0) return;
    // Scores are formed for whole vectors of keys; rows of Kᵀ and of the scores are mp apart, an odd number of
    // 64-byte lines, so that the d rows of a Kᵀ block (and the AR score rows) fall in different L1 sets (with a
    // multiple of 4 KB, e.g. 4096 keys, they all share one set and evict each other).
    const int mp = ((m + 15) / 16 | 1) * 16;
    // Head columns: `whole` vectors, then one 8-column half vector on AVX-512 when d mod 16 ∈ 1…8.
    int whole = (d + VW - 1) / VW, half = 0;
#if CK_ISA == 512
    if (d % VW != 0 && d % VW <= 8) { whole = d / VW; half = 1; }
#endif
    const int ldv = whole * VW + 8 * half;
    // Keys per block: Kᵀ and V of one block stay in L2 (≤ CK_ATTENTION_L2 bytes) while blocks of AR rows go by.
    int chunk = CK_ATTENTION_L2 / (int)sizeof(float) / (d + ldv) / (AKV * VW) * (AKV * VW);
    if (chunk < AKV * VW) chunk = AKV * VW;
    float *kt = scratch;
    float *vp = kt + (size_t)d * mp, *s = vp + (size_t)m * ldv, *qs = s + (size_t)AR * mp;
    float *acc = qs + (size_t)AR * d, *top = acc + (size_t)CK_ATTENTION_ROWS * ldv, *sum = top + CK_ATTENTION_ROWS;
    for (int e = 0; e < d; e++) {
        float *row = kt + (size_t)e * mp;
        for (int j = 0; j < m; j++) row[j] = k[(size_t)j * ldkv + e];
        for (int j = m; j < mp; j++) row[j] = 0;
    }
    for (int j = 0; j < m; j++) {
        float *row = vp + (size_t)j * ldv;
        memcpy(row, v + (size_t)j * ldkv, sizeof(float) * d);
        for (int e = d; e < ldv; e++) row[e] = 0;
    }
    const float qscale = scale * 1.44269504088896341f;  // log₂e: e^x = 2^(x·log₂e)
    if (chunk >= m) {  // all keys at once: each block of AR rows is finished in one go
        for (int r0 = 0; r0 < rows; r0 += AR) {
            const int n = rows - r0 < AR ? rows - r0 : AR;
            float *orow[AR];
            float mx[AR], inv[AR];
            for (int r = 0; r < AR; r++) {  // rows past the end repeat the last one (computed, never stored)
                const int i = r0 + (r < n ? r : n - 1);
                const float *qr = q + (size_t)i * ldq;
                for (int e = 0; e < d; e++) qs[r * d + e] = qr[e] * qscale;
                orow[r] = out + (size_t)i * ldo;
            }
            CK_FN(attention_score_rows)(qs, d, kt, mp, 0, m, s, mx);
            for (int r = 0; r < AR; r++) inv[r] = 1.0f / CK_FN(attention_exp_row)(s + (size_t)r * mp, m, mx[r]);
            CK_FN(attention_pv_rows)(s, mp, vp, ldv, m, whole, half, d, inv, orow, n, 0);
        }
        return;
    }
    // Blocks of keys (the online softmax of Milakov & Gimelshein 2018, as in FlashAttention): for each block of up
    // to CK_ATTENTION_ROWS query rows and each block of keys, the running maximum t̂ and sum l and the unnormalised
    // Σ p v (in `acc`) are rescaled by 2^(t̂_old − t̂_new) before the block's keys are added; out = acc / l at the end.
    for (int c0 = 0; c0 < rows; c0 += CK_ATTENTION_ROWS) {
        const int nc = rows - c0 < CK_ATTENTION_ROWS ? rows - c0 : CK_ATTENTION_ROWS;
        for (int j0 = 0; j0 < m; j0 += chunk) {
            const int j1 = m - j0 < chunk ? m : j0 + chunk;
            for (int b0 = 0; b0 < nc; b0 += AR) {
                float *arow[AR];
                float mx[AR], f[AR];
                for (int r = 0; r < AR; r++) {  // rows past the chunk repeat its last one (never stored)
                    const int b = b0 + r < nc ? b0 + r : nc - 1;
                    const float *qr = q + (size_t)(c0 + b) * ldq;
                    for (int e = 0; e < d; e++) qs[r * d + e] = qr[e] * qscale;
                    arow[r] = acc + (size_t)(b0 + r) * ldv;
                }
                CK_FN(attention_score_rows)(qs, d, kt, mp, j0, j1, s, mx);
                for (int r = 0; r < AR; r++) {
                    const int b = b0 + r;
                    const float old = j0 == 0 ? -INFINITY : top[b], now = mx[r] > old ? mx[r] : old;
                    f[r] = j0 == 0 ? 0.0f : exp2f(old - now);
                    const float blockSum = CK_FN(attention_exp_row)(s + (size_t)r * mp + j0, j1 - j0, now);
                    sum[b] = (j0 == 0 ? 0.0f : sum[b] * f[r]) + blockSum;
                    top[b] = now;
                }
                CK_FN(attention_pv_rows)(s + j0, mp, vp + (size_t)j0 * ldv, ldv, j1 - j0, whole, half, d, f, arow, AR,
                                         j0 == 0 ? 2 : 1);
            }
        }
        for (int b = 0; b < nc; b++) {  // out = acc / l
            const float *a = acc + (size_t)b * ldv;
            float *o = out + (size_t)(c0 + b) * ldo;
            const V inv = VSET(1.0f / sum[b]);
            int e = 0;
            for (; e + VW <= d; e += VW) VSTORE(o + e, VMUL(VLOAD(a + e), inv));
            if (e < d) vstore_n(o + e, VMUL(vload_n(a + e, d - e), inv), d - e);
        }
    }
}

#undef AR
#undef AKV
#undef APV
#undef PV_WIDE
#undef PV_ROWS
