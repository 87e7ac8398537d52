// Streaming caches (entry point 3 of mha2mla.h): one cache per session, per layer a ring of the most recent
// frames, latent (absorbed MLA) or K/V (MHA / expanded MLA); append a chunk, attend its queries.
//
// Per layer the cache is a ring of `capacity` rows. The layer keeps the number of frames appended since
// create / reset, n; its window is the last min(n, capacity) of them: absolute positions first = n - frames ..
// n - 1, position x in ring row x mod capacity. The oldest frame is overwritten only when a newer one arrives
// and the ring holds max_frames rows, so the window is always the exact left context and positions keep
// counting past evictions.
//
// The ring grows with the stream: create allocates min(max_frames, kInitialFrames) rows, and an append whose
// window would not fit reallocates to min(max_frames, max(2 * capacity, frames needed)) rows, moving every
// layer's window to its rows mod the new capacity. A stream's memory is so bounded by the audio it has seen
// (max(kInitialFrames, 2 x its frames) rows, at most max_frames), not by the left context it may use: a left
// context of 2^20 frames costs nothing on a short stream. Doubling keeps the copying under two moves per frame.
//
// Attention reads the window through CacheWindow (start row, frame count) with the entry point 1 / 2 kernels,
// which take it in place of dense keys: the rows of a window are at most two contiguous runs of the ring, so no
// page table is needed.
//
// Layers may differ in size: a latent cache holds r_l floats per frame in layer l (per-layer rank allocation
// after an SVD conversion); a K/V cache 2 * H * dh in every layer. With w_l a layer's row width in floats and
// offset_l = w_0 + ... + w_(l-1), the rings lie one after another: layer l's at data + capacity * offset_l, so
// the cache holds capacity * offset_L floats (L layers), i.e. capacity * sum_l r_l for a latent cache.
// Storage per layer, floats: latent caches [capacity][r_l]; K/V caches K [H][capacity][dh] then
// V [H][capacity][dh] (head-major: a (batch, head) task streams one contiguous run per head).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "common.h"

namespace {

enum class Kind { Latent, KeyValue };

}  // namespace

struct mla_cache {
    Kind kind;
    int device;
    int layers, heads;            // latent: heads = 1
    int* head_dim;                // per layer: r_l (latent), or dh (K/V, the same in every layer)
    int64_t* offset;              // layers + 1 prefix sums of the row widths w_l (floats per frame and layer:
                                  // r_l, or 2 * H * dh): layer l's ring starts at data + capacity * offset[l]
    int max_frames;               // the window's bound, chunk included
    int capacity;                 // rows allocated per layer now, <= max_frames
    float* data;                  // capacity * offset[layers] floats, host or device memory
    int64_t* appended;            // per layer: frames appended since create / reset
};

