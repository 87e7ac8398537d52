// Fused latent attention (absorbed MLA), CUDA (twin of native/src/latent_attention.cpp).
//
// For batch b, head h, query i, with the latent c shared by all heads:
//   s[h,i,j] = (qa[h,i] . c_j + qw[h,i] . p[zero_row - (q_offset + i - j), h]) * scale,   j < len_b
//   z[h,i]   = sum_j softmax_j(s[h,i,:]) c_j
// This is multi-query attention with head size r over the latent: a "row" is one (h, i) pair,
// row = i * H + h, and every row of a batch reads the same c.
//
// One block owns RT rows (4; 2 when r > 512) and a range of keys; its 8 warps take the keys in turn
// (warp w: keys w, w + 8, ...). Lane t of a warp holds elements t, t + 32, ... of each row's qa
// (RC = r/32 of them), qw (DE = dh/32) and running z, all in registers,
// so a key costs one coalesced read of c_j, shared by the block's rows, and one warp sum per row.
// Tensors are float32, bfloat16 or float16 (E): loads widen to float32 in registers, every sum is float32, and
// z is rounded once as it is stored (the split partials in the workspace stay float32).
// Each warp keeps an online softmax (running max m, sum l, unnormalised z; scores in log2 units);
// the block merges its warps:  M = max_w m_w,  z = sum_w z_w 2^(m_w - M) / sum_w l_w 2^(m_w - M).
// With num_splits > 1 ("flash decoding", for few queries over a long cache) the keys are also split
// across blocks: each writes (M, l, z) to the workspace and latent_combine merges the splits the same way.
//
// Streaming caches (mla_latent_cache_attend_f32) use the same kernel with Windows = CacheWindows: batch b's
// keys are the ring rows of its cache window, its queries sit at the window's last Tq positions.
#include <type_traits>

#include "common.cuh"

