// Internal declarations shared by the CPU sources (native/src) and the CUDA sources (kernels/).
// Plain C++17, no CUDA and no SIMD here: the .cu files include it too.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mha2mla.h"

namespace mla {

// Arguments of mla_relpos_attention_f32, validated. Strides are in elements.
struct RelposArgs {
    int B, H, Tq, Tk, dh, P, zero_row, q_offset;
    float scale;
    const float* q; int64_t qs[3];   // batch, head, time
    const float* k; int64_t ks[3];
    const float* v; int64_t vs[3];
    const float* p; int64_t ps[2];   // row, head
    const float* u;                  // [H, dh]
    const float* w;                  // [H, dh]
    const int32_t* lengths;          // [B] or nullptr
    float* out; int64_t os[3];
};

// Arguments of mla_latent_attention_f32, validated.
struct LatentArgs {
    int B, H, Tq, Tk, r, dh, P, zero_row, q_offset;
    float scale;
    const float* qa; int64_t qas[3]; // batch, head, time
    const float* c; int64_t cs[2];   // batch, time
    const float* qw; int64_t qws[3];
    const float* p; int64_t ps[2];   // row, head
    const int32_t* lengths;
    float* z; int64_t zs[3];
};

// Input strides may be 0 (broadcast) but not negative; output strides must be positive.
inline bool strides_ok(const int64_t* s, int n, bool output) {
    if (s == nullptr) return false;
    for (int i = 0; i < n; ++i)
        if (s[i] < (output ? 1 : 0)) return false;
    return true;
}

// Valid pairs are i in [0,Tq), j in [0,max_len): the p row zero_row - (q_offset + i - j) is smallest
// at (Tq-1, 0) and largest at (0, max_len-1); both must lie in [0,P).
inline bool rows_in_range(int P, int zero_row, int q_offset, int Tq, int max_len) {
    const int64_t lo = int64_t(zero_row) - q_offset - (Tq - 1);
    const int64_t hi = int64_t(zero_row) - q_offset + (max_len - 1);
    return lo >= 0 && hi < P;
}

// Largest length, or -1 if one lies outside [1,Tk]. Host memory only.
inline int max_length(const int32_t* lengths, int B, int Tk) {
    if (lengths == nullptr) return Tk;
    int m = 0;
    for (int b = 0; b < B; ++b) {
        if (lengths[b] < 1 || lengths[b] > Tk) return -1;
        if (lengths[b] > m) m = lengths[b];
    }
    return m;
}

// Largest head sizes the CUDA kernels are instantiated for.
constexpr int kCudaMaxHeadDim = 128;
constexpr int kCudaMaxLatentDim = 1024;

// The CPU code variant the kernels dispatch to.
enum class CpuIsa { Baseline = 0, Avx2 = 1, Avx512 = 2 };
CpuIsa cpu_isa();
int cpu_threads();  // threads for one parallel region (mla_set_num_threads, else OpenMP's default)

// Per-thread, 64-byte aligned, grow-only scratch. Two independent slots per thread; nullptr when out
// of memory. The pointer stays valid until the same thread asks the same slot for more.
float* thread_scratch(int slot, size_t floats);

int relpos_attention_cpu(const RelposArgs& a);
int latent_attention_cpu(const LatentArgs& a);

// Workspace of the split-keys latent kernel (mla_latent_attention_split_f32), byte offsets. Split
// partials are indexed (b * splits + split) * H * Tq + row: m and l one float each, z r floats.
struct LatentWorkspace {
    int64_t m, l, z, bytes;
    LatentWorkspace(int B, int H, int Tq, int r, int splits) {
        const int64_t n = int64_t(B) * splits * H * Tq;
        const int64_t aligned = (n * 4 + 255) / 256 * 256;
        m = 0;
        l = aligned;
        z = 2 * aligned;
        bytes = z + n * r * 4;
    }
};
constexpr int kCudaMaxSplits = 256;

#ifdef MHA2MLA_WITH_CUDA
int relpos_attention_cuda(const RelposArgs& a, void* stream);
// splits == 1: workspace unused; else a LatentWorkspace of that many splits.
int latent_attention_cuda(const LatentArgs& a, void* stream, int splits, void* workspace);
int latent_cuda_splits(int B, int H, int Tq, int r, int Tk);
int cuda_device_count();
#endif

}  // namespace mla
