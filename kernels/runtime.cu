// Device queries, memory and split planning for native/src (runtime.cpp, streaming_cache.cpp) and the kernels.
#include "common.cuh"

namespace mla {

int cuda_device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();  // no driver or no device: not an error for the caller
        return 0;
    }
    return n;
}

int cuda_malloc(void** p, size_t bytes) {
    *p = nullptr;
    const cudaError_t e = cudaMalloc(p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        *p = nullptr;
    }
    return status_of(e);
}

void cuda_free(void* p) {
    if (p != nullptr) cudaFree(p);
}

int cuda_key_splits(int64_t blocks, int Tk) {
    int device = 0, sms = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
        cudaGetLastError();
        return 1;
    }
    const int64_t want = (2 * int64_t(sms) + blocks - 1) / blocks;  // about two blocks per SM
    const int64_t most = Tk / 128 > 1 ? Tk / 128 : 1;                // at least 128 keys per split
    int64_t splits = want < most ? want : most;
    if (splits > kCudaMaxSplits) splits = kCudaMaxSplits;
    return splits < 1 ? 1 : int(splits);
}

}  // namespace mla
