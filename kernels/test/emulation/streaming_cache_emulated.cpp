// The CUDA source compiled as C++ against cuda_emulation.h.
#include "../../streaming_cache.cu"
