// One vector vocabulary for the diffusion kernels (diffusion_body.h), defined per instruction set: the body is
// compiled three times (diffusion_avx512.c, diffusion_avx2.c, diffusion_generic.c) with `CK_ISA` set to
// 512, 2 or 0, so the AVX-512 and AVX2 + FMA paths are the same arithmetic on 16 or 8 lanes (and 1 lane for the
// portable fall-back). Functions get the suffix `CK_SUFFIX` (`_avx512`, `_avx2`, `_generic`).
#ifndef CKERNELS_SIMD_ISA_H
#define CKERNELS_SIMD_ISA_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if CK_ISA == 512
#include <immintrin.h>
#define CK_TARGET __attribute__((target("avx512f,avx512dq,fma,f16c")))
#define VW 16
typedef __m512 V;
typedef __m512i VI;
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VSET(x) _mm512_set1_ps(x)
#define VZERO() _mm512_setzero_ps()
#define VADD(a, b) _mm512_add_ps(a, b)
#define VSUB(a, b) _mm512_sub_ps(a, b)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VDIV(a, b) _mm512_div_ps(a, b)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VFNMA(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define VMAX(a, b) _mm512_max_ps(a, b)
#define VMIN(a, b) _mm512_min_ps(a, b)
#define VHSUM(v) _mm512_reduce_add_ps(v)
#define VHMAX(v) _mm512_reduce_max_ps(v)
#define VROUND(v) _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
/// y · 2ⁿ for an integral-valued n.
#define VSCALE2(y, n) _mm512_scalef_ps(y, n)
#define VABS(v) _mm512_abs_ps(v)
/// |m| with the sign of s.
#define VCOPYSIGN(m, s) _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(m), _mm512_and_si512(_mm512_castps_si512(s), _mm512_set1_epi32((int)0x80000000))))
CK_TARGET static inline V vload_n(const float *p, int n) { return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p); }
CK_TARGET static inline void vstore_n(float *p, V v, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), v); }

#elif CK_ISA == 2
#include <immintrin.h>
#define CK_TARGET __attribute__((target("avx2,fma,f16c")))
#define VW 8
typedef __m256 V;
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSET(x) _mm256_set1_ps(x)
#define VZERO() _mm256_setzero_ps()
#define VADD(a, b) _mm256_add_ps(a, b)
#define VSUB(a, b) _mm256_sub_ps(a, b)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VDIV(a, b) _mm256_div_ps(a, b)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VFNMA(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define VMAX(a, b) _mm256_max_ps(a, b)
#define VMIN(a, b) _mm256_min_ps(a, b)
#define VROUND(v) _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
/// y · 2ⁿ for an integral n with y·2ⁿ normal (callers clamp the exponent): adds n to the exponent bits.
#define VSCALE2(y, n) _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y), _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23)))
#define VABS(v) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v)
#define VCOPYSIGN(m, s) _mm256_or_ps(m, _mm256_and_ps(s, _mm256_set1_ps(-0.0f)))
CK_TARGET static inline float VHSUM(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
CK_TARGET static inline float VHMAX(V v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
CK_TARGET static inline __m256i ck_mask8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
CK_TARGET static inline V vload_n(const float *p, int n) { return _mm256_maskload_ps(p, ck_mask8(n)); }
CK_TARGET static inline void vstore_n(float *p, V v, int n) { _mm256_maskstore_ps(p, ck_mask8(n), v); }

#else
#define CK_TARGET
#define VW 1
typedef float V;
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VSET(x) (x)
#define VZERO() 0.0f
#define VADD(a, b) ((a) + (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VDIV(a, b) ((a) / (b))
#define VFMA(a, b, c) fmaf(a, b, c)
#define VFNMA(a, b, c) fmaf(-(a), b, c)
#define VMAX(a, b) fmaxf(a, b)
#define VMIN(a, b) fminf(a, b)
#define VHSUM(v) (v)
#define VHMAX(v) (v)
#define VROUND(v) nearbyintf(v)
#define VSCALE2(y, n) ldexpf(y, (int)(n))
#define VABS(v) fabsf(v)
#define VCOPYSIGN(m, s) copysignf(m, s)
static inline V vload_n(const float *p, int n) { (void)n; return *p; }
static inline void vstore_n(float *p, V v, int n) { (void)n; *p = v; }
#endif

#define CK_CAT2(a, b) a##b
#define CK_CAT(a, b) CK_CAT2(a, b)
#define CK_FN(name) CK_CAT(name, CK_SUFFIX)

#endif
