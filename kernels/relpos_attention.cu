// Fused relative-position attention over expanded K/V, CUDA (twin of native/src/relpos_attention.cpp).
//
// For batch b and head h:
//   s[i,j] = ((q_i + u).k_j + (q_i + w).p[zero_row - (q_offset + i - j)]) * scale,   j < len_b
//   out_i  = sum_j softmax_j(s[i,:]) v_j
// Flash style. Tensors are float32, bfloat16 or float16 (E): elements are widened to float32 as they are staged,
// every sum is float32, and the output is rounded once as it is stored. One block owns BQ query rows of one (b, h)
// and walks the valid keys in tiles of kBK = 32, keeping per row a running max m, sum l and unnormalised output o
// (online softmax).
// Scores are kept in log2 units (scale * log2 e folded into the staged queries) so exp is exp2.
//
// Threads form a 16 x BQ/4 grid: thread (tx, ty) owns query rows ty*4 .. ty*4+3, scores for keys
// tx*2, tx*2+1 of the tile and output columns tx*4 .. tx*4+3 of every 64-column chunk. A row's 16
// owners are the 16 lanes of one half-warp, so row max and sum are xor shuffles within it.
// Shared memory holds (q+u)^T and (q+w)^T [dh][BQ], K^T [dh][kBK], the p window transposed, V [kBK][dh]
// and the probabilities transposed [kBK][BQ]. BD for row i, key j uses p row
// zero_row - q_offset - (i0 + i) + (j0 + j): the tile needs the window base .. base + BQ + kBK - 2 with
// base = zero_row - q_offset - i0 - (BQ-1) + j0, row i reading it at offset BQ-1-i+j.
#include "common.cuh"

namespace mla {
namespace {

constexpr int kBK = 32;

// Shared-memory layout in floats; row strides padded for float4/float2 alignment and fewer bank conflicts.
template <int BQ, int DCH>
struct RelposSmem {
    static constexpr int kQS = BQ + 4;             // (q+u)^T, (q+w)^T: [dh][kQS]
    static constexpr int kKS = kBK + 4;            // K^T: [dh][kKS]
    static constexpr int kPW = BQ + kBK - 1;       // p window rows
    static constexpr int kPS = kPW + 2;            // p window^T: [dh][kPS], odd stride
    static constexpr int kVS = 64 * DCH + 4;       // V: [kBK][kVS]
    static constexpr int kSS = BQ + 4;             // probabilities^T: [kBK][kSS]
    int qu, qw, k, p, v, s, total;
    __host__ __device__ explicit RelposSmem(int dh) {
        qu = 0;
        qw = align4(qu + dh * kQS);
        k = align4(qw + dh * kQS);
        p = align4(k + dh * kKS);
        v = align4(p + dh * kPS);
        s = align4(v + kBK * kVS);
        total = s + kBK * kSS;
    }
};

template <int BQ, int DCH, class E>
__global__ void __launch_bounds__(BQ * 4) relpos_kernel(const RelposArgsOf<E> a, const float qscale) {
    typedef RelposSmem<BQ, DCH> L;
    constexpr int NT = BQ * 4;
    MLA_DYNAMIC_SHARED(float4, smem4);
    float* smem = reinterpret_cast<float*>(smem4);
    const int dh = a.dh;
    const L lay(dh);
    float* qut = smem + lay.qu;
    float* qwt = smem + lay.qw;
    float* kt = smem + lay.k;
    float* pt = smem + lay.p;
    float* vs = smem + lay.v;
    float* st = smem + lay.s;

    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int i0 = blockIdx.x * BQ, h = blockIdx.y, b = blockIdx.z;
    const int len = valid_keys(a.lengths, b, a.Tk);

    // Rows past Tq are staged as zeros: they compute finite junk that is never stored.
    const E* qb = a.q + b * a.qs[0] + h * a.qs[1];
    for (int x = tid; x < BQ * dh; x += NT) {
        const int i = x / dh, d = x - i * dh;
        float qu = 0.0f, qw = 0.0f;
        if (i0 + i < a.Tq) {
            const float q = load(qb + (i0 + i) * a.qs[2] + d);
            qu = (q + load(a.u + h * dh + d)) * qscale;
            qw = (q + load(a.w + h * dh + d)) * qscale;
        }
        qut[d * L::kQS + i] = qu;
        qwt[d * L::kQS + i] = qw;
    }
    // V columns dh .. 64*DCH feed only output columns that are never stored; keep them finite.
    for (int x = tid; x < kBK * L::kVS; x += NT) vs[x] = 0.0f;

    float o[4][4 * DCH];
    float m[4], l[4];  // l: this thread's share of the row sum, reduced at the end
    #pragma unroll
    for (int r = 0; r < 4; ++r) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
        #pragma unroll
        for (int n = 0; n < 4 * DCH; ++n) o[r][n] = 0.0f;
    }

