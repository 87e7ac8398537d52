// Streaming caches, CUDA (twin of native/src/streaming_cache.cpp): appending frames to a cache ring, and
// attention of a chunk's queries over K/V cache windows. Attention over latent cache windows is the latent
// kernel itself (latent_attention.cu, Windows = CacheWindows).
//
// K/V cache attention, for batch b (one cache window of n frames), head h, query i at position n - Tq + i of
// the window, key j (ring row window_row(w, j)):
//   s[i,j] = ((q_i + u).k_j + (q_i + w).p[zero_row - (n - Tq + i - j)]) * scale
//   out_i  = sum_j softmax_j(s[i,:]) v_j
// Shaped like the latent kernel, for few queries over a long window: one block owns RT query rows of one
// head and a range of keys; its 8 warps take the keys in turn; lane t holds elements t, t + 32, ... of each
// row's q + u, q + w and running output, so a key costs one coalesced read of k_j, v_j and the p row, shared
// by the block's rows, and one warp sum per row. Warps merge as in the latent kernel; with num_splits > 1
// the keys are also split across blocks ("flash decoding") and launch_latent_combine merges the splits.
#include "common.cuh"

namespace mla {
namespace {

constexpr int kWarps = 8;

// Copies one value per thread (grid-stride): x = ((f * parts + part) * heads + h) * width + d.
__global__ void cache_copy_kernel(const CacheCopy c) {
    const int64_t total = int64_t(c.frames) * c.parts * c.heads * c.width;
    for (int64_t x = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; x < total; x += int64_t(gridDim.x) * blockDim.x) {
        const int d = int(x % c.width);
        int64_t y = x / c.width;
        const int h = int(y % c.heads);
        y /= c.heads;
        const int part = int(y % c.parts);
        const int f = int(y / c.parts);
        int row = c.first_row + f;
        if (row >= c.capacity) row -= c.capacity;
        c.dst[part][h * c.dst_hs + int64_t(row) * c.width + d] = c.src[part][f * c.src_ts[part] + h * c.src_hs[part] + d];
    }
}

template <int RT, int DC>
__global__ void __launch_bounds__(kWarps * 32) kv_cache_kernel(const RelposArgs a, const float qscale,
                                                               const SplitBuffers ws, const __grid_constant__ CacheWindows cw) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int groups = (a.Tq + RT - 1) / RT;
    const int h = blockIdx.x / groups, i0 = (blockIdx.x % groups) * RT;
    const int split = blockIdx.y, splits = gridDim.y, b = blockIdx.z;
    const CacheWindow& win = cw.w[b];
    const int dh = a.dh, len = win.frames, q_offset = len - a.Tq;
    const int chunk = (len + splits - 1) / splits;
    const int j_begin = min(len, split * chunk), j_end = min(len, j_begin + chunk);

    // Rows past Tq compute finite values (row i0's p offsets) that are never stored.
    float qu[RT][DC], qw[RT][DC];
    int64_t poff[RT];  // p offset of this row's key 0: row zero_row - q_offset - i, head h
    #pragma unroll
    for (int t = 0; t < RT; ++t) {
        const bool valid = i0 + t < a.Tq;
        const int i = valid ? i0 + t : i0;
        const float* q = a.q + b * a.qs[0] + h * a.qs[1] + i * a.qs[2];
        #pragma unroll
        for (int c = 0; c < DC; ++c) {
            const int d = lane + 32 * c;
            const bool ok = valid && d < dh;
            qu[t][c] = ok ? (q[d] + a.u[h * dh + d]) * qscale : 0.0f;
            qw[t][c] = ok ? (q[d] + a.w[h * dh + d]) * qscale : 0.0f;
        }
        poff[t] = (int64_t(a.zero_row) - q_offset - i) * a.ps[0] + h * a.ps[1];
    }

    float o[RT][DC], m[RT], l[RT];
    #pragma unroll
    for (int t = 0; t < RT; ++t) {
        m[t] = -INFINITY;
        l[t] = 0.0f;
        #pragma unroll
        for (int c = 0; c < DC; ++c) o[t][c] = 0.0f;
    }

    const float* kb = win.k + h * win.hs;
    const float* vb = win.v + h * win.hs;
    for (int j = j_begin + warp; j < j_end; j += kWarps) {
        const int64_t x = window_row(win, j) * win.ts;
        float kv[DC], vv[DC], pv[RT][DC];
        #pragma unroll
        for (int c = 0; c < DC; ++c) {
            const int d = lane + 32 * c;
            kv[c] = d < dh ? __ldg(kb + x + d) : 0.0f;
            vv[c] = d < dh ? __ldg(vb + x + d) : 0.0f;
        }
        #pragma unroll
        for (int t = 0; t < RT; ++t) {
            const float* pr = a.p + poff[t] + j * a.ps[0];  // p row zero_row - (q_offset + i - j)
            #pragma unroll
            for (int c = 0; c < DC; ++c) {
                const int d = lane + 32 * c;
                pv[t][c] = d < dh ? __ldg(pr + d) : 0.0f;
            }
        }
        float s[RT];
        #pragma unroll
        for (int t = 0; t < RT; ++t) {
            float y = 0.0f;
            #pragma unroll
            for (int c = 0; c < DC; ++c) y += qu[t][c] * kv[c] + qw[t][c] * pv[t][c];
            s[t] = y;
        }
        #pragma unroll
        for (int off = 16; off > 0; off >>= 1)
            #pragma unroll
            for (int t = 0; t < RT; ++t) s[t] += __shfl_xor_sync(0xffffffffu, s[t], off);
        online_softmax_step<RT, DC>(m, l, o, s, vv);
    }

