#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Instruction sets the kernels have paths for, in increasing order.
typedef enum { CK_GENERIC = 0, CK_AVX2 = 1, CK_AVX512 = 2 } ck_instruction_set;

/// The best set this CPU runs (AVX-512F + FMA, else AVX2 + FMA + F16C, else generic).
ck_instruction_set ck_supported_instruction_set(void);

/// The set kernels use: the supported one, lowered by the environment variable `CONCEPTS_KERNELS`
/// (`avx2` forces the AVX2 + FMA paths on an AVX-512 machine, `generic` the fall-backs; `auto` or
/// unset: the CPU's best). Every kernel in this target dispatches on it.
ck_instruction_set ck_instruction_set_in_use(void);

/// The set `ck_instruction_set_in_use` gives for the value `requested` of `CONCEPTS_KERNELS` (NULL: unset);
/// unknown values keep the CPU's best.
ck_instruction_set ck_instruction_set_requested(const char *requested);

/// `"avx512"`, `"avx2"` or `"generic"` (for benchmark and log output).
const char *ck_instruction_set_name(ck_instruction_set set);

/// Linear layers `Y = X·Wᵀ + b` for few rows (text-encoder sized: up to a few hundred tokens) with the
/// weight packed once into 32-column panels, so no call repacks it (BLAS `sgemm` packs the whole weight
/// on every call, which dominates when X has few rows). Paths: AVX-512F (12 × 32 micro-kernel), AVX2 + FMA
/// + F16C (6 × 16) and portable C, all on the same layouts and giving the same bits (each output is one FMA
/// chain over k, then + bias, then + y). Callers pass the path (`ck_instruction_set_in_use()` or one of
/// its lower sets; a set the CPU lacks is lowered), and use BLAS instead on `CK_GENERIC`
/// (`ck_linear_available()`).
///
/// Layouts (Float32):
/// - weight `W`: `n × k` row-major (a PyTorch `Linear` weight, out × in);
/// - packed weight: `ceil(n / 32)` panels, panel `p` holds `W[32p + c][kk]` at `p·32k + kk·32 + c`
///   (columns past `n` are zero);
/// - `X`: `rows × k`, packed by `ck_pack_rows`; `Y`: `rows × n` row-major with leading dimension `ldy`.

/// 1 when the set in use (`ck_instruction_set_in_use()`) has a vector path for the packed kernel.
int ck_linear_available(void);

/// Floats a packed weight of `n × k` takes.
size_t ck_packed_weight_count(int n, int k);

/// Packs `w` (`n × k`) into `packed` (`ck_packed_weight_count(n, k)` floats, 64-byte aligned).
void ck_pack_weight(const float *w, int n, int k, float *packed);

/// The same for IEEE fp16 weights (little-endian bits, `w` may be unaligned): `packed` holds
/// `ck_packed_weight_count(n, k)` halves, 64-byte aligned, in the same layout.
void ck_pack_weight_f16(const void *w, int n, int k, uint16_t *packed);

/// Number of 32-column panels of an `n`-output weight.
int ck_panel_count(int n);

/// Packs `x` (`rows × k`) into `packed` (`rows × k` floats) as the kernel reads it: rows in blocks of
/// near-equal size ≤ 12, each block k-major (`packed[start·k + kk·mr + r]`).
void ck_pack_rows(const float *x, int rows, int k, float *packed);

/// `Y[:, panels] = X·Wᵀ + b` (or `Y += X·Wᵀ + b` when `accumulate`) for the output panels
/// `panel_begin ..< panel_end` (columns `32·panel_begin ..< min(32·panel_end, n)`).
void ck_linear(ck_instruction_set set, const float *xpacked, int rows, int k, const float *packed, int n, const float *bias,
               float *y, int ldy, int accumulate, int panel_begin, int panel_end);

/// `ck_linear` with an fp16 packed weight: each half is widened exactly to Float32 in registers, so the
/// result equals `ck_linear` on the Float32 values of the same weights, bit for bit, at half the memory
/// traffic (a forward pass of few rows streams every weight from memory once).
void ck_linear_f16(ck_instruction_set set, const float *xpacked, int rows, int k, const uint16_t *packed, int n, const float *bias,
                   float *y, int ldy, int accumulate, int panel_begin, int panel_end);

