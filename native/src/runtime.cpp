// Status strings, build/device queries, and the CPU settings shared by all kernels
// (thread count, code variant, per-thread scratch).
#include <atomic>
#include <cstdlib>
#include <cstring>

#include <omp.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common.h"

namespace mla {
namespace {

std::atomic<int> g_num_threads{0};
// -1: not chosen yet; else a CpuIsa value.
std::atomic<int> g_isa{-1};

bool cpu_supports(CpuIsa isa) {
    __builtin_cpu_init();
    switch (isa) {
        case CpuIsa::Baseline: return true;
        case CpuIsa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case CpuIsa::Avx512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
                   __builtin_cpu_supports("fma");
    }
    return false;
}

CpuIsa best_isa() {
    if (cpu_supports(CpuIsa::Avx512)) return CpuIsa::Avx512;
    if (cpu_supports(CpuIsa::Avx2)) return CpuIsa::Avx2;
    return CpuIsa::Baseline;
}

struct ScratchSlot {
    float* data = nullptr;
    size_t floats = 0;
    ~ScratchSlot() { std::free(data); }
};

}  // namespace

CpuIsa cpu_isa() {
    int isa = g_isa.load(std::memory_order_relaxed);
    if (isa < 0) {
        isa = int(best_isa());
        g_isa.store(isa, std::memory_order_relaxed);
    }
    return CpuIsa(isa);
}

int cpu_threads() {
    const int n = g_num_threads.load(std::memory_order_relaxed);
    return n > 0 ? n : omp_get_max_threads();
}

float* thread_scratch(int slot, size_t floats) {
    thread_local ScratchSlot slots[kScratchSlots];
    ScratchSlot& s = slots[slot];
    if (floats > s.floats) {
        std::free(s.data);
        const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
        s.data = static_cast<float*>(std::aligned_alloc(64, bytes));
        s.floats = s.data != nullptr ? floats : 0;
    }
    return s.data;
}

}  // namespace mla

extern "C" {

const char* mla_status_string(int status) {
    switch (status) {
        case MLA_OK: return "ok";
        case MLA_ERR_INVALID_ARGUMENT: return "invalid argument";
        case MLA_ERR_UNSUPPORTED: return "unsupported (not built for this device, or a size beyond its limits)";
        case MLA_ERR_CUDA: return "CUDA error";
        case MLA_ERR_OUT_OF_MEMORY: return "out of memory";
        default: return "unknown status";
    }
}

int mla_cuda_compiled(void) {
#ifdef MHA2MLA_WITH_CUDA
    return 1;
#else
    return 0;
#endif
}

int mla_cuda_device_count(void) {
#ifdef MHA2MLA_WITH_CUDA
    return mla::cuda_device_count();
#else
    return 0;
#endif
}

const char* mla_cpu_isa(void) {
    switch (mla::cpu_isa()) {
        case mla::CpuIsa::Avx512: return "avx512f";
        case mla::CpuIsa::Avx2: return "avx2";
        case mla::CpuIsa::Baseline: break;
    }
    return "baseline";
}

int mla_set_num_threads(int n) {
    if (n < 0) return MLA_ERR_INVALID_ARGUMENT;
    mla::g_num_threads.store(n, std::memory_order_relaxed);
    return MLA_OK;
}

int64_t mla_malloc_in_use_bytes(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 m = mallinfo2();
    return int64_t(m.uordblks) + int64_t(m.hblkhd);  // in-use heap chunks + mmap'd blocks
#else
    return -1;
#endif
}

int mla_set_cpu_isa(const char* isa) {
    mla::CpuIsa want;
    if (isa == nullptr || std::strcmp(isa, "auto") == 0) want = mla::best_isa();
    else if (std::strcmp(isa, "avx512f") == 0) want = mla::CpuIsa::Avx512;
    else if (std::strcmp(isa, "avx2") == 0) want = mla::CpuIsa::Avx2;
    else if (std::strcmp(isa, "baseline") == 0) want = mla::CpuIsa::Baseline;
    else return MLA_ERR_INVALID_ARGUMENT;
    if (!mla::cpu_supports(want)) return MLA_ERR_UNSUPPORTED;
    mla::g_isa.store(int(want), std::memory_order_relaxed);
    return MLA_OK;
}

}  // extern "C"