namespace mla {
namespace {

constexpr int kWarps = 8;

template <int RT, int RC, int DE, class E, class Windows>
__global__ void __launch_bounds__(kWarps * 32) latent_kernel(const LatentArgsOf<E> a, const float qscale,
                                                             const SplitBuffers ws, const __grid_constant__ Windows cw) {
    constexpr bool kCache = Windows::kCache;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int row0 = blockIdx.x * RT, split = blockIdx.y, splits = gridDim.y, b = blockIdx.z;
    const int rows = a.H * a.Tq;
    const int r = a.r, dh = a.dh;
    int len, q_offset;
    const E* cb;   // dense keys: batch b's c
    int64_t key_stride;
    if constexpr (kCache) {
        len = cw.w[b].frames;
        q_offset = len - a.Tq;
        cb = cw.w[b].k;
        key_stride = cw.w[b].ts;
    } else {
        len = valid_keys(a.lengths, b, a.Tk);
        q_offset = a.q_offset;
        cb = a.c + b * a.cs[0];
        key_stride = a.cs[1];
    }
    const int chunk = (len + splits - 1) / splits;
    const int j_begin = min(len, split * chunk), j_end = min(len, j_begin + chunk);

    // Rows past H * Tq compute zeros that are never stored.
    float qa[RT][RC], qw[RT][DE];
    int64_t poff[RT];  // p offset of this row's key 0: row zero_row - q_offset - i, head h
    #pragma unroll
    for (int t = 0; t < RT; ++t) {
        const int row = row0 + t;
        const bool valid = row < rows;
        const int i = valid ? row / a.H : 0, h = valid ? row % a.H : 0;
        const E* qap = a.qa + b * a.qas[0] + h * a.qas[1] + i * a.qas[2];
        const E* qwp = a.qw + b * a.qws[0] + h * a.qws[1] + i * a.qws[2];
        #pragma unroll
        for (int c = 0; c < RC; ++c) {
            const int d = lane + 32 * c;
            qa[t][c] = valid && d < r ? load(qap + d) * qscale : 0.0f;
        }
        #pragma unroll
        for (int e = 0; e < DE; ++e) {
            const int d = lane + 32 * e;
            qw[t][e] = valid && d < dh ? load(qwp + d) * qscale : 0.0f;
        }
        poff[t] = (int64_t(a.zero_row) - q_offset - i) * a.ps[0] + h * a.ps[1];
    }

    float z[RT][RC], m[RT], l[RT];
    #pragma unroll
    for (int t = 0; t < RT; ++t) {
        m[t] = -INFINITY;
        l[t] = 0.0f;
        #pragma unroll
        for (int c = 0; c < RC; ++c) z[t][c] = 0.0f;
    }

    for (int j = j_begin + warp; j < j_end; j += kWarps) {
        int64_t x = j;
        if constexpr (kCache) x = window_row(cw.w[b], j);
        const E* crow = cb + x * key_stride;
        float cv[RC];
        #pragma unroll
        for (int c = 0; c < RC; ++c) {
            const int d = lane + 32 * c;
            cv[c] = d < r ? ldg(crow + d) : 0.0f;
        }
        float s[RT];
        #pragma unroll
        for (int t = 0; t < RT; ++t) {
            float x = 0.0f;
            #pragma unroll
            for (int c = 0; c < RC; ++c) x += qa[t][c] * cv[c];
            const E* pr = a.p + poff[t] + j * a.ps[0];  // p row zero_row - (q_offset + i - j)
            #pragma unroll
            for (int e = 0; e < DE; ++e) {
                const int d = lane + 32 * e;
                if (d < dh) x += qw[t][e] * ldg(pr + d);
            }
            s[t] = x;
        }
        #pragma unroll
        for (int off = 16; off > 0; off >>= 1)
            #pragma unroll
            for (int t = 0; t < RT; ++t) s[t] += __shfl_xor_sync(0xffffffffu, s[t], off);
        online_softmax_step<RT, RC>(m, l, z, s, cv);
    }

    // Merge the warps. zs[t][d] with d = lane + 32 c is row t's z over the block's keys.
    __shared__ float ms[kWarps][RT], ls[kWarps][RT];
    __shared__ float zs[RT * RC * 32];
    float M[RT], L[RT];
    merge_warps<kWarps, RT, RC>(warp, lane, m, l, z, ms, ls, zs, M, L);

    #pragma unroll
    for (int t = 0; t < RT; ++t) {
        const int row = row0 + t;
        if (row >= rows) continue;
        for (int d = threadIdx.x; d < r; d += kWarps * 32) {
            const float x = zs[t * RC * 32 + d];
            if (splits == 1) {
                const int i = row / a.H, h = row % a.H;
                store(a.z + b * a.zs[0] + h * a.zs[1] + i * a.zs[2] + d, x / L[t]);
            } else {
                ws.z[((int64_t(b) * splits + split) * rows + row) * r + d] = x;
            }
        }
    }
    if (splits > 1 && threadIdx.x == 0) {
        #pragma unroll
        for (int t = 0; t < RT; ++t) {
            if (row0 + t >= rows) continue;
            const int64_t at = (int64_t(b) * splits + split) * rows + row0 + t;
            ws.m[at] = M[t];  // -inf with l = 0 for a split without keys
            ws.l[at] = L[t];
        }
    }
}

// z[b, row] = sum_k z_k 2^(m_k - M) / sum_k l_k 2^(m_k - M) over the splits k. One block per (row, b).
template <class E>
__global__ void latent_combine(const LatentArgsOf<E> a, const SplitBuffers ws, const int splits) {
    __shared__ float weight[kCudaMaxSplits];
    __shared__ float inv_sum;
    const int row = blockIdx.x, b = blockIdx.y, rows = a.H * a.Tq;
    const int64_t first = int64_t(b) * splits * rows + row;  // split k at first + k * rows
    if (threadIdx.x == 0) {
        float M = -INFINITY;
        for (int k = 0; k < splits; ++k) M = fmaxf(M, ws.m[first + int64_t(k) * rows]);
        float sum = 0.0f;
        for (int k = 0; k < splits; ++k) {
            const float mk = ws.m[first + int64_t(k) * rows];
            weight[k] = mk != -INFINITY ? exp2f(mk - M) : 0.0f;
            sum += ws.l[first + int64_t(k) * rows] * weight[k];
        }
        inv_sum = 1.0f / sum;
    }
    __syncthreads();
    const int i = row / a.H, h = row % a.H;
    E* out = a.z + b * a.zs[0] + h * a.zs[1] + i * a.zs[2];
    for (int d = threadIdx.x; d < a.r; d += blockDim.x) {
        float x = 0.0f;
        for (int k = 0; k < splits; ++k) x += ws.z[(first + int64_t(k) * rows) * a.r + d] * weight[k];
        store(out + d, x * inv_sum);
    }
}

template <int RT, int RC, int DE, class E, class Windows>
int launch_latent(const LatentArgsOf<E>& a, cudaStream_t stream, int splits, const SplitBuffers& ws, const Windows& cw) {
    const int rows = a.H * a.Tq;
    const dim3 grid((rows + RT - 1) / RT, splits, a.B);
    const auto kernel = latent_kernel<RT, RC, DE, E, Windows>;
    MLA_LAUNCH(kernel, grid, kWarps * 32, 0, stream)(a, a.scale * kLog2e, ws, cw);
    const int status = launch_status();
    if (status != MLA_OK || splits == 1) return status;
    return launch_latent_combine(a, ws, splits, stream);
}

template <int DE, class E, class Windows>
int launch_latent_r(const LatentArgsOf<E>& a, cudaStream_t stream, int splits, const SplitBuffers& ws, const Windows& cw) {
    if (a.r <= 128) return launch_latent<4, 4, DE>(a, stream, splits, ws, cw);
    if (a.r <= 256) return launch_latent<4, 8, DE>(a, stream, splits, ws, cw);
    if (a.r <= 512) return launch_latent<4, 16, DE>(a, stream, splits, ws, cw);
    return launch_latent<2, 32, DE>(a, stream, splits, ws, cw);
}

template <class E, class Windows>
int launch_latent_dh(const LatentArgsOf<E>& a, cudaStream_t stream, int splits, const SplitBuffers& ws, const Windows& cw) {
    if (a.dh <= 64) return launch_latent_r<2>(a, stream, splits, ws, cw);
    return launch_latent_r<4>(a, stream, splits, ws, cw);
}

int rows_per_block(int r) { return r <= 512 ? 4 : 2; }

}  // namespace

template <class E>
int launch_latent_combine(const LatentArgsOf<E>& a, const SplitBuffers& ws, int splits, cudaStream_t stream) {
    MLA_LAUNCH(latent_combine<E>, dim3(a.H * a.Tq, a.B), 128, 0, stream)(a, ws, splits);
    return launch_status();
}
template int launch_latent_combine(const LatentArgsOf<float>& a, const SplitBuffers& ws, int splits,
                                   cudaStream_t stream);

template <class E>
int latent_attention_cuda(const LatentArgsOf<E>& a, void* stream, int splits, void* workspace) {
    if (a.r > kCudaMaxLatentDim || a.dh > kCudaMaxHeadDim || a.B > 65535 || splits > kCudaMaxSplits ||
        int64_t(a.H) * a.Tq > (int64_t(1) << 30) || (a.windows != nullptr && a.B > kWindowsPerLaunch))
        return MLA_ERR_UNSUPPORTED;
    const SplitBuffers ws = split_buffers(workspace, a.B, a.H, a.Tq, a.r, splits);
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    if constexpr (std::is_same<E, float>::value) {  // streaming caches hold float32
        if (a.windows != nullptr) return launch_latent_dh(a, s, splits, ws, copy_windows(a.windows, a.B));
    }
    return launch_latent_dh(a, s, splits, ws, NoWindows{});
}

template int latent_attention_cuda(const LatentArgsOf<float>& a, void* stream, int splits, void* workspace);
template int latent_attention_cuda(const LatentArgsOf<Bf16>& a, void* stream, int splits, void* workspace);
template int latent_attention_cuda(const LatentArgsOf<F16>& a, void* stream, int splits, void* workspace);

int latent_cuda_splits(int B, int H, int Tq, int r, int Tk) {
    const int rt = rows_per_block(r);
    return cuda_key_splits(int64_t(B) * ((int64_t(H) * Tq + rt - 1) / rt), Tk);
}

}  // namespace mla