/// Causal multi-head self-attention of one sequence for heads `head_begin ..< head_end` (CLIP text
/// transformer): `qkv` is `n × 3d` (`[Q | K | V]` per row, head `h` at columns `h·dh ..< (h+1)·dh` of
/// each part), `out` is `n × d` (leading dimension `ldo`); head `h` of row `i` is
/// `Σ_{j ≤ i} softmax_j(q_i·k_j · scale) v_j`. `scores` is scratch of `n` floats. Paths AVX-512F and AVX2 +
/// FMA (the same bits: the same lane order, the same exponential, a Cephes-style polynomial ≤ 2 ulp) and
/// portable C (`expf`; callers use BLAS on `CK_GENERIC`).
void ck_causal_attention(ck_instruction_set set, const float *qkv, int n, int d, int dh, int head_begin, int head_end, float scale,
                         float *out, int ldo, float *scores);

// MARK: Diffusion kernels (UNet, VAE decoder): AVX-512, AVX2 + FMA and portable builds of one body
// (diffusion_body.h), chosen per call by `ck_instruction_set_in_use()`. Images are channel-major (C × H × W).

/// GroupNorm of one sample `x` (`channels × spatial`) into `y` (may equal `x`): per group of
/// `channels / groups` channels, y = (x − μ) / √(σ² + eps) · γ_c + β_c (biased variance; μ, σ² summed in
/// Float64), then SiLU when `silu` ≠ 0.
void ck_group_norm(const float *x, float *y, int channels, int spatial, int groups, float eps, const float *gamma,
                   const float *beta, int silu);

/// LayerNorm of `rows` rows of `cols` values: y = (x − μ) / √(σ² + eps) · γ + β.
void ck_layer_norm(const float *x, float *y, int rows, int cols, float eps, const float *gamma, const float *beta);

/// y = x·σ(x) (SiLU) over `n` values; `y` may equal `x`.
void ck_silu(const float *x, float *y, size_t n);

/// GEGLU: `h` is `rows × 2·inner` ([a | g] per row); out[r][i] = a·GELU(g) with the exact (erf) GELU.
void ck_geglu(const float *h, int rows, int inner, float *out);

/// y += x over `n` values.
void ck_add(float *y, const float *x, size_t n);

/// Row-wise softmax in place of `rows` rows of `cols` values (leading dimension `ld`):
/// s_ij ← e^(s_ij − max_j s_ij) / Σ_j e^(s_ij − max_j s_ij).
void ck_softmax_rows(float *s, int rows, int cols, size_t ld);

/// IEEE fp16 (bits) → Float32, exactly.
void ck_half_to_float(const uint16_t *src, float *dst, size_t n);

/// Copies `channels` images of `h × w` into `(h + 2) × (w + 2)` images with a zero border (the input of a
/// 3×3, padding-1 convolution).
void ck_pad_image(const float *x, int channels, int h, int w, float *out);

/// Nearest-neighbour ×2 upsampling of `h × w` images into zero-bordered `(2h + 2) × (2w + 2)` images.
void ck_upsample_pad_image(const float *x, int channels, int h, int w, float *out);

/// im2col of a 3×3, stride-2 convolution over zero-bordered `(h + 2) × (w + 2)` images: `cols` is
/// `(channels · 9) × (oh · ow)` with oh = ⌊(h − 1)/2⌋ + 1, ow likewise, row `c·9 + ky·3 + kx`.
void ck_im2col3x3_stride2(const float *padded, int channels, int h, int w, float *cols);

/// A 3×3 convolution weight `w` ([cout][cin][3][3], Float32) as nine tap matrices: taps[k][o][i] = w[o][i][k]
/// (k = ky·3 + kx), the layout the shifted-image products read.
void ck_taps_from_kernel3x3(const float *w, int cout, int cin, float *taps);

