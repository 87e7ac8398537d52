// CPU emulation of the CUDA features the mha2mla kernels and kernel_check use, so that the CUDA
// kernels' logic (indexing, shared memory, __syncthreads, warp shuffles, split merging) is checked on
// machines without a GPU, CI included. The .cu files compile unchanged as C++ (see
// *_emulated.cpp); device memory is host memory.
//
// A launch runs its blocks one after another; each CUDA thread of a block is a std::thread,
// __syncthreads() is a barrier of the block and __shfl_xor_sync a barrier of the warp. Shared memory
// starts as NaN (all bits set), so a read before a write shows up in the results. Slow (thousands of
// context switches per block) and silent about performance and memory-ordering subtleties.
#pragma once

#define MHA2MLA_CUDA_EMULATION 1

#include <pthread.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "half_precision.h"

struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };

inline thread_local uint3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static  // one block runs at a time, so a static is shared by exactly its threads
#define __grid_constant__  // a kernel parameter the kernel reads in place (no local copy); nothing to do here

namespace mla_emu {

constexpr size_t kMaxSharedBytes = 232448;  // an H100's opt-in limit per block

struct Block {
    pthread_barrier_t all;
    pthread_barrier_t warp[32];
    float lanes[1024];
    std::vector<float4> shared;
};
inline Block* g_block = nullptr;

inline void* dynamic_shared() { return g_block->shared.data(); }

template <class... Args>
struct Launch {
    void (*kernel)(Args...);
    dim3 grid, block;
    size_t shared_bytes;
    template <class... Actual>
    void operator()(Actual... actual) const {
        const unsigned threads = block.x * block.y * block.z;
        if (block.y != 1 || block.z != 1 || threads % 32 != 0 || threads > 1024 || shared_bytes > kMaxSharedBytes) {
            std::fprintf(stderr, "cuda emulation: unsupported launch shape\n");
            std::abort();
        }
        blockDim = block;
        gridDim = grid;
        for (unsigned z = 0; z < grid.z; ++z)
            for (unsigned y = 0; y < grid.y; ++y)
                for (unsigned x = 0; x < grid.x; ++x) {
                    auto b = std::make_unique<Block>();
                    pthread_barrier_init(&b->all, nullptr, threads);
                    for (unsigned w = 0; w < threads / 32; ++w) pthread_barrier_init(&b->warp[w], nullptr, 32);
                    b->shared.resize(shared_bytes / sizeof(float4) + 1);
                    std::memset(static_cast<void*>(b->shared.data()), 0xff, b->shared.size() * sizeof(float4));
                    g_block = b.get();
                    std::vector<std::thread> pool;
                    for (unsigned t = 0; t < threads; ++t)
                        pool.emplace_back([&, t] {
                            threadIdx = {t, 0, 0};
                            blockIdx = {x, y, z};
                            kernel(actual...);
                        });
                    for (std::thread& th : pool) th.join();
                    pthread_barrier_destroy(&b->all);
                    for (unsigned w = 0; w < threads / 32; ++w) pthread_barrier_destroy(&b->warp[w]);
                    g_block = nullptr;
                }
    }
};

template <class... Args>
Launch<Args...> launch(void (*kernel)(Args...), dim3 grid, dim3 block, size_t shared_bytes) {
    return {kernel, grid, block, shared_bytes};
}

}  // namespace mla_emu

#define MLA_LAUNCH(kernel, grid, block, shared_bytes, stream) \
    ((void)(stream), mla_emu::launch(kernel, dim3(grid), dim3(block), size_t(shared_bytes)))
#define MLA_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(mla_emu::dynamic_shared())

// Device functions.
inline void __syncthreads() { pthread_barrier_wait(&mla_emu::g_block->all); }

inline float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
    if (mask != 0xffffffffu) std::abort();  // the kernels only shuffle whole warps
    const unsigned t = threadIdx.x, base = t & ~31u;
    mla_emu::Block& b = *mla_emu::g_block;
    b.lanes[t] = v;
    pthread_barrier_wait(&b.warp[t / 32]);
    const float other = b.lanes[base + ((t - base) ^ unsigned(lane_mask))];
    pthread_barrier_wait(&b.warp[t / 32]);
    return other;
}

inline float __ldg(const float* p) { return *p; }

// cuda_bf16.h and cuda_fp16.h: the 16-bit types as their bits, and the conversions the kernels use, with the GPU's
// rounding (cvt.rn: to nearest even, NaN -> 0x7fff; half_precision.h, which kernel_check holds to CUDA's headers).
struct __nv_bfloat16 { unsigned short bits; };
struct __half { unsigned short bits; };
inline float __bfloat162float(__nv_bfloat16 x) { return mla::bf16_to_float(x.bits); }
inline __nv_bfloat16 __float2bfloat16_rn(float x) { return {mla::float_to_bf16(x)}; }
inline float __half2float(__half x) { return mla::f16_to_float(x.bits); }
inline __half __float2half_rn(float x) { return {mla::float_to_f16(x)}; }
inline __nv_bfloat16 __ldg(const __nv_bfloat16* p) { return *p; }
inline __half __ldg(const __half* p) { return *p; }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }

// Runtime API.
enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2 };
typedef struct mla_emu_stream* cudaStream_t;
typedef double* cudaEvent_t;
struct cudaDeviceProp {
    char name[256];
    int major, minor;
};

inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorString(cudaError_t) { return "emulated CUDA error"; }
template <class F>
cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int value) {
    return size_t(value) <= mla_emu::kMaxSharedBytes ? cudaSuccess : cudaErrorInvalidValue;
}
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr, int) { *v = 4; return cudaSuccess; }  // 4 "SMs"
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
    std::snprintf(p->name, sizeof p->name, "CPU emulation of the CUDA kernels");
    p->major = 9;
    p->minor = 0;
    return cudaSuccess;
}
inline cudaError_t cudaMalloc(void** p, size_t n) {
    *p = std::malloc(n == 0 ? 1 : n);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { std::memcpy(d, s, n); return cudaSuccess; }
inline cudaError_t cudaMemset(void* d, int v, size_t n) { std::memset(d, v, n); return cudaSuccess; }
inline cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t) { return cudaMemset(d, v, n); }
inline cudaError_t cudaStreamCreate(cudaStream_t* s) { *s = reinterpret_cast<cudaStream_t>(new char); return cudaSuccess; }
inline cudaError_t cudaStreamDestroy(cudaStream_t s) { delete reinterpret_cast<char*>(s); return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaEventCreate(cudaEvent_t* e) { *e = new double(0.0); return cudaSuccess; }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) { delete e; return cudaSuccess; }
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    *e = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
    return cudaSuccess;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) { *ms = float(*b - *a); return cudaSuccess; }