namespace {

using mla::CacheWindow;

// The largest ring: row indices and start + j stay below 2^31 (see window_row).
constexpr int kMaxFrames = 1 << 30;
// Rows a new ring holds (2.56 s of 20 ms frames); it doubles from there as frames arrive.
constexpr int kInitialFrames = 128;

// Host or device memory for `rows` rows of every layer's ring (row_floats = offset[layers] floats per row of
// all layers together), or nullptr with *status set.
float* allocate_rows(int device, int rows, int64_t row_floats, int* status) {
    const size_t bytes = (size_t(rows) * size_t(row_floats) * sizeof(float) + 63) / 64 * 64;
    float* data = nullptr;
    *status = MLA_OK;
    if (device == MLA_DEVICE_CPU) {
        data = static_cast<float*>(std::aligned_alloc(64, bytes));  // aligned_alloc wants a multiple of 64
        if (data == nullptr) *status = MLA_ERR_OUT_OF_MEMORY;
    } else {
#ifdef MHA2MLA_WITH_CUDA
        void* p = nullptr;
        *status = mla::cuda_malloc(&p, bytes);
        data = static_cast<float*>(p);
#else
        *status = MLA_ERR_UNSUPPORTED;
#endif
    }
    return data;
}

void free_rows(int device, float* data) {
    if (device == MLA_DEVICE_CPU) {
        std::free(data);
    } else {
#ifdef MHA2MLA_WITH_CUDA
        mla::cuda_free(data);  // synchronises the device, so no kernel still reads the old ring
#endif
    }
}

// Layer l's ring in a buffer of `capacity` rows per layer.
float* layer_base(const mla_cache* c, float* data, int capacity, int layer) {
    return data + int64_t(capacity) * c->offset[layer];
}

CacheWindow window_of(const mla_cache* c, int layer) {
    const int64_t n = c->appended[layer];
    const int frames = int(std::min<int64_t>(n, c->capacity));  // capacity < max_frames only while n < capacity
    CacheWindow w;
    const int dim = c->head_dim[layer];
    w.k = layer_base(c, c->data, c->capacity, layer);
    if (c->kind == Kind::KeyValue) {
        w.v = w.k + int64_t(c->heads) * c->capacity * dim;
        w.hs = int64_t(c->capacity) * dim;
    } else {
        w.v = nullptr;
        w.hs = 0;
    }
    w.ts = dim;
    w.start = int((n - frames) % c->capacity);
    w.capacity = c->capacity;
    w.frames = frames;
    return w;
}

// Layer l's head size is dims[l * dims_step]: the latent sizes r_l (step 1), or one dh for all (step 0).
int create(mla_cache** out, Kind kind, int device, int layers, int heads, const int* dims, int dims_step,
           int max_frames) {
    if (out == nullptr) return MLA_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    if (device != MLA_DEVICE_CPU && device != MLA_DEVICE_CUDA) return MLA_ERR_INVALID_ARGUMENT;
    if (layers < 1 || heads < 1 || dims == nullptr || max_frames < 1 || max_frames > kMaxFrames)
        return MLA_ERR_INVALID_ARGUMENT;
    const int parts = kind == Kind::KeyValue ? 2 : 1;
    double row_floats = 0.0;  // sum_l w_l, in double: exact below 2^53, and no int64 overflow before the check
    for (int l = 0; l < layers; ++l) {
        const int dim = dims[int64_t(l) * dims_step];
        if (dim < 1) return MLA_ERR_INVALID_ARGUMENT;
        row_floats += double(parts) * heads * dim;
    }
#ifndef MHA2MLA_WITH_CUDA
    if (device == MLA_DEVICE_CUDA) return MLA_ERR_UNSUPPORTED;
#endif
    const double floats = row_floats * max_frames;  // the most the rings will ever hold: max_frames * sum_l w_l
    if (floats * sizeof(float) > double(INT64_MAX) / 2) return MLA_ERR_OUT_OF_MEMORY;

    mla_cache* c = new (std::nothrow) mla_cache;
    if (c == nullptr) return MLA_ERR_OUT_OF_MEMORY;
    c->kind = kind;
    c->device = device;
    c->layers = layers;
    c->heads = heads;
    c->max_frames = max_frames;
    c->capacity = std::min(max_frames, kInitialFrames);
    c->data = nullptr;
    c->head_dim = new (std::nothrow) int[layers];
    c->offset = new (std::nothrow) int64_t[int64_t(layers) + 1];
    c->appended = new (std::nothrow) int64_t[layers]();
    const bool held = c->head_dim != nullptr && c->offset != nullptr && c->appended != nullptr;
    int status = held ? MLA_OK : MLA_ERR_OUT_OF_MEMORY;
    if (status == MLA_OK) {
        c->offset[0] = 0;
        for (int l = 0; l < layers; ++l) {
            c->head_dim[l] = dims[int64_t(l) * dims_step];
            c->offset[l + 1] = c->offset[l] + int64_t(parts) * heads * c->head_dim[l];
        }
        c->data = allocate_rows(device, c->capacity, c->offset[layers], &status);
    }
    if (status != MLA_OK) {
        mla_cache_destroy(c);
        return status;
    }
    *out = c;
    return MLA_OK;
}

bool layer_ok(const mla_cache* c, int layer) { return c != nullptr && layer >= 0 && layer < c->layers; }

// Writes copy.frames source frames to ring rows (copy.first_row + f) mod copy.capacity.
int copy_rows(const mla_cache* c, const mla::CacheCopy& copy, void* stream) {
    if (c->device == MLA_DEVICE_CPU) {
        for (int f = 0; f < copy.frames; ++f) {
            int row = copy.first_row + f;
            if (row >= copy.capacity) row -= copy.capacity;
            for (int part = 0; part < copy.parts; ++part)
                for (int h = 0; h < copy.heads; ++h)
                    std::memcpy(copy.dst[part] + h * copy.dst_hs + int64_t(row) * copy.width,
                                copy.src[part] + f * copy.src_ts[part] + h * copy.src_hs[part],
                                sizeof(float) * copy.width);
        }
        return MLA_OK;
    }
#ifdef MHA2MLA_WITH_CUDA
    return mla::cache_copy_cuda(copy, stream);
#else
    (void)stream;
    return MLA_ERR_UNSUPPORTED;
#endif
}

// Reallocates the ring to hold at least `rows` rows (<= max_frames) and moves every layer's window to its
// rows in the new ring: the window is at most two runs of old rows, each copied as consecutive positions.
int grow(mla_cache* c, int rows, void* stream) {
    const int capacity = int(std::min<int64_t>(c->max_frames, std::max<int64_t>(rows, 2 * int64_t(c->capacity))));
    int status = MLA_OK;
    float* data = allocate_rows(c->device, capacity, c->offset[c->layers], &status);
    if (status != MLA_OK) return status;
    const bool kv = c->kind == Kind::KeyValue;
    for (int layer = 0; layer < c->layers && status == MLA_OK; ++layer) {
        const CacheWindow w = window_of(c, layer);
        const int64_t first = c->appended[layer] - w.frames;  // absolute position of the window's oldest frame
        const int dim = c->head_dim[layer];
        float* base = layer_base(c, data, capacity, layer);
        for (int done = 0; done < w.frames && status == MLA_OK;) {
            const int row = (w.start + done) % w.capacity;
            const int run = std::min(w.frames - done, w.capacity - row);
            mla::CacheCopy copy{};
            copy.parts = kv ? 2 : 1;
            copy.heads = kv ? c->heads : 1;
            copy.width = dim;
            copy.frames = run;
            copy.first_row = int((first + done) % capacity);
            copy.capacity = capacity;
            copy.dst[0] = base;
            copy.dst[1] = kv ? base + int64_t(c->heads) * capacity * dim : nullptr;
            copy.dst_hs = kv ? int64_t(capacity) * dim : 0;
            copy.src[0] = w.k + int64_t(row) * w.ts;
            copy.src[1] = kv ? w.v + int64_t(row) * w.ts : nullptr;
            copy.src_ts[0] = copy.src_ts[1] = w.ts;
            copy.src_hs[0] = copy.src_hs[1] = w.hs;
            status = copy_rows(c, copy, stream);
            done += run;
        }
    }
    if (status != MLA_OK) {
        free_rows(c->device, data);
        return status;
    }
    free_rows(c->device, c->data);
    c->data = data;
    c->capacity = capacity;
    return MLA_OK;
}

// Writes `frames` frames (copy.src / src_ts / src_hs set) after the layer's last one, growing the ring first
// when the window would not fit. A chunk longer than max_frames keeps only its last max_frames frames, but all
// of them count for the positions.
int append(mla_cache* c, void* stream, int layer, int frames, mla::CacheCopy& copy) {
    const int64_t n = c->appended[layer];
    const int64_t needed = std::min<int64_t>(c->max_frames, n + frames);
    if (needed > c->capacity) {
        const int status = grow(c, int(needed), stream);
        if (status != MLA_OK) return status;
    }
    const int skip = std::max(0, frames - c->capacity);
    for (int part = 0; part < copy.parts; ++part) copy.src[part] += skip * copy.src_ts[part];
    copy.frames = frames - skip;
    copy.first_row = int((n + skip) % c->capacity);
    copy.capacity = c->capacity;
    copy.heads = c->kind == Kind::KeyValue ? c->heads : 1;
    copy.width = c->head_dim[layer];
    const CacheWindow w = window_of(c, layer);
    copy.dst[0] = const_cast<float*>(w.k);
    copy.dst[1] = const_cast<float*>(w.v);
    copy.dst_hs = w.hs;
    const int status = copy_rows(c, copy, stream);
    if (status != MLA_OK) return status;
    c->appended[layer] = n + frames;
    return MLA_OK;
}

// Checks the caches of one attend (or plan) call: all of `kind`, on one device, alike (layers, heads, and the
// attended layer's head size: r_l or dh, which sizes the queries and outputs), each window holding at least Tq
// frames. Other layers' sizes do not matter to the call. Sets *max_frames to the longest window.
int check_caches(mla_cache* const* caches, int B, int layer, Kind kind, int Tq, int* max_frames) {
    if (caches == nullptr || B < 1 || Tq < 1) return MLA_ERR_INVALID_ARGUMENT;
    const mla_cache* c0 = caches[0];
    if (!layer_ok(c0, layer) || c0->kind != kind) return MLA_ERR_INVALID_ARGUMENT;
    int most = 0;
    for (int b = 0; b < B; ++b) {
        const mla_cache* c = caches[b];
        if (!layer_ok(c, layer) || c->kind != kind || c->device != c0->device || c->layers != c0->layers ||
            c->heads != c0->heads || c->head_dim[layer] != c0->head_dim[layer])
            return MLA_ERR_INVALID_ARGUMENT;
        const int64_t frames = std::min<int64_t>(c->appended[layer], c->capacity);
        if (frames < Tq) return MLA_ERR_INVALID_ARGUMENT;  // the chunk's queries sit on frames in the window
        most = std::max(most, int(frames));
    }
    *max_frames = most;
    return MLA_OK;
}

// Every pair of every cache needs its p row: delta = frames - Tq + i - j in [-(Tq-1), frames-1].
bool p_rows_ok(mla_cache* const* caches, int B, int layer, int Tq, int P, int zero_row) {
    for (int b = 0; b < B; ++b) {
        const int frames = int(std::min<int64_t>(caches[b]->appended[layer], caches[b]->capacity));
        if (!mla::rows_in_range(P, zero_row, frames - Tq, Tq, frames)) return false;
    }
    return true;
}

int check_splits(const mla_cache* c, int num_splits, const void* workspace, int64_t workspace_bytes, int B, int H,
                 int Tq, int width) {
    if (num_splits < 1) return MLA_ERR_INVALID_ARGUMENT;
    if (c->device == MLA_DEVICE_CUDA && num_splits > 1) {
        if (num_splits > mla::kCudaMaxSplits) return MLA_ERR_UNSUPPORTED;
        const int group = std::min(B, mla::kWindowsPerLaunch);
        if (workspace == nullptr || workspace_bytes < mla::LatentWorkspace(group, H, Tq, width, num_splits).bytes)
            return MLA_ERR_INVALID_ARGUMENT;
    }
    return MLA_OK;
}

}  // namespace