/// Winograd F(2×2, 3×3) for 3×3, padding-1 convolutions of even-sized images (Lavin & Gray 2016):
/// weights [cout][cin][3][3] → `u` [16][cout][cin] = G g Gᵀ; zero-bordered input ((h+2) × (w+2) per channel)
/// → `v` [16][cin][tiles] = Bᵀ d B per 4×4 tile (tiles = h/2 · w/2, row-major); after the 16 products
/// m[k] = u[k]·v[k], `m` [16][cout][tiles] → `y` [cout][h][w] = Aᵀ m A + bias[o].
/// Each call does a contiguous part, so that threads can share the work: `ck_winograd_weights` the `pairs`
/// kernels (o, i) from `w` (9 floats each; `ck_winograd_weights_f16`: 9 fp16 values, widened exactly) into
/// u[k·stride + ·] (stride = the pairs of the block being transformed, cout·cin for all of them; `w` and `u`
/// offset by the first pair); `ck_winograd_input` `channels`
/// padded channels into v[k·stride + c·ldc + tile] (ldc ≥ tiles: the row of channel c, which may hold several
/// samples' tiles side by side; stride = cin·ldc); `ck_winograd_output` `channels` output channels from
/// m[k·stride + o·ldc + tile] (stride = the output channels of the block of products times ldc).
void ck_winograd_weights(const float *w, size_t pairs, float *u, size_t stride);
void ck_winograd_weights_f16(const uint16_t *w, size_t pairs, float *u, size_t stride);
void ck_winograd_input(const float *padded, int channels, int h, int w, float *v, size_t ldc, size_t stride);
void ck_winograd_output(const float *m, int channels, int h, int w, const float *bias, float *y, size_t ldc, size_t stride);

/// Winograd F(4×4, 3×3) (Lavin & Gray 2016): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per 4×4 output tile, 36 products per
/// tile instead of 144, with the 6×6 matrices Bᵀ, G (1/4, 1/6, 1/24 scaled) and 4×6 Aᵀ of points 0, ±1, ±2, ∞
/// (written out in winograd4_body.h). The same layouts and contiguous-part calls as F(2×2, 3×3) above with 36
/// positions (k = 6·row + column) and tiles = h/4 · w/4 (h and w multiples of 4) of 6×6 input tiles at stride 4:
/// `ck_winograd4_weights` → u[k·stride + pair], `ck_winograd4_input` padded channels → v[k·stride + c·ldc + tile],
/// `ck_winograd4_output` m[k·stride + o·ldc + tile] → y[o][h][w] = Aᵀ m A + bias[o] (+ residual[o][h][w] when
/// `residual` is not NULL).
void ck_winograd4_weights(const float *w, size_t pairs, float *u, size_t stride);
void ck_winograd4_weights_f16(const uint16_t *w, size_t pairs, float *u, size_t stride);
void ck_winograd4_input(const float *padded, int channels, int h, int w, float *v, size_t ldc, size_t stride);
void ck_winograd4_output(const float *m, int channels, int h, int w, const float *bias, const float *residual, float *y,
                         size_t ldc, size_t stride);

/// Fused attention of one head for `rows` query rows: out_i = Σ_j softmax_j(scale · q_i·k_j) v_j, with q_i at
/// q + i·ldq, k_j and v_j at k + j·ldkv and v + j·ldkv (d values each), out_i at out + i·ldo. The scores of a few
/// rows at a time stay in cache (no m × m matrix in memory), in the log₂ domain (q·scale·log₂e): max-subtracted
/// 2^x (a degree-5 polynomial, ≤ 2.2e-7 relative), Σ in Float32; when K and V outgrow L2, keys go in blocks with an
/// online softmax. Works on its copy of K (transposed) and V in `scratch` (`ck_attention_scratch_count(m, d)` floats,
/// on every path; the caller owns it, so no thread allocates). See attention_body.h.
void ck_attention(const float *q, int ldq, int rows, const float *k, const float *v, int ldkv, int m, int d, float scale,
                  float *out, int ldo, float *scratch);
size_t ck_attention_scratch_count(int m, int d);

#endif
