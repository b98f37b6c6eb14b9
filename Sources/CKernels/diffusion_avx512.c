// The diffusion kernels compiled for the avx512 path (see diffusion_body.h and winograd4_body.h, dispatched in diffusion.c).
#if defined(__x86_64__) || 512 == 0
#define CK_ISA 512
#define CK_SUFFIX _avx512
#include "diffusion_body.h"
#include "winograd4_body.h"
#endif
