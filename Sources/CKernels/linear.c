// Packed-panel linear layer for few rows; see CKernels.h. AVX-512F micro-kernel of `mr` rows × 32
// columns (mr ≤ 12: 24 accumulators), K fully inside the kernel, the weight panel streamed once per
// row block and X read as broadcasts. The AVX2 + FMA path (linear_avx2.c) and the portable one
// (linear_portable.c) read the same packed layouts and give the same bits.
#include "CKernels.h"
#include "paths.h"
#include "masks.h"

#include <immintrin.h>
#include <string.h>

int ck_panel_count(int n) { return (n + NR - 1) / NR; }

size_t ck_packed_weight_count(int n, int k) { return (size_t)ck_panel_count(n) * NR * (size_t)k; }

/// A transpose of 32 × k row blocks, 16 columns at a time: each source row contributes one cache line,
/// and the 16 destination rows (2 KB) stay in L1. `element` (4 or 2 bytes, a constant once inlined);
/// the source may be unaligned (a mapped file), hence the byte copies.
static inline __attribute__((always_inline)) void pack(const void *w, int n, int k, void *packed, const size_t element) {
    const int panels = ck_panel_count(n);
    for (int p = 0; p < panels; p++) {
        unsigned char *panel = (unsigned char *)packed + (size_t)p * NR * k * element;
        for (int k0 = 0; k0 < k; k0 += 16) {
            const int width = k - k0 < 16 ? k - k0 : 16;
            for (int c = 0; c < NR; c++) {
                const int row = p * NR + c;
                const unsigned char *src = (const unsigned char *)w + ((size_t)row * k + k0) * element;
                for (int t = 0; t < width; t++) {
                    unsigned char *out = panel + ((size_t)(k0 + t) * NR + c) * element;
                    if (row < n) memcpy(out, src + t * element, element); else memset(out, 0, element);
                }
            }
        }
    }
}

void ck_pack_weight(const float *w, int n, int k, float *packed) { pack(w, n, k, packed, sizeof(float)); }

void ck_pack_weight_f16(const void *w, int n, int k, uint16_t *packed) { pack(w, n, k, packed, sizeof(uint16_t)); }

int ck_row_blocks(int rows) { return (rows + MR - 1) / MR; }
#define row_blocks ck_row_blocks

void ck_pack_rows(const float *x, int rows, int k, float *packed) {
    const int blocks = row_blocks(rows);
    int start = 0;
    for (int b = 0; b < blocks; b++) {
        const int end = (int)(((long)rows * (b + 1)) / blocks);
        const int mr = end - start;
        float *out = packed + (size_t)start * k;
        for (int r = 0; r < mr; r++) {
            const float *src = x + (size_t)(start + r) * k;
            for (int kk = 0; kk < k; kk++) out[(size_t)kk * mr + r] = src[kk];
        }
        start = end;
    }
}

int ck_linear_available(void) { return ck_instruction_set_in_use() != CK_GENERIC; }

#if defined(__x86_64__)

#define KERNEL_ATTRS __attribute__((target("avx512f,fma"), always_inline)) static inline

/// `mr` rows (a compile-time constant after inlining) × one 32-column panel; `x` is the row block
/// packed k-major (`x[kk·mr + r]`, see `ck_pack_rows`), so its broadcasts read one sequential stream.
/// `half` (a constant too): the panel holds IEEE fp16 values, widened exactly to Float32 in registers
/// (`vcvtph2ps`), so the products are those of the Float32 weights with the same values.
KERNEL_ATTRS void block(const int mr, const int half, const float *x, int k, const void *panel, const float *bias,
                        float *y, int ldy, int accumulate, __mmask16 mask0, __mmask16 mask1,
                        const char *ahead, int ahead_lines) {
    const float *panel32 = (const float *)panel;
    const uint16_t *panel16 = (const uint16_t *)panel;
    __m512 acc0[MR], acc1[MR];
#pragma clang loop unroll(full)
    for (int r = 0; r < mr; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    for (int kk = 0; kk < k; kk++) {
        // A share of the next panel towards L2 while this one is computed from L2 (see `panels`): two lines
        // a step, as a panel has 2k (Float32) or k (fp16) lines. Prefetches never fault, even past the end.
        if (2 * kk < ahead_lines) {
            _mm_prefetch(ahead + (size_t)kk * 128, _MM_HINT_T1);
            _mm_prefetch(ahead + (size_t)kk * 128 + 64, _MM_HINT_T1);
        }
        __m512 w0, w1;
        if (half) {
            _mm_prefetch((const char *)(panel16 + (size_t)(kk + 32) * NR), _MM_HINT_T0);
            w0 = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(panel16 + (size_t)kk * NR)));
            w1 = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(panel16 + (size_t)kk * NR + 16)));
        } else {
            _mm_prefetch((const char *)(panel32 + (size_t)(kk + 16) * NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(panel32 + (size_t)(kk + 16) * NR + 16), _MM_HINT_T0);
            w0 = _mm512_load_ps(panel32 + (size_t)kk * NR);
            w1 = _mm512_load_ps(panel32 + (size_t)kk * NR + 16);
        }
#pragma clang loop unroll(full)
        for (int r = 0; r < mr; r++) {
            const __m512 xv = _mm512_set1_ps(x[(size_t)kk * mr + r]);
            acc0[r] = _mm512_fmadd_ps(xv, w0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(xv, w1, acc1[r]);
        }
    }
    const __m512 b0 = _mm512_maskz_loadu_ps(mask0, bias);
    const __m512 b1 = _mm512_maskz_loadu_ps(mask1, bias + 16);
#pragma clang loop unroll(full)
    for (int r = 0; r < mr; r++) {
        float *out = y + (size_t)r * ldy;
        __m512 v0 = _mm512_add_ps(acc0[r], b0);
        __m512 v1 = _mm512_add_ps(acc1[r], b1);
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, out));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, out + 16));
        }
        _mm512_mask_storeu_ps(out, mask0, v0);
        _mm512_mask_storeu_ps(out + 16, mask1, v1);
    }
}