    const E* kb = a.k + b * a.ks[0] + h * a.ks[1];
    const E* vb = a.v + b * a.vs[0] + h * a.vs[1];
    const E* pb = a.p + h * a.ps[1];
    for (int j0 = 0; j0 < len; j0 += kBK) {
        __syncthreads();  // the previous tile (or the staging above) is done with shared memory
        for (int x = tid; x < kBK * dh; x += NT) {
            const int j = x / dh, d = x - j * dh;
            const bool ok = j0 + j < len;
            kt[d * L::kKS + j] = ok ? load(kb + (j0 + j) * a.ks[2] + d) : 0.0f;
            vs[j * L::kVS + d] = ok ? load(vb + (j0 + j) * a.vs[2] + d) : 0.0f;
        }
        const int64_t base = int64_t(a.zero_row) - a.q_offset - i0 - (BQ - 1) + j0;
        for (int x = tid; x < L::kPW * dh; x += NT) {
            const int y = x / dh, d = x - y * dh;
            const int64_t row = base + y;  // outside [0,P) only for pairs never used
            pt[d * L::kPS + y] = (row >= 0 && row < a.P) ? load(pb + row * a.ps[0] + d) : 0.0f;
        }
        __syncthreads();

        // s[r][c] for row ty*4+r, key tx*2+c: its p window index is BQ-1 - ty*4 + tx*2 + (c - r).
        float s[4][2];
        #pragma unroll
        for (int r = 0; r < 4; ++r) s[r][0] = s[r][1] = 0.0f;
        for (int d = 0; d < dh; ++d) {
            const float4 qu = *reinterpret_cast<const float4*>(qut + d * L::kQS + ty * 4);
            const float4 qw = *reinterpret_cast<const float4*>(qwt + d * L::kQS + ty * 4);
            const float2 kk = *reinterpret_cast<const float2*>(kt + d * L::kKS + tx * 2);
            const float* pw = pt + d * L::kPS + (BQ - 1) - ty * 4 + tx * 2;
            float pv[5];  // pv[c - r + 3]
            #pragma unroll
            for (int t = 0; t < 5; ++t) pv[t] = pw[t - 3];
            const float qur[4] = {qu.x, qu.y, qu.z, qu.w};
            const float qwr[4] = {qw.x, qw.y, qw.z, qw.w};
            #pragma unroll
            for (int r = 0; r < 4; ++r) {
                s[r][0] += qur[r] * kk.x + qwr[r] * pv[3 - r];
                s[r][1] += qur[r] * kk.y + qwr[r] * pv[4 - r];
            }
        }

        #pragma unroll
        for (int r = 0; r < 4; ++r) {
            #pragma unroll
            for (int c = 0; c < 2; ++c)
                if (j0 + tx * 2 + c >= len) s[r][c] = -INFINITY;
            float mx = fmaxf(s[r][0], s[r][1]);
            for (int off = 8; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
            const float m_new = fmaxf(m[r], mx);  // finite: key j0 is valid
            const float corr = exp2f(m[r] - m_new);
            const float p0 = exp2f(s[r][0] - m_new), p1 = exp2f(s[r][1] - m_new);
            l[r] = l[r] * corr + p0 + p1;
            m[r] = m_new;
            #pragma unroll
            for (int n = 0; n < 4 * DCH; ++n) o[r][n] *= corr;
            st[(tx * 2) * L::kSS + ty * 4 + r] = p0;
            st[(tx * 2 + 1) * L::kSS + ty * 4 + r] = p1;
        }
        __syncthreads();

        const int kt_valid = min(kBK, len - j0);
        for (int j = 0; j < kt_valid; ++j) {
            const float4 pr4 = *reinterpret_cast<const float4*>(st + j * L::kSS + ty * 4);
            const float pr[4] = {pr4.x, pr4.y, pr4.z, pr4.w};
            #pragma unroll
            for (int n = 0; n < DCH; ++n) {
                const float4 v4 = *reinterpret_cast<const float4*>(vs + j * L::kVS + n * 64 + tx * 4);
                #pragma unroll
                for (int r = 0; r < 4; ++r) {
                    o[r][n * 4 + 0] += pr[r] * v4.x;
                    o[r][n * 4 + 1] += pr[r] * v4.y;
                    o[r][n * 4 + 2] += pr[r] * v4.z;
                    o[r][n * 4 + 3] += pr[r] * v4.w;
                }
            }
        }
    }

    #pragma unroll
    for (int r = 0; r < 4; ++r) {
        float sum = l[r];
        #pragma unroll
        for (int off = 8; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
        const int i = i0 + ty * 4 + r;
        if (i >= a.Tq) continue;
        const float inv = 1.0f / sum;
        E* out = a.out + b * a.os[0] + h * a.os[1] + i * a.os[2];
        #pragma unroll
        for (int n = 0; n < DCH; ++n)
            #pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int d = n * 64 + tx * 4 + c;
                if (d < dh) store(out + d, o[r][n * 4 + c] * inv);
            }
    }
}

template <int BQ, int DCH, class E>
int launch_relpos(const RelposArgsOf<E>& a, cudaStream_t stream) {
    const auto kernel = relpos_kernel<BQ, DCH, E>;
    const int bytes = RelposSmem<BQ, DCH>(a.dh).total * int(sizeof(float));
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e != cudaSuccess) return status_of(e);
    const dim3 grid((a.Tq + BQ - 1) / BQ, a.H, a.B);
    MLA_LAUNCH(kernel, grid, BQ * 4, bytes, stream)(a, a.scale * kLog2e);
    return launch_status();
}

}  // namespace

template <class E>
int relpos_attention_cuda(const RelposArgsOf<E>& a, void* stream) {
    if (a.dh > kCudaMaxHeadDim || a.H > 65535 || a.B > 65535) return MLA_ERR_UNSUPPORTED;
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (a.dh <= 64) return launch_relpos<64, 1>(a, s);
    return launch_relpos<32, 2>(a, s);
}

template int relpos_attention_cuda(const RelposArgsOf<float>& a, void* stream);
template int relpos_attention_cuda(const RelposArgsOf<Bf16>& a, void* stream);
template int relpos_attention_cuda(const RelposArgsOf<F16>& a, void* stream);

}  // namespace mla
