// The diffusion kernels compiled for the generic path (see diffusion_body.h and winograd4_body.h, dispatched in diffusion.c).
#if defined(__x86_64__) || 0 == 0
#define CK_ISA 0
#define CK_SUFFIX _generic
#include "diffusion_body.h"
#include "winograd4_body.h"
#endif
