// Blocking constants of the fused attention (attention_body.h), shared with its scratch size (diffusion.c).
#ifndef CKERNELS_ATTENTION_BLOCKING_H
#define CKERNELS_ATTENTION_BLOCKING_H

/// Bytes of Kᵀ and V per block of keys, to stay in L2 while the query rows of a block go by: with more keys than
/// that (e.g. the VAE's 4096 × 512 head: 16 MB), keys are taken in blocks with an online softmax.
#ifndef CK_ATTENTION_L2
#define CK_ATTENTION_L2 (1 << 20)
#endif
/// Query rows per block on the key-blocked path (a multiple of every path's register rows: 6 and 4).
#define CK_ATTENTION_ROWS 96

#endif
