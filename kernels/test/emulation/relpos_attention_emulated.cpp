// The CUDA source compiled as C++ against cuda_emulation.h.
#include "../../relpos_attention.cu"
