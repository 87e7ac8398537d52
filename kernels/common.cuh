// Helpers shared by the CUDA kernels.
#pragma once

#include <cuda_runtime.h>

#include "common.h"

// kernel<<<grid, block, shared bytes, stream>>>(...) and `extern __shared__` as macros, so that
// kernels/test/emulation can compile these files as C++ and run the kernels on a CPU.
#ifndef MLA_LAUNCH
#define MLA_LAUNCH(kernel, grid, block, shared_bytes, stream) kernel<<<grid, block, shared_bytes, stream>>>
#define MLA_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

namespace mla {

constexpr float kLog2e = 1.4426950408889634f;

// Maps a CUDA error to a status code; cudaGetLastError() also clears a non-sticky error.
inline int status_of(cudaError_t e) {
    if (e == cudaSuccess) return MLA_OK;
    if (e == cudaErrorMemoryAllocation) return MLA_ERR_OUT_OF_MEMORY;
    return MLA_ERR_CUDA;
}

inline int launch_status() { return status_of(cudaGetLastError()); }

// Valid keys of batch b. Lengths live in device memory, where the host cannot check them:
// out-of-range values are clamped to [1, Tk] so that no read leaves the inputs.
__device__ __forceinline__ int valid_keys(const int32_t* lengths, int b, int Tk) {
    if (lengths == nullptr) return Tk;
    const int n = lengths[b];
    return n < 1 ? 1 : (n > Tk ? Tk : n);
}

// Sum over the 32 lanes of a warp; every lane gets the same bits (a xor butterfly adds the same
// pairs on both sides), so branches on the result stay warp-uniform.
__device__ __forceinline__ float warp_sum(float x) {
    for (int off = 16; off > 0; off >>= 1) x += __shfl_xor_sync(0xffffffffu, x, off);
    return x;
}

__host__ __device__ constexpr int align4(int x) { return (x + 3) & ~3; }

}  // namespace mla
