#ifndef CKERNELS_PATHS_H
#define CKERNELS_PATHS_H

// Shared by the paths of the packed linear kernel (linear.c: AVX-512, linear_avx2.c, linear_portable.c).
#include "CKernels.h"

/// Columns per packed weight panel and the most rows of one packed row block (see `ck_pack_rows`).
#define NR 32
#define MR 12

/// Row blocks of near-equal size ≤ MR (77 rows → 7 × 11, 13 → 7 + 6): block `b` is rows
/// `rows·b/blocks ..< rows·(b+1)/blocks`.
int ck_row_blocks(int rows);

/// `set` lowered to what this CPU runs (a caller may name a path the CPU lacks).
ck_instruction_set ck_supported_subset(ck_instruction_set set);

/// The AVX2 + FMA (+ F16C for `half`) path of `ck_linear` / `ck_linear_f16` (`packed` is Float32 or fp16).
void ck_linear_avx2(int half, const float *x, int rows, int k, const void *packed, int n, const float *bias,
                    float *y, int ldy, int accumulate, int panel_begin, int panel_end);

/// The portable C path (any CPU): the same operations in the same order, one element at a time.
void ck_linear_portable(int half, const float *x, int rows, int k, const void *packed, int n, const float *bias,
                        float *y, int ldy, int accumulate, int panel_begin, int panel_end);

/// One head of `ck_causal_attention` on the AVX2 + FMA path (attention_avx2.c).
void ck_attention_head_avx2(const float *qkv, int n, int d, int dh, int h, float scale, float *out, int ldo, float *scores);

#endif
