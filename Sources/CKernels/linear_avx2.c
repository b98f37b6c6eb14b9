// The AVX2 + FMA path of the packed linear kernel (see CKernels.h, linear.c): the same packed weight and
// rows, 16 ymm registers. Micro-kernel 6 × 16 (12 accumulators, 2 weight vectors, 1 broadcast): a panel is
// read in two 16-column passes and a packed row block (≤ 12 rows) in sub-blocks of ≤ 6 rows; blocks of
// 1–2 rows use 1–2 × 32 (one pass). Measured on this EPYC against 4 × 16, 3 × 32 and 2 × 32 (C harness,
// 3072 × 768 weights, single thread): 6 × 16 is fastest from 3 rows up (77 rows: 96–98 GFLOP/s against
// 47–73; AVX-512's 12 × 32: 110), 1–2 × 32 at 1–2 rows. Each output is the same FMA chain over k as on the
// AVX-512 path, then + bias, then + y: the same bits. fp16 panels are widened exactly by F16C (`vcvtph2ps`).
#include "paths.h"
#include "masks.h"

#if defined(__x86_64__)

#include <immintrin.h>

/// Rows of the micro-kernel (6 × 16); blocks of 1–2 rows run as 1–2 × 32 instead (one pass over the panel:
/// at so few rows the kernel waits on memory, not on the FMA units).
#define AVX2_MR 6

#define ATTRS __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

/// `mr` rows × `nv`·8 columns (constants after inlining) starting at column `c0` of `panel`; `x` holds
/// the rows' values at `x[kk·xs + r]` (a sub-block of a k-major packed row block of `xs` rows). `valid`:
/// columns of this pass inside the weight (stores and bias reads past it are masked). `ahead`: a share of
/// the next panel to prefetch towards L2, two lines a step (as on the AVX-512 path).
ATTRS void block(const int mr, const int nv, const int half, const float *x, int xs, int k, const void *panel, int c0,
                 const float *bias, float *y, int ldy, int accumulate, int valid, const char *ahead, int ahead_lines) {
    const float *panel32 = (const float *)panel + c0;
    const uint16_t *panel16 = (const uint16_t *)panel + c0;
    __m256 acc[AVX2_MR][4];
#pragma clang loop unroll(full)
    for (int r = 0; r < mr; r++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm256_setzero_ps();
    }
    for (int kk = 0; kk < k; kk++) {
        if (2 * kk < ahead_lines) {
            _mm_prefetch(ahead + (size_t)kk * 128, _MM_HINT_T1);
            _mm_prefetch(ahead + (size_t)kk * 128 + 64, _MM_HINT_T1);
        }
        __m256 w[4];
        if (half) {
            _mm_prefetch((const char *)(panel16 + (size_t)(kk + 32) * NR), _MM_HINT_T0);
#pragma clang loop unroll(full)
            for (int v = 0; v < nv; v++)
                w[v] = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(panel16 + (size_t)kk * NR + 8 * v)));
        } else {
            // The first column pass fetches the whole panel row (both lines), so the panel streams in once.
            const float *ahead_row = (const float *)panel + (size_t)(kk + 16) * NR;
            if (c0 == 0 && nv == 2) {
                _mm_prefetch((const char *)ahead_row, _MM_HINT_T0);
                _mm_prefetch((const char *)(ahead_row + 16), _MM_HINT_T0);
            } else {
                _mm_prefetch((const char *)(ahead_row + c0), _MM_HINT_T0);
            }
#pragma clang loop unroll(full)
            for (int v = 0; v < nv; v++) w[v] = _mm256_load_ps(panel32 + (size_t)kk * NR + 8 * v);
        }
#pragma clang loop unroll(full)
        for (int r = 0; r < mr; r++) {
            const __m256 xv = _mm256_broadcast_ss(x + (size_t)kk * xs + r);
#pragma clang loop unroll(full)
            for (int v = 0; v < nv; v++) acc[r][v] = _mm256_fmadd_ps(xv, w[v], acc[r][v]);
        }
    }
#pragma clang loop unroll(full)
    for (int v = 0; v < nv; v++) {
        const int count = valid - 8 * v;
        if (count <= 0) break;
        const __m256i mask = ck_tail_mask8(count);
        const __m256 b = count >= 8 ? _mm256_loadu_ps(bias + 8 * v) : _mm256_maskload_ps(bias + 8 * v, mask);
#pragma clang loop unroll(full)
        for (int r = 0; r < mr; r++) {
            float *out = y + (size_t)r * ldy + 8 * v;
            __m256 value = _mm256_add_ps(acc[r][v], b);
            if (count >= 8) {
                if (accumulate) value = _mm256_add_ps(value, _mm256_loadu_ps(out));
                _mm256_storeu_ps(out, value);
            } else {
                if (accumulate) value = _mm256_add_ps(value, _mm256_maskload_ps(out, mask));
                _mm256_maskstore_ps(out, mask, value);
            }
        }
    }
}

#define CASE(m, nv) case m: block(m, nv, half, xs, mr, k, panel, c0, bias + col, ys, ldy, accumulate, valid - c0, ahead, ahead_lines); break;

/// Every row block of the panels `panel_begin ..< panel_end`, as `panels` in linear.c.
ATTRS void panels(const int half, const float *x, int rows, int k, const void *packed, int n, const float *bias,
                  float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    const int blocks = ck_row_blocks(rows);
    const size_t element = half ? 2 : 4;
    for (int p = panel_begin; p < panel_end; p++) {
        const void *panel = (const char *)packed + (size_t)p * NR * k * element;
        const int col0 = p * NR;
        const int valid = n - col0 < NR ? n - col0 : NR;
        int start = 0;
        for (int blk = 0; blk < blocks; blk++) {
            const int end = (int)(((long)rows * (blk + 1)) / blocks);
            const int mr = end - start;
            const float *xb = x + (size_t)start * k;
            // The first row block streams this panel from memory; each later one prefetches a share of the next.
            const char *ahead = 0;
            int ahead_lines = 0;
            if (blk > 0 && p + 1 < panel_end) {
                const int lines = (int)((size_t)NR * k * element / 64);
                const int first = (int)((long)lines * (blk - 1) / (blocks - 1));
                const int last = (int)((long)lines * blk / (blocks - 1));
                ahead = (const char *)packed + (size_t)(p + 1) * NR * k * element + (size_t)first * 64;
                ahead_lines = last - first;
            }
            const int parts = (mr + AVX2_MR - 1) / AVX2_MR;
            const int width = mr <= 2 ? 32 : 16;
            for (int part = 0; part < parts; part++) {
                const int r0 = mr * part / parts, r1 = mr * (part + 1) / parts;
                const float *xs = xb + r0;
                for (int c0 = 0; c0 < NR && c0 < valid; c0 += width) {
                    const int col = col0 + c0;
                    float *ys = y + (size_t)(start + r0) * ldy + col;
                    switch (r1 - r0) {
                        CASE(1, 4) CASE(2, 4) CASE(3, 2) CASE(4, 2) CASE(5, 2) CASE(6, 2)
                        default: break;
                    }
                    ahead = 0;
                    ahead_lines = 0;
                }
            }
            start = end;
        }
    }
}

__attribute__((target("avx2,fma,f16c")))
void ck_linear_avx2(int half, const float *x, int rows, int k, const void *packed, int n, const float *bias,
                    float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    if (half) panels(1, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
    else panels(0, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
}

#else

void ck_linear_avx2(int half, const float *x, int rows, int k, const void *packed, int n, const float *bias,
                    float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    ck_linear_portable(half, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
}

#endif
