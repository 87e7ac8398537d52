// Device memory and timing for the CUDA checks and benchmarks (a GPU, or the emulation of kernels/test/emulation).
#pragma once

#ifdef MHA2MLA_WITH_CUDA

#include <cuda_runtime_api.h>

#include <vector>

#include "reference.h"

namespace kcheck {

template <class T>
T* to_device(const std::vector<T>& x) {
    if (x.empty()) return nullptr;
    void* d = nullptr;
    if (cudaMalloc(&d, x.size() * sizeof(T)) != cudaSuccess) return nullptr;
    cudaMemcpy(d, x.data(), x.size() * sizeof(T), cudaMemcpyHostToDevice);
    return static_cast<T*>(d);
}

// Device copies of a Problem's (T = float) or a Problem16's (T = uint16_t) inputs, and an output poisoned with NaN.
template <class T>
struct DeviceProblemOf {
    BuffersOf<T> x{};
    std::vector<void*> owned;
    template <class Inputs>
    explicit DeviceProblemOf(const Inputs& pb) {
        x.q = keep(to_device(pb.q));
        x.k = keep(to_device(pb.k));
        x.v = keep(to_device(pb.v));
        x.p = keep(to_device(pb.p));
        x.u = keep(to_device(pb.u));
        x.w = keep(to_device(pb.w));
        x.lengths = keep(to_device(pb.shape.lengths));
        x.out = keep(to_device(std::vector<T>(pb.out_size, poison<T>())));
    }
    template <class U> U* keep(U* p) {
        owned.push_back(const_cast<void*>(static_cast<const void*>(p)));
        return p;
    }
    std::vector<T> output(size_t n) const {
        std::vector<T> y(n);
        cudaMemcpy(y.data(), x.out, n * sizeof(T), cudaMemcpyDeviceToHost);
        return y;
    }
    ~DeviceProblemOf() {
        for (void* p : owned) cudaFree(p);
    }
};
using DeviceProblem = DeviceProblemOf<float>;

// Device memory for stream_through_caches.
struct DeviceMemory {
    int device = MLA_DEVICE_CUDA;
    void* stream = nullptr;
    std::vector<void*> owned;
    void* ws = nullptr;
    int64_t ws_bytes = 0;
    const float* put(const std::vector<float>& x) { return keep(to_device(x)); }
    float* buffer(size_t n) { return keep(to_device(std::vector<float>(n, NAN))); }
    void fetch(float* dst, const float* src, size_t n) {
        cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
        cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost);
    }
    void poison(float* x, size_t n) { cudaMemsetAsync(x, 0xff, n * sizeof(float), static_cast<cudaStream_t>(stream)); }
    void* workspace(int64_t bytes) {  // grow-only, like a caller's
        if (bytes > ws_bytes) {
            cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
            cudaFree(ws);
            ws = nullptr;
            ws_bytes = cudaMalloc(&ws, size_t(bytes)) == cudaSuccess ? bytes : 0;
        }
        return bytes > 0 ? ws : nullptr;
    }
    float* keep(float* p) {
        owned.push_back(p);
        return p;
    }
    DeviceMemory() = default;
    DeviceMemory(const DeviceMemory&) = delete;
    ~DeviceMemory() {
        for (void* p : owned) cudaFree(p);
        cudaFree(ws);
    }
};

// Device memory for `requested` key splits of entry point 2 on shape s, sized by mla_latent_attention_plan
// (requested = 0: the planned count, then in `splits`).
struct DeviceWorkspace {
    int splits;
    int64_t bytes = 0;
    void* ptr = nullptr;
    DeviceWorkspace(const Shape& s, int requested) : splits(requested) {
        if (mla_latent_attention_plan(MLA_DEVICE_CUDA, s.B, s.H, s.Tq, s.dim, s.Tk, &splits, &bytes) != MLA_OK) bytes = 0;
        if (bytes > 0 && cudaMalloc(&ptr, size_t(bytes)) != cudaSuccess) ptr = nullptr;
    }
    DeviceWorkspace(const DeviceWorkspace&) = delete;
    ~DeviceWorkspace() { cudaFree(ptr); }
};

// Runs `call` once to warm up and once timed (CUDA events on `stream`); returns its status.
template <class F>
int time_cuda(cudaStream_t stream, F call, double& ms, int reps = 1) {
    int status = MLA_OK;
#ifndef MHA2MLA_CUDA_EMULATION  // emulated launches are slow, and their timings meaningless
    status = call();
    if (status != MLA_OK) return status;
#endif
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    cudaEventRecord(a, stream);
    for (int i = 0; i < reps && status == MLA_OK; ++i) status = call();
    cudaEventRecord(b, stream);
    if (cudaEventSynchronize(b) != cudaSuccess) status = MLA_ERR_CUDA;
    float f = 0.0f;
    cudaEventElapsedTime(&f, a, b);
    ms = f / reps;
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return status;
}

}  // namespace kcheck

#endif
