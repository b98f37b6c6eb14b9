// LAPACKE, the C interface to LAPACK (Debian: liblapacke-dev; LAPACK itself from OpenBLAS).
#include <lapacke.h>
