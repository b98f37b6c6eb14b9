// The portable path of the packed linear kernel (see CKernels.h): plain C on the same packed layouts, for
// a weight packed on a vector path and applied on `generic`, or CPUs without AVX2. Each output is the
// same correctly rounded FMA chain over k as on the vector paths (`fmaf`), then + bias, then + y: the same
// bits, one element at a time.
#include "paths.h"

#include <math.h>
#include <string.h>

/// IEEE fp16 bits → Float32, exactly (subnormals, infinities and NaNs included).
static float widen(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const int exponent = (h >> 10) & 0x1F;
    const uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((uint32_t)(exponent + 112) << 23) | (mantissa << 13);
    } else {
        const float magnitude = (float)mantissa * 0x1p-24f;  // exact: < 2^10 · 2^-24
        memcpy(&bits, &magnitude, sizeof bits);
        bits |= sign;
    }
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

void ck_linear_portable(int half, const float *x, int rows, int k, const void *packed, int n, const float *bias,
                        float *y, int ldy, int accumulate, int panel_begin, int panel_end) {
    const int blocks = ck_row_blocks(rows);
    for (int p = panel_begin; p < panel_end; p++) {
        const float *panel32 = (const float *)packed + (size_t)p * NR * k;
        const uint16_t *panel16 = (const uint16_t *)packed + (size_t)p * NR * k;
        const int col0 = p * NR;
        const int valid = n - col0 < NR ? n - col0 : NR;
        int start = 0;
        for (int blk = 0; blk < blocks; blk++) {
            const int end = (int)(((long)rows * (blk + 1)) / blocks);
            const int mr = end - start;
            const float *xb = x + (size_t)start * k;
            for (int r = 0; r < mr; r++) {
                float *out = y + (size_t)(start + r) * ldy + col0;
                for (int c = 0; c < valid; c++) {
                    float acc = 0;
                    for (int kk = 0; kk < k; kk++) {
                        const float w = half ? widen(panel16[(size_t)kk * NR + c]) : panel32[(size_t)kk * NR + c];
                        acc = fmaf(xb[(size_t)kk * mr + r], w, acc);
                    }
                    float value = acc + bias[col0 + c];
                    if (accumulate) value += out[c];
                    out[c] = value;
                }
            }
            start = end;
        }
    }
}
