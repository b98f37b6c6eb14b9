// Run-time dispatch of the diffusion kernels (UNet and VAE decoder) to their AVX-512, AVX2 + FMA or portable
// builds of diffusion_body.h, by `ck_instruction_set_in_use()`; see CKernels.h.
#include "CKernels.h"
#include "attention_blocking.h"

#define DECLARE(ret, name, params) \
    ret name##_avx512 params; \
    ret name##_avx2 params; \
    ret name##_generic params;

#if defined(__x86_64__)
#define DISPATCH(name, args) \
    switch (ck_instruction_set_in_use()) { \
    case CK_AVX512: name##_avx512 args; return; \
    case CK_AVX2: name##_avx2 args; return; \
    default: name##_generic args; return; \
    }
#else
#define DISPATCH(name, args) name##_generic args; return;
#endif

DECLARE(void, ck_group_norm, (const float *x, float *y, int channels, int spatial, int groups, float eps,
                              const float *gamma, const float *beta, int silu))
DECLARE(void, ck_layer_norm, (const float *x, float *y, int rows, int cols, float eps, const float *gamma, const float *beta))
DECLARE(void, ck_silu, (const float *x, float *y, size_t n))
DECLARE(void, ck_geglu, (const float *h, int rows, int inner, float *out))
DECLARE(void, ck_add, (float *y, const float *x, size_t n))
DECLARE(void, ck_softmax_rows, (float *s, int rows, int cols, size_t ld))
DECLARE(void, ck_half_to_float, (const uint16_t *src, float *dst, size_t n))
DECLARE(void, ck_pad_image, (const float *x, int channels, int h, int w, float *out))
DECLARE(void, ck_upsample_pad_image, (const float *x, int channels, int h, int w, float *out))
DECLARE(void, ck_taps_from_kernel3x3, (const float *w, int cout, int cin, float *taps))
DECLARE(void, ck_winograd_weights, (const float *w, size_t pairs, float *u, size_t stride))
DECLARE(void, ck_winograd_weights_f16, (const uint16_t *w, size_t pairs, float *u, size_t stride))
DECLARE(void, ck_winograd_input, (const float *padded, int channels, int h, int w, float *v, size_t ldc, size_t stride))
DECLARE(void, ck_winograd_output, (const float *m, int channels, int h, int w, const float *bias, float *y, size_t ldc,
                                   size_t stride))
DECLARE(void, ck_winograd4_weights, (const float *w, size_t pairs, float *u, size_t stride))
DECLARE(void, ck_winograd4_weights_f16, (const uint16_t *w, size_t pairs, float *u, size_t stride))
DECLARE(void, ck_winograd4_input, (const float *padded, int channels, int h, int w, float *v, size_t ldc, size_t stride))
DECLARE(void, ck_winograd4_output, (const float *m, int channels, int h, int w, const float *bias, const float *residual,
                                    float *y, size_t ldc, size_t stride))
DECLARE(void, ck_attention, (const float *q, int ldq, int rows, const float *k, const float *v, int ldkv, int m, int d,
                             float scale, float *out, int ldo, float *scratch))
DECLARE(void, ck_im2col3x3_stride2, (const float *padded, int channels, int h, int w, float *cols))

void ck_group_norm(const float *x, float *y, int channels, int spatial, int groups, float eps, const float *gamma,
                   const float *beta, int silu) {
    DISPATCH(ck_group_norm, (x, y, channels, spatial, groups, eps, gamma, beta, silu))
}

void ck_layer_norm(const float *x, float *y, int rows, int cols, float eps, const float *gamma, const float *beta) {
    DISPATCH(ck_layer_norm, (x, y, rows, cols, eps, gamma, beta))
}

void ck_silu(const float *x, float *y, size_t n) { DISPATCH(ck_silu, (x, y, n)) }

void ck_geglu(const float *h, int rows, int inner, float *out) { DISPATCH(ck_geglu, (h, rows, inner, out)) }

void ck_add(float *y, const float *x, size_t n) { DISPATCH(ck_add, (y, x, n)) }

void ck_softmax_rows(float *s, int rows, int cols, size_t ld) { DISPATCH(ck_softmax_rows, (s, rows, cols, ld)) }

void ck_half_to_float(const uint16_t *src, float *dst, size_t n) { DISPATCH(ck_half_to_float, (src, dst, n)) }

void ck_pad_image(const float *x, int channels, int h, int w, float *out) { DISPATCH(ck_pad_image, (x, channels, h, w, out)) }

void ck_upsample_pad_image(const float *x, int channels, int h, int w, float *out) {
    DISPATCH(ck_upsample_pad_image, (x, channels, h, w, out))
}

void ck_im2col3x3_stride2(const float *padded, int channels, int h, int w, float *cols) {
    DISPATCH(ck_im2col3x3_stride2, (padded, channels, h, w, cols))
}

void ck_taps_from_kernel3x3(const float *w, int cout, int cin, float *taps) {
    DISPATCH(ck_taps_from_kernel3x3, (w, cout, cin, taps))
}

void ck_winograd_weights(const float *w, size_t pairs, float *u, size_t stride) {
    DISPATCH(ck_winograd_weights, (w, pairs, u, stride))
}

void ck_winograd_weights_f16(const uint16_t *w, size_t pairs, float *u, size_t stride) {
    DISPATCH(ck_winograd_weights_f16, (w, pairs, u, stride))
}

void ck_winograd_input(const float *padded, int channels, int h, int w, float *v, size_t ldc, size_t stride) {
    DISPATCH(ck_winograd_input, (padded, channels, h, w, v, ldc, stride))
}

void ck_winograd_output(const float *m, int channels, int h, int w, const float *bias, float *y, size_t ldc, size_t stride) {
    DISPATCH(ck_winograd_output, (m, channels, h, w, bias, y, ldc, stride))
}

void ck_winograd4_weights(const float *w, size_t pairs, float *u, size_t stride) {
    DISPATCH(ck_winograd4_weights, (w, pairs, u, stride))
}

void ck_winograd4_weights_f16(const uint16_t *w, size_t pairs, float *u, size_t stride) {
    DISPATCH(ck_winograd4_weights_f16, (w, pairs, u, stride))
}

void ck_winograd4_input(const float *padded, int channels, int h, int w, float *v, size_t ldc, size_t stride) {
    DISPATCH(ck_winograd4_input, (padded, channels, h, w, v, ldc, stride))
}

void ck_winograd4_output(const float *m, int channels, int h, int w, const float *bias, const float *residual, float *y,
                         size_t ldc, size_t stride) {
    DISPATCH(ck_winograd4_output, (m, channels, h, w, bias, residual, y, ldc, stride))
}

void ck_attention(const float *q, int ldq, int rows, const float *k, const float *v, int ldkv, int m, int d, float scale,
                  float *out, int ldo, float *scratch) {
    DISPATCH(ck_attention, (q, ldq, rows, k, v, ldkv, m, d, scale, out, ldo, scratch))
}

size_t ck_attention_scratch_count(int m, int d) {
    // Every path (attention_body.h): Kᵀ with rows of ≤ m + 31 keys, V with rows padded to ≤ d + 15 columns,
    // ≤ 6 rows of scores and ≤ 6 prescaled query rows; for key blocks, the running Σ p v, maxima and sums of
    // CK_ATTENTION_ROWS rows.
    const size_t mp = (size_t)m + 31, dp = (size_t)d + 15;
    return (size_t)d * mp + (size_t)m * dp + 6 * mp + 6 * (size_t)d + CK_ATTENTION_ROWS * (dp + 2);
}
