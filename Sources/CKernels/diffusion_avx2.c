// The diffusion kernels compiled for the avx2 path (see diffusion_body.h and winograd4_body.h, dispatched in diffusion.c).
#if defined(__x86_64__) || 2 == 0
#define CK_ISA 2
#define CK_SUFFIX _avx2
#include "diffusion_body.h"
#include "winograd4_body.h"
#endif
