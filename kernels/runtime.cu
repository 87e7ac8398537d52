// Device queries for native/src/runtime.cpp.
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

}  // namespace mla
