// Internal declarations shared by the CPU sources (native/src) and the CUDA sources (kernels/).
// Plain C++17, no CUDA and no SIMD here: the .cu files include it too.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mha2mla.h"

// Functions the CPU and the CUDA code both call (plain inline functions in a CPU-only build).
#ifdef __CUDACC__
#define MLA_HOST_DEVICE __host__ __device__
#else
#define MLA_HOST_DEVICE
#endif

namespace mla {

// One session's window in a streaming cache (mla_*_cache_attend_f32, streaming_cache.cpp): key j of the
// window (0 = the oldest frame) is row window_row(w, j) of the layer's ring of `capacity` rows.
// Latent caches: row x of c at k + x * ts (hs unused). K/V caches: head h of row x at k + h * hs + x * ts, and
// the same in v.
struct CacheWindow {
    const float* k;
    const float* v;  // nullptr for a latent cache
    int64_t hs, ts;  // head and row strides, elements
    int start;       // ring row of the window's oldest frame, in [0, capacity)
    int capacity;    // ring rows allocated now (at most the cache's max_frames)
    int frames;      // frames in the window, in [1, capacity]
};

// start + j < 2 * capacity <= 2^31: no overflow, one compare instead of a modulo.
MLA_HOST_DEVICE inline int window_row(const CacheWindow& w, int j) {
    const int x = w.start + j;
    return x >= w.capacity ? x - w.capacity : x;
}

// Caches one attend call passes to a kernel at most; the CUDA kernels take them by value (kernel parameter).
constexpr int kWindowsPerLaunch = 32;

// Element types of the 16-bit entry points, as raw bits: bfloat16 (the high half of a float32's bits) and IEEE
// binary16. The CUDA kernels read them as __nv_bfloat16 and __half (common.cuh); half_precision.h converts them
// on the CPU.
struct Bf16 { uint16_t bits; };
struct F16 { uint16_t bits; };

// Arguments of mla_relpos_attention, validated (entry_points.cpp); E is the element type of the tensors:
// float, Bf16 or F16. Strides are in elements.
template <class E>
struct RelposArgsOf {
    int B, H, Tq, Tk, dh, P, zero_row, q_offset;
    float scale;
    const E* q; int64_t qs[3];   // batch, head, time
    const E* k; int64_t ks[3];
    const E* v; int64_t vs[3];
    const E* p; int64_t ps[2];   // row, head
    const E* u;                  // [H, dh]
    const E* w;                  // [H, dh]
    const int32_t* lengths;      // [B] or nullptr
    E* out; int64_t os[3];
    // Keys from streaming caches (mla_kv_cache_attend_f32, E = float): [B] host windows, nullptr for entry point 1.
    // Then k, v, ks, vs and lengths are unused, batch b has windows[b].frames keys and its queries sit at
    // the window's last Tq positions (q_offset = frames - Tq).
    const CacheWindow* windows = nullptr;
};
using RelposArgs = RelposArgsOf<float>;

// Arguments of mla_latent_attention, validated (entry_points.cpp).
template <class E>
struct LatentArgsOf {
    int B, H, Tq, Tk, r, dh, P, zero_row, q_offset;
    float scale;
    const E* qa; int64_t qas[3]; // batch, head, time
    const E* c; int64_t cs[2];   // batch, time
    const E* qw; int64_t qws[3];
    const E* p; int64_t ps[2];   // row, head
    const int32_t* lengths;
    E* z; int64_t zs[3];
    // Keys from streaming caches (mla_latent_cache_attend_f32, E = float): [B] host windows, nullptr for entry
    // point 2. Then c, cs and lengths are unused; batch b has windows[b].frames keys, q_offset = frames - Tq.
    const CacheWindow* windows = nullptr;
};
using LatentArgs = LatentArgsOf<float>;

// Valid keys and query offset of batch b, host side, for either source of keys.
template <class Args>
inline int keys_of(const Args& a, int b) {
    if (a.windows != nullptr) return a.windows[b].frames;
    return a.lengths != nullptr ? a.lengths[b] : a.Tk;
}
template <class Args>
inline int q_offset_of(const Args& a, int b) {
    return a.windows != nullptr ? a.windows[b].frames - a.Tq : a.q_offset;
}

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
// Of a kernel compiled three times (cpu_simd.h), the variant this CPU runs.
template <class F>
F for_this_cpu(F baseline, F avx2, F avx512) {
    switch (cpu_isa()) {
        case CpuIsa::Avx512: return avx512;
        case CpuIsa::Avx2: return avx2;
        case CpuIsa::Baseline: break;
    }
    return baseline;
}
int cpu_threads();  // threads for one parallel region (mla_set_num_threads, else OpenMP's default)

// Per-thread, 64-byte aligned, grow-only scratch; nullptr when out of memory. The pointer stays valid until the
// same thread asks the same slot for more. Independent slots: 0 and 1 for the float32 kernels (0 in every thread of
// a parallel region, 1 in the calling thread), kWidenedSlot for the float32 copies of the 16-bit entry points'
// tensors (half_precision.cpp), which must outlive a float32 kernel call on the same thread.
constexpr int kScratchSlots = 3;
constexpr int kWidenedSlot = 2;
float* thread_scratch(int slot, size_t floats);

int relpos_attention_cpu(const RelposArgs& a);
int latent_attention_cpu(const LatentArgs& a);
// The 16-bit forms (half_precision.cpp): the float32 kernel on float32 copies of the inputs, its output rounded.
int relpos_attention_cpu(const RelposArgsOf<Bf16>& a);
int relpos_attention_cpu(const RelposArgsOf<F16>& a);
int latent_attention_cpu(const LatentArgsOf<Bf16>& a);
int latent_attention_cpu(const LatentArgsOf<F16>& a);
int linear_cpu(int M, int N, int K, const float* x, int64_t ldx, const float* w, const float* b, float* y,
               int64_t ldy);

// Workspace of the split-keys latent kernel (mla_latent_attention with num_splits > 1), byte offsets. Split
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

// The result of a plan call (mla_latent_attention_plan, mla_cache_attend_plan) for `splits` key splits (0 or 1:
// one) of a latent or K/V kernel whose partials are `width` wide.
inline int set_plan(int splits, int B, int H, int Tq, int width, int* num_splits, int64_t* workspace_bytes) {
    if (splits > kCudaMaxSplits) return MLA_ERR_UNSUPPORTED;
    *num_splits = splits < 1 ? 1 : splits;
    *workspace_bytes = *num_splits == 1 ? 0 : LatentWorkspace(B, H, Tq, width, *num_splits).bytes;
    return MLA_OK;
}

// Copies `frames` new frames into a cache ring (mla_*_cache_append_f32): value d of head h of source frame f,
// src[part] + f * src_ts[part] + h * src_hs[part] + d, goes to dst[part] + h * dst_hs + row * width + d with
// row = (first_row + f) mod capacity. Latent caches: one part, one head, width r; K/V caches: parts K and V,
// H heads, width dh.
struct CacheCopy {
    const float* src[2];
    int64_t src_ts[2], src_hs[2];
    float* dst[2];
    int64_t dst_hs;
    int parts, heads, width, frames, first_row, capacity;
};

#ifdef MHA2MLA_WITH_CUDA
// E: the element type of the tensors (instantiated in the .cu files).
template <class E>
int relpos_attention_cuda(const RelposArgsOf<E>& a, void* stream);
// splits == 1: workspace unused; else a LatentWorkspace of that many splits. With a.windows, a.B <= kWindowsPerLaunch.
template <class E>
int latent_attention_cuda(const LatentArgsOf<E>& a, void* stream, int splits, void* workspace);
int latent_cuda_splits(int B, int H, int Tq, int r, int Tk);
// Attention over K/V cache windows (a.windows, a.B <= kWindowsPerLaunch); workspace: LatentWorkspace(B, H, Tq, dh, splits).
int kv_cache_attention_cuda(const RelposArgs& a, void* stream, int splits, void* workspace);
int kv_cache_cuda_splits(int B, int H, int Tq, int Tk);
int cache_copy_cuda(const CacheCopy& c, void* stream);
int cuda_device_count();
int cuda_malloc(void** p, size_t bytes);  // MLA_OK or MLA_ERR_OUT_OF_MEMORY / MLA_ERR_CUDA
void cuda_free(void* p);
#endif

}  // namespace mla
