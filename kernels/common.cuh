// Helpers shared by the CUDA kernels.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
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

// The kernels' element types E: float, Bf16 and F16 (common.h), whose bits are those of float, __nv_bfloat16 and
// __half. Inputs are widened to float32 as they are loaded (exact), all arithmetic is float32, and an output is
// rounded once as it is stored, to nearest even.
template <class E>
struct CudaElement;
template <>
struct CudaElement<float> {
    typedef float T;
    static __device__ __forceinline__ float widen(float x) { return x; }
    static __device__ __forceinline__ float narrow(float x) { return x; }
};
template <>
struct CudaElement<Bf16> {
    typedef __nv_bfloat16 T;
    static __device__ __forceinline__ float widen(T x) { return __bfloat162float(x); }
    static __device__ __forceinline__ T narrow(float x) { return __float2bfloat16_rn(x); }
};
template <>
struct CudaElement<F16> {
    typedef __half T;
    static __device__ __forceinline__ float widen(T x) { return __half2float(x); }
    static __device__ __forceinline__ T narrow(float x) { return __float2half_rn(x); }
};

template <class E>
__device__ __forceinline__ float load(const E* p) {
    typedef CudaElement<E> C;
    return C::widen(*reinterpret_cast<const typename C::T*>(p));
}
// load through the read-only data cache (for data no thread of the kernel writes).
template <class E>
__device__ __forceinline__ float ldg(const E* p) {
    typedef CudaElement<E> C;
    return C::widen(__ldg(reinterpret_cast<const typename C::T*>(p)));
}
template <class E>
__device__ __forceinline__ void store(E* p, float x) {
    typedef CudaElement<E> C;
    *reinterpret_cast<typename C::T*>(p) = C::narrow(x);
}

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

// One key of an online softmax for the RT query rows a warp holds (flash attention): scores s (base 2, already
// summed over the warp, so every lane holds the same values and the branch stays warp-uniform) and the key's
// value, C floats per lane (dimension d = lane + 32 c). Keeps m = max score, l = sum 2^(s - m) and
// acc = sum 2^(s - m) v.
template <int RT, int C>
__device__ __forceinline__ void online_softmax_step(float (&m)[RT], float (&l)[RT], float (&acc)[RT][C],
                                                    const float (&s)[RT], const float (&v)[C]) {
    #pragma unroll
    for (int t = 0; t < RT; ++t) {
        if (s[t] > m[t]) {
            const float corr = exp2f(m[t] - s[t]);
            l[t] *= corr;
            #pragma unroll
            for (int c = 0; c < C; ++c) acc[t][c] *= corr;
            m[t] = s[t];
        }
        const float e = exp2f(s[t] - m[t]);
        l[t] += e;
        #pragma unroll
        for (int c = 0; c < C; ++c) acc[t][c] += e * v[c];
    }
}

// Merges the kWarps warps' online-softmax states of a block over their keys:
// M[t] = max_w m_w, L[t] = sum_w l_w 2^(m_w - M), and sums[t * C * 32 + d] = sum_w acc_w[d] 2^(m_w - M) (shared,
// RT * C * 32 floats). ms, ls: shared [kWarps][RT] scratch. Every thread gets M and L; ends synchronised.
template <int kWarps, int RT, int C>
__device__ __forceinline__ void merge_warps(int warp, int lane, const float (&m)[RT], const float (&l)[RT],
                                            const float (&acc)[RT][C], float (*ms)[RT], float (*ls)[RT],
                                            float* sums, float (&M)[RT], float (&L)[RT]) {
    if (lane == 0)
        #pragma unroll
        for (int t = 0; t < RT; ++t) { ms[warp][t] = m[t]; ls[warp][t] = l[t]; }
    for (int x = threadIdx.x; x < RT * C * 32; x += kWarps * 32) sums[x] = 0.0f;
    __syncthreads();
    #pragma unroll
    for (int t = 0; t < RT; ++t) {
        M[t] = -INFINITY;
        #pragma unroll
        for (int w = 0; w < kWarps; ++w) M[t] = fmaxf(M[t], ms[w][t]);
        L[t] = 0.0f;
        #pragma unroll
        for (int w = 0; w < kWarps; ++w)
            if (ms[w][t] != -INFINITY) L[t] += ls[w][t] * exp2f(ms[w][t] - M[t]);
    }
    #pragma unroll
    for (int w = 0; w < kWarps; ++w) {
        if (warp == w) {
            #pragma unroll
            for (int t = 0; t < RT; ++t) {
                const float f = m[t] != -INFINITY ? exp2f(m[t] - M[t]) : 0.0f;
                #pragma unroll
                for (int c = 0; c < C; ++c) sums[t * C * 32 + c * 32 + lane] += acc[t][c] * f;
            }
        }
        __syncthreads();
    }
}

// Split partials of the split-keys kernels in a LatentWorkspace: index (b * splits + split) * rows + row with
// row = i * H + h (z: times the output width).
struct SplitBuffers {
    float* m;
    float* l;
    float* z;
};

inline SplitBuffers split_buffers(void* workspace, int B, int H, int Tq, int width, int splits) {
    if (splits <= 1) return {nullptr, nullptr, nullptr};
    const LatentWorkspace w(B, H, Tq, width, splits);
    char* base = static_cast<char*>(workspace);
    return {reinterpret_cast<float*>(base + w.m), reinterpret_cast<float*>(base + w.l),
            reinterpret_cast<float*>(base + w.z)};
}

// Up to kWindowsPerLaunch cache windows, by value: a kernel parameter, so no device copy of the list is needed.
// Kernels take it as __grid_constant__, so indexing it by block reads parameter memory, not a local copy.
struct CacheWindows {
    static constexpr bool kCache = true;
    CacheWindow w[kWindowsPerLaunch];
};
// The dense keys of entry points 1-2 in the same template slot.
struct NoWindows {
    static constexpr bool kCache = false;
};

inline CacheWindows copy_windows(const CacheWindow* windows, int count) {
    CacheWindows cw{};
    for (int b = 0; b < count; ++b) cw.w[b] = windows[b];
    return cw;
}

// Merges the split partials into z (latent_attention.cu); also serves the K/V cache kernel with a.r = dh (E = float).
template <class E>
int launch_latent_combine(const LatentArgsOf<E>& a, const SplitBuffers& ws, int splits, cudaStream_t stream);

// A split count for `blocks` blocks per split over Tk keys: about two blocks per multiprocessor, at least
// 128 keys per split, at most kCudaMaxSplits (runtime.cu).
int cuda_key_splits(int64_t blocks, int Tk);

}  // namespace mla