extern "C" {

int mla_latent_cache_create(mla_cache** cache, int device, int layers, const int* r, int max_frames) {
    return create(cache, Kind::Latent, device, layers, 1, r, 1, max_frames);
}

int mla_kv_cache_create(mla_cache** cache, int device, int layers, int H, int dh, int max_frames) {
    return create(cache, Kind::KeyValue, device, layers, H, &dh, 0, max_frames);
}

int mla_cache_destroy(mla_cache* cache) {
    if (cache == nullptr) return MLA_OK;
    free_rows(cache->device, cache->data);
    delete[] cache->head_dim;
    delete[] cache->offset;
    delete[] cache->appended;
    delete cache;
    return MLA_OK;
}

int mla_cache_reset(mla_cache* cache) {
    if (cache == nullptr) return MLA_ERR_INVALID_ARGUMENT;
    std::fill(cache->appended, cache->appended + cache->layers, int64_t(0));
    return MLA_OK;
}

int64_t mla_cache_bytes_per_frame(const mla_cache* cache) {
    return cache == nullptr ? -1 : int64_t(sizeof(float)) * cache->offset[cache->layers];  // 4 * sum_l w_l
}

int64_t mla_cache_bytes(const mla_cache* cache) {
    return cache == nullptr ? -1 : mla_cache_bytes_per_frame(cache) * cache->capacity;
}

int mla_cache_frames(const mla_cache* cache, int layer) {
    if (!layer_ok(cache, layer)) return -1;
    return int(std::min<int64_t>(cache->appended[layer], cache->capacity));
}

int64_t mla_cache_first_position(const mla_cache* cache, int layer) {
    if (!layer_ok(cache, layer)) return -1;
    return cache->appended[layer] - mla_cache_frames(cache, layer);
}

int mla_latent_cache_append_f32(mla_cache* cache, void* stream, int layer, int frames, const float* c,
                                int64_t c_stride) {
    if (!layer_ok(cache, layer) || cache->kind != Kind::Latent || frames < 1 || c == nullptr || c_stride < 0)
        return MLA_ERR_INVALID_ARGUMENT;
    mla::CacheCopy copy{};
    copy.parts = 1;
    copy.src[0] = c;
    copy.src_ts[0] = c_stride;
    return append(cache, stream, layer, frames, copy);
}

int mla_kv_cache_append_f32(mla_cache* cache, void* stream, int layer, int frames, const float* k,
                            const int64_t* k_strides, const float* v, const int64_t* v_strides) {
    if (!layer_ok(cache, layer) || cache->kind != Kind::KeyValue || frames < 1 || k == nullptr || v == nullptr ||
        !mla::strides_ok(k_strides, 2, false) || !mla::strides_ok(v_strides, 2, false))
        return MLA_ERR_INVALID_ARGUMENT;
    mla::CacheCopy copy{};
    copy.parts = 2;
    copy.src[0] = k;
    copy.src[1] = v;
    copy.src_ts[0] = k_strides[0];
    copy.src_hs[0] = k_strides[1];
    copy.src_ts[1] = v_strides[0];
    copy.src_hs[1] = v_strides[1];
    return append(cache, stream, layer, frames, copy);
}

int mla_cache_attend_plan(mla_cache* const* caches, int B, int layer, int H, int Tq, int* num_splits,
                          int64_t* workspace_bytes) {
    if (caches == nullptr || B < 1 || caches[0] == nullptr || H < 1 || num_splits == nullptr ||
        workspace_bytes == nullptr || *num_splits < 0)
        return MLA_ERR_INVALID_ARGUMENT;
    const Kind kind = caches[0]->kind;
    int max_frames = 0;
    const int status = check_caches(caches, B, layer, kind, Tq, &max_frames);
    if (status != MLA_OK) return status;
    if (kind == Kind::KeyValue && H != caches[0]->heads) return MLA_ERR_INVALID_ARGUMENT;
    if (caches[0]->device == MLA_DEVICE_CPU) {
        *num_splits = 1;
        *workspace_bytes = 0;
        return MLA_OK;
    }
    const int group = std::min(B, mla::kWindowsPerLaunch);
    const int width = caches[0]->head_dim[layer];  // of the split partials: the layer's r, or dh
    int splits = *num_splits;
#ifdef MHA2MLA_WITH_CUDA
    if (splits == 0)
        splits = kind == Kind::Latent ? mla::latent_cuda_splits(group, H, Tq, width, max_frames)
                                      : mla::kv_cache_cuda_splits(group, H, Tq, max_frames);
#endif
    return mla::set_plan(splits, group, H, Tq, width, num_splits, workspace_bytes);
}

int mla_latent_cache_attend_f32(void* stream, int num_splits, void* workspace, int64_t workspace_bytes,
    mla_cache* const* caches, int B, int layer, int H, int Tq, int dh, int P, int zero_row, float scale,
    const float* qa, const int64_t* qa_strides,
    const float* qw, const int64_t* qw_strides,
    const float* p, const int64_t* p_strides,
    float* z, const int64_t* z_strides) {
    using namespace mla;
    int max_frames = 0;
    int status = check_caches(caches, B, layer, Kind::Latent, Tq, &max_frames);
    if (status != MLA_OK) return status;
    const mla_cache* c0 = caches[0];
    const int r = c0->head_dim[layer];  // this layer's latent size: qa and z are [B,H,Tq,r]
    if (H < 1 || dh < 1 || P < 1 || !std::isfinite(scale) || qa == nullptr || qw == nullptr || p == nullptr ||
        z == nullptr || !strides_ok(qa_strides, 3, false) || !strides_ok(qw_strides, 3, false) ||
        !strides_ok(p_strides, 2, false) || !strides_ok(z_strides, 3, true) ||
        !p_rows_ok(caches, B, layer, Tq, P, zero_row))
        return MLA_ERR_INVALID_ARGUMENT;
    status = check_splits(c0, num_splits, workspace, workspace_bytes, B, H, Tq, r);
    if (status != MLA_OK) return status;

    LatentArgs a{};
    a.H = H; a.Tq = Tq; a.Tk = max_frames; a.r = r; a.dh = dh; a.P = P; a.zero_row = zero_row; a.scale = scale;
    for (int i = 0; i < 3; ++i) { a.qas[i] = qa_strides[i]; a.qws[i] = qw_strides[i]; a.zs[i] = z_strides[i]; }
    a.ps[0] = p_strides[0]; a.ps[1] = p_strides[1];
    a.p = p;
    // Groups of kWindowsPerLaunch caches: their windows go to the kernel by value, no allocation.
    CacheWindow windows[kWindowsPerLaunch];
    for (int b0 = 0; b0 < B && status == MLA_OK; b0 += kWindowsPerLaunch) {
        a.B = std::min(kWindowsPerLaunch, B - b0);
        for (int b = 0; b < a.B; ++b) windows[b] = window_of(caches[b0 + b], layer);
        a.windows = windows;
        a.qa = qa + b0 * qa_strides[0];
        a.qw = qw + b0 * qw_strides[0];
        a.z = z + b0 * z_strides[0];
        if (c0->device == MLA_DEVICE_CPU) {
            status = latent_attention_cpu(a);
        } else {
#ifdef MHA2MLA_WITH_CUDA
            status = latent_attention_cuda(a, stream, num_splits, workspace);
#else
            (void)stream;
            status = MLA_ERR_UNSUPPORTED;
#endif
        }
    }
    return status;
}

int mla_kv_cache_attend_f32(void* stream, int num_splits, void* workspace, int64_t workspace_bytes,
    mla_cache* const* caches, int B, int layer, int Tq, int P, int zero_row, float scale,
    const float* q, const int64_t* q_strides,
    const float* p, const int64_t* p_strides,
    const float* u, const float* w,
    float* out, const int64_t* out_strides) {
    using namespace mla;
    int max_frames = 0;
    int status = check_caches(caches, B, layer, Kind::KeyValue, Tq, &max_frames);
    if (status != MLA_OK) return status;
    const mla_cache* c0 = caches[0];
    const int H = c0->heads, dh = c0->head_dim[layer];
    if (P < 1 || !std::isfinite(scale) || q == nullptr || p == nullptr || u == nullptr || w == nullptr ||
        out == nullptr || !strides_ok(q_strides, 3, false) || !strides_ok(p_strides, 2, false) ||
        !strides_ok(out_strides, 3, true) || !p_rows_ok(caches, B, layer, Tq, P, zero_row))
        return MLA_ERR_INVALID_ARGUMENT;
    status = check_splits(c0, num_splits, workspace, workspace_bytes, B, H, Tq, dh);
    if (status != MLA_OK) return status;

    RelposArgs a{};
    a.H = H; a.Tq = Tq; a.Tk = max_frames; a.dh = dh; a.P = P; a.zero_row = zero_row; a.scale = scale;
    for (int i = 0; i < 3; ++i) { a.qs[i] = q_strides[i]; a.os[i] = out_strides[i]; }
    a.ps[0] = p_strides[0]; a.ps[1] = p_strides[1];
    a.p = p; a.u = u; a.w = w;
    CacheWindow windows[kWindowsPerLaunch];
    for (int b0 = 0; b0 < B && status == MLA_OK; b0 += kWindowsPerLaunch) {
        a.B = std::min(kWindowsPerLaunch, B - b0);
        for (int b = 0; b < a.B; ++b) windows[b] = window_of(caches[b0 + b], layer);
        a.windows = windows;
        a.q = q + b0 * q_strides[0];
        a.out = out + b0 * out_strides[0];
        if (c0->device == MLA_DEVICE_CPU) {
            status = relpos_attention_cpu(a);
        } else {
#ifdef MHA2MLA_WITH_CUDA
            status = kv_cache_attention_cuda(a, stream, num_splits, workspace);
#else
            (void)stream;
            status = MLA_ERR_UNSUPPORTED;
#endif
        }
    }
    return status;
}

}  // extern "C"