#define CASE(m) case m: block(m, half, xb, k, panel, b, yb, ldy, accumulate, mask0, mask1, ahead, ahead_lines); break;

/// Every row block of the panels `panel_begin ..< panel_end`; `half` as in `block`.
KERNEL_ATTRS void panels(const int half, const float *x, int rows, int k, const void *packed, int n, const float *bias,
                         float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    const int blocks = row_blocks(rows);
    const size_t element = half ? 2 : 4;
    for (int p = panel_begin; p < panel_end; p++) {
        const void *panel = (const char *)packed + (size_t)p * NR * k * element;
        const int c0 = p * NR;
        const int valid = n - c0 < NR ? n - c0 : NR;
        const __mmask16 mask0 = ck_tail_mask(valid), mask1 = ck_tail_mask(valid - 16);
        const float *b = bias + c0;
        int start = 0;
        for (int blk = 0; blk < blocks; blk++) {
            const int end = (int)(((long)rows * (blk + 1)) / blocks);
            const int mr = end - start;
            const float *xb = x + (size_t)start * k;
            float *yb = y + (size_t)start * ldy + c0;
            // The first row block streams this panel from memory; the later ones, which find it in L2, each
            // prefetch an equal share of the next panel, so memory traffic overlaps their arithmetic (the
            // machine reads memory at ~11–14 GB/s: a batch-1 pass is a third memory time).
            const char *ahead = 0;
            int ahead_lines = 0;
            if (blk > 0 && p + 1 < panel_end) {
                const int lines = (int)((size_t)NR * k * element / 64);
                const int first = (int)((long)lines * (blk - 1) / (blocks - 1));
                const int last = (int)((long)lines * blk / (blocks - 1));
                ahead = (const char *)packed + (size_t)(p + 1) * NR * k * element + (size_t)first * 64;
                ahead_lines = last - first;
            }
            switch (mr) {
                CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
                CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12)
                default: break;
            }
            start = end;
        }
    }
}

__attribute__((target("avx512f,fma")))
static void linear_f32(const float *x, int rows, int k, const float *packed, int n, const float *bias,
                       float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    panels(0, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
}

__attribute__((target("avx512f,fma")))
static void linear_f16(const float *x, int rows, int k, const uint16_t *packed, int n, const float *bias,
                       float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    panels(1, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
}

void ck_linear(ck_instruction_set set, const float *x, int rows, int k, const float *packed, int n, const float *bias,
               float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    if (rows <= 0 || panel_begin >= panel_end) return;
    set = ck_supported_subset(set);
    if (set == CK_AVX512) linear_f32(x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
    else if (set == CK_AVX2) ck_linear_avx2(0, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
    else ck_linear_portable(0, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
}

void ck_linear_f16(ck_instruction_set set, const float *x, int rows, int k, const uint16_t *packed, int n, const float *bias,
                   float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    if (rows <= 0 || panel_begin >= panel_end) return;
    set = ck_supported_subset(set);
    if (set == CK_AVX512) linear_f16(x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
    else if (set == CK_AVX2) ck_linear_avx2(1, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
    else ck_linear_portable(1, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
}

#else

void ck_linear(ck_instruction_set set, const float *x, int rows, int k, const float *packed, int n, const float *bias,
               float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    (void)set;
    if (rows <= 0 || panel_begin >= panel_end) return;
    ck_linear_portable(0, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
}

void ck_linear_f16(ck_instruction_set set, const float *x, int rows, int k, const uint16_t *packed, int n, const float *bias,
                   float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    (void)set;
    if (rows <= 0 || panel_begin >= panel_end) return;
    ck_linear_portable(1, x, rows, k, packed, n, bias, y, ldy, accumulate, panel_begin, panel_end);
}

#endif