    // Merge the warps: M = max_w m_w, o = sum_w o_w 2^(m_w - M), L likewise. os[t][d], d = lane + 32 c.
    __shared__ float ms[kWarps][RT], ls[kWarps][RT];
    __shared__ float os[RT * DC * 32];
    float M[RT], L[RT];
    merge_warps<kWarps, RT, DC>(warp, lane, m, l, o, ms, ls, os, M, L);

    const int rows = a.H * a.Tq;
    #pragma unroll
    for (int t = 0; t < RT; ++t) {
        const int i = i0 + t;
        if (i >= a.Tq) continue;
        const int row = i * a.H + h;  // the latent kernel's row order, for launch_latent_combine
        for (int d = threadIdx.x; d < dh; d += kWarps * 32) {
            const float x = os[t * DC * 32 + d];
            if (splits == 1)
                a.out[b * a.os[0] + h * a.os[1] + i * a.os[2] + d] = x / L[t];
            else
                ws.z[((int64_t(b) * splits + split) * rows + row) * dh + d] = x;
        }
        if (splits > 1 && threadIdx.x == 0) {
            const int64_t at = (int64_t(b) * splits + split) * rows + row;
            ws.m[at] = M[t];  // -inf with l = 0 for a split without keys
            ws.l[at] = L[t];
        }
    }
}

// Query rows per block: 1 for single-frame chunks (no idle rows), else 4.
int kv_rows_per_block(int Tq) { return Tq == 1 ? 1 : 4; }

template <int RT, int DC>
int launch_kv(const RelposArgs& a, cudaStream_t stream, int splits, const SplitBuffers& ws) {
    const dim3 grid(a.H * ((a.Tq + RT - 1) / RT), splits, a.B);
    const auto kernel = kv_cache_kernel<RT, DC>;
    MLA_LAUNCH(kernel, grid, kWarps * 32, 0, stream)(a, a.scale * kLog2e, ws, copy_windows(a.windows, a.B));
    const int status = launch_status();
    if (status != MLA_OK || splits == 1) return status;
    // The latent merge with r = dh: rows i * H + h, output out[b, h, i].
    LatentArgs m{};
    m.B = a.B; m.H = a.H; m.Tq = a.Tq; m.r = a.dh;
    m.z = a.out;
    for (int x = 0; x < 3; ++x) m.zs[x] = a.os[x];
    return launch_latent_combine(m, ws, splits, stream);
}

template <int RT>
int launch_kv_dh(const RelposArgs& a, cudaStream_t stream, int splits, const SplitBuffers& ws) {
    if (a.dh <= 32) return launch_kv<RT, 1>(a, stream, splits, ws);
    if (a.dh <= 64) return launch_kv<RT, 2>(a, stream, splits, ws);
    return launch_kv<RT, 4>(a, stream, splits, ws);
}

}  // namespace

int cache_copy_cuda(const CacheCopy& c, void* stream) {
    const int64_t total = int64_t(c.frames) * c.parts * c.heads * c.width;
    if (total == 0) return MLA_OK;
    const int64_t blocks = (total + 255) / 256;
    MLA_LAUNCH(cache_copy_kernel, dim3(unsigned(blocks < 1024 ? blocks : 1024)), 256, 0,
               static_cast<cudaStream_t>(stream))(c);
    return launch_status();
}

int kv_cache_attention_cuda(const RelposArgs& a, void* stream, int splits, void* workspace) {
    if (a.dh > kCudaMaxHeadDim || a.B > kWindowsPerLaunch || splits > kCudaMaxSplits ||
        int64_t(a.H) * a.Tq > (int64_t(1) << 30))
        return MLA_ERR_UNSUPPORTED;
    const SplitBuffers ws = split_buffers(workspace, a.B, a.H, a.Tq, a.dh, splits);
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (kv_rows_per_block(a.Tq) == 1) return launch_kv_dh<1>(a, s, splits, ws);
    return launch_kv_dh<4>(a, s, splits, ws);
}

int kv_cache_cuda_splits(int B, int H, int Tq, int Tk) {
    const int rt = kv_rows_per_block(Tq);
    return cuda_key_splits(int64_t(B) * H * ((Tq + rt - 1) / rt), Tk);
}

}  // namespace mla
