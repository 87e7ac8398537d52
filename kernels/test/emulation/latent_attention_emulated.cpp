// The CUDA source compiled as C++ against cuda_emulation.h.
#include "../../latent_attention.cu"
