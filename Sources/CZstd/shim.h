// Zstandard (Debian: libzstd-dev).
#include <zstd.h>
