// Fused relative-position attention over expanded K/V, CPU (entry point 1 of mha2mla.h).
//
// For batch b and head h, with qu_i = (q_i + u) * scale and qw_i = (q_i + w) * scale:
//   s[i,j] = qu_i . k_j + qw_i . p[zero_row - (q_offset + i - j)]        (AC + BD, scaled)
//   out_i  = sum_{j < len_b} softmax_j(s[i,:]) v_j
// Flash style: a task owns up to kQT query rows of one (b, h) and walks the valid keys in tiles,
// keeping per row a running max m, running sum l and unnormalised output o (online softmax):
//   m' = max(m, max_j s[i,j]);  o = o e^(m - m') + sum_j e^(s[i,j] - m') v_j;  l likewise;  out = o / l.
// Keys j >= len_b are skipped: HF adds float32 min to their scores, which gives them probability 0.
//
// Two ways through a key tile, by the number of query rows:
// - many rows (full utterances): the tile of kKT keys is transposed into scratch (kT[d][j],
//   pT[d][window]) so the score loop keeps keys in vector lanes and needs no horizontal sums; the
//   transpose is paid once for kQT rows. BD for query row i and key j uses p row
//   zero_row - q_offset - (i0 + i) + j, so rows i0..i0+kQT-1 and keys j0..j0+kKT-1 read the window
//   base .. base+kKT+kQT-2, base = zero_row - q_offset - i0 - (kQT-1) + j0, row i from offset kQT-1-i.
// - few rows (streaming, up to kDirectRows): no transpose; each row takes its dot products with 8 keys
//   at a time straight from k and p, AC and BD summed in the same accumulators.
//
// The same kernel serves K/V streaming caches (mla_kv_cache_attend_f32): there batch b's keys and values
// are the rows of its cache window (a ring, see CacheWindow) and its queries sit at the window's last Tq
// positions.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "common.h"
#include "cpu_simd.h"

namespace mla {
namespace {

constexpr int kQT = 32;         // query rows per task
constexpr int kKT = 64;         // keys per tile (transposed path)
constexpr int kPW = kKT + kQT;  // p window: kKT + kQT - 1 rows, padded by one
constexpr int kDirectRows = 8;  // up to this many rows take the direct path
constexpr int kDirectKeys = 8;  // keys per tile (direct path)

// One task's scratch, offsets in floats. Rows of length dpad = dh rounded up to 16.
struct RelposScratch {
    int64_t dpad, qu, qw, kT, pT, vt, o, s, total;
    explicit RelposScratch(int dh) {
        dpad = round_up(dh, 16);
        qu = 0;                      // [kQT][dpad]  (q + u) * scale
        qw = qu + kQT * dpad;        // [kQT][dpad]  (q + w) * scale
        kT = qw + kQT * dpad;        // [dh][kKT]    key tile, transposed
        pT = kT + int64_t(dh) * kKT; // [dh][kPW]    p window, transposed
        vt = pT + int64_t(dh) * kPW; // [kKT][dpad]  value tile
        o = vt + kKT * dpad;         // [kQT][dpad]  unnormalised output
        s = o + kQT * dpad;          // [kQT][kKT]   scores, then probabilities
        total = s + kQT * kKT;
    }
};

// Key or value row j of batch b, head h: dense k / v, or a cache window's ring row.
MLA_INLINE const float* key_row(const RelposArgs& a, int b, int h, int j) {
    if (a.windows != nullptr) {
        const CacheWindow& w = a.windows[b];
        return w.k + h * w.hs + window_row(w, j) * w.ts;
    }
    return a.k + b * a.ks[0] + h * a.ks[1] + j * a.ks[2];
}
MLA_INLINE const float* value_row(const RelposArgs& a, int b, int h, int j) {
    if (a.windows != nullptr) {
        const CacheWindow& w = a.windows[b];
        return w.v + h * w.hs + window_row(w, j) * w.ts;
    }
    return a.v + b * a.vs[0] + h * a.vs[1] + j * a.vs[2];
}

// s[j] = sum_d qu[d] kT[d][j] + qw[d] pT[d][j] for the kKT keys of a tile; pT is already offset to
// this query row's window. AC and BD go to separate accumulators: 8 independent FMA chains.
template <class V>
MLA_INLINE void score_row(const float* qu, const float* qw, const float* kT, const float* pT, int dh,
                          float* s) {
    constexpr int W = lanes<V>();
    constexpr int NV = 4;
    static_assert(kKT % (NV * W) == 0, "tile width must be a multiple of the pass width");
    for (int j0 = 0; j0 < kKT; j0 += NV * W) {
        V ac[NV], bd[NV];
        for (int n = 0; n < NV; ++n) ac[n] = bd[n] = V{};
        for (int d = 0; d < dh; ++d) {
            const float a = qu[d], b = qw[d];
            const float* kr = kT + int64_t(d) * kKT + j0;
            const float* pr = pT + int64_t(d) * kPW + j0;
            for (int n = 0; n < NV; ++n) {
                ac[n] += a * vload<V>(kr + n * W);
                bd[n] += b * vload<V>(pr + n * W);
            }
        }
        for (int n = 0; n < NV; ++n) vstore<V>(s + j0 + n * W, ac[n] + bd[n]);
    }
}

// Online-softmax step for one row: turns the tile's scores s[0..kKT) (the first kt valid) into
// e^(s - m') in place, updates m and l, and returns e^(m - m'), the factor for the old output.
template <class V>
MLA_INLINE float softmax_step(float* s, int kt, float& m, float& l) {
    constexpr int W = lanes<V>();
    for (int j = kt; j < kKT; ++j) s[j] = -INFINITY;
    V mx = vload<V>(s);
    for (int j = W; j < kKT; j += W) {
        const V x = vload<V>(s + j);
        mx = x > mx ? x : mx;
    }
    const float m_new = std::max(m, vmax(mx));
    const float corr = m_new > m ? std::exp(m - m_new) : 1.0f;  // exp(-inf) = 0 on the first tile
    V sum = V{};
    const V neg_inf = vsplat<V>(-INFINITY);
    for (int j = 0; j < kKT; j += W) {
        const V x = vload<V>(s + j);
        V e = vexp(x - m_new);
        e = x > neg_inf ? e : V{};  // masked keys get exactly 0
        vstore<V>(s + j, e);
        sum += e;
    }
    l = l * corr + vsum(sum);
    m = m_new;
    return corr;
}

// o[i][d] += sum_{j < kt} e[i][j] vt[j][d] for NR rows; each loaded value row serves all NR rows.
template <class V, int NR>
MLA_INLINE void accumulate_rows(float* o, const float* e, const float* vt, int64_t dpad, int kt) {
    constexpr int W = lanes<V>();
    for (int64_t d = 0; d < dpad; d += W) {
        V acc[NR];
        for (int i = 0; i < NR; ++i) acc[i] = vload<V>(o + i * dpad + d);
        for (int j = 0; j < kt; ++j) {
            const V x = vload<V>(vt + j * dpad + d);
            for (int i = 0; i < NR; ++i) acc[i] += e[i * kKT + j] * x;
        }
        for (int i = 0; i < NR; ++i) vstore<V>(o + i * dpad + d, acc[i]);
    }
}

template <class V>
MLA_INLINE void accumulate(float* o, const float* e, const float* vt, int64_t dpad, int kt, int rows) {
    int i = 0;
    for (; i + 8 <= rows; i += 8) accumulate_rows<V, 8>(o + i * dpad, e + i * kKT, vt, dpad, kt);
    if (i + 4 <= rows) { accumulate_rows<V, 4>(o + i * dpad, e + i * kKT, vt, dpad, kt); i += 4; }
    if (i + 2 <= rows) { accumulate_rows<V, 2>(o + i * dpad, e + i * kKT, vt, dpad, kt); i += 2; }
    if (i < rows) accumulate_rows<V, 1>(o + i * dpad, e + i * kKT, vt, dpad, kt);
}

// qu = (q + u) * scale and qw = (q + w) * scale for rows i0 .. i0+qt-1, rows of length dpad.
MLA_INLINE void stage_queries(const RelposArgs& a, int b, int h, int i0, int qt, int64_t dpad, float* qu,
                              float* qw) {
    const int dh = a.dh;
    const float* u = a.u + int64_t(h) * dh;
    const float* w = a.w + int64_t(h) * dh;
    for (int i = 0; i < qt; ++i) {
        const float* q = a.q + b * a.qs[0] + h * a.qs[1] + (i0 + i) * a.qs[2];
        for (int d = 0; d < dh; ++d) {
            qu[i * dpad + d] = (q[d] + u[d]) * a.scale;
            qw[i * dpad + d] = (q[d] + w[d]) * a.scale;
        }
    }
}

MLA_INLINE void write_rows(const RelposArgs& a, int b, int h, int i0, int qt, int64_t dpad, const float* o,
                           const float* l) {
    for (int i = 0; i < qt; ++i) {
        float* out = a.out + b * a.os[0] + h * a.os[1] + (i0 + i) * a.os[2];
        const float inv = 1.0f / l[i];
        for (int d = 0; d < a.dh; ++d) out[d] = o[i * dpad + d] * inv;
    }
}

// Rows i0 .. i0+qt-1 of batch b, head h, over all valid keys, through transposed key tiles.
template <class V>
MLA_INLINE void relpos_rows_transposed(const RelposArgs& a, int b, int h, int i0, int qt, float* scratch) {
    constexpr int W = lanes<V>();
    const RelposScratch L(a.dh);
    const int dh = a.dh;
    const int64_t dpad = L.dpad;
    const int len = keys_of(a, b);
    float* qu = scratch + L.qu;
    float* qw = scratch + L.qw;
    float* kT = scratch + L.kT;
    float* pT = scratch + L.pT;
    float* vt = scratch + L.vt;
    float* o = scratch + L.o;
    float* s = scratch + L.s;
    stage_queries(a, b, h, i0, qt, dpad, qu, qw);
    std::memset(o, 0, sizeof(float) * qt * dpad);
    float m[kQT], l[kQT];
    for (int i = 0; i < kQT; ++i) { m[i] = -INFINITY; l[i] = 0.0f; }

    const float* pb = a.p + h * a.ps[1];
    for (int j0 = 0; j0 < len; j0 += kKT) {
        const int kt = std::min(kKT, len - j0);
        for (int j = 0; j < kKT; ++j) {
            if (j < kt) {
                const float* kr = key_row(a, b, h, j0 + j);
                for (int d = 0; d < dh; ++d) kT[int64_t(d) * kKT + j] = kr[d];
                float* vr = vt + j * dpad;
                std::memcpy(vr, value_row(a, b, h, j0 + j), sizeof(float) * dh);
                for (int64_t d = dh; d < dpad; ++d) vr[d] = 0.0f;
            } else {
                for (int d = 0; d < dh; ++d) kT[int64_t(d) * kKT + j] = 0.0f;
            }
        }
        // Rows outside [0,P) belong only to pairs that are never used (padded rows or keys).
        const int64_t base = int64_t(a.zero_row) - q_offset_of(a, b) - i0 - (kQT - 1) + j0;
        for (int x = 0; x < kPW; ++x) {
            const int64_t row = base + x;
            if (row >= 0 && row < a.P) {
                const float* pr = pb + row * a.ps[0];
                for (int d = 0; d < dh; ++d) pT[int64_t(d) * kPW + x] = pr[d];
            } else {
                for (int d = 0; d < dh; ++d) pT[int64_t(d) * kPW + x] = 0.0f;
            }
        }

        for (int i = 0; i < qt; ++i) {
            float* si = s + i * kKT;
            score_row<V>(qu + i * dpad, qw + i * dpad, kT, pT + (kQT - 1 - i), dh, si);
            const float corr = softmax_step<V>(si, kt, m[i], l[i]);
            if (corr != 1.0f) {
                const V c = vsplat<V>(corr);
                float* oi = o + i * dpad;
                for (int64_t d = 0; d < dpad; d += W) vstore<V>(oi + d, vload<V>(oi + d) * c);
            }
        }
        accumulate<V>(o, s, vt, dpad, kt, qt);
    }
    write_rows(a, b, h, i0, qt, dpad, o, l);
}

// One tile of N keys (kt of them valid) for NR query rows i .. i+NR-1 of the direct path: the rows
// share every load of k and v; BD reads each row's own p rows.
template <class V, int NR>
MLA_INLINE void direct_rows(const RelposArgs& a, int q_offset, int i0, int i, int j0, int kt, const float* qu, const float* qw,
                            int64_t dpad, const float* pb, const float* const* krow, const float* const* vrow,
                            float* o, float* m, float* l) {
    constexpr int N = kDirectKeys;
    const float *qur[NR], *prow[NR][N];
    float* orow[NR];
    for (int t = 0; t < NR; ++t) {
        qur[t] = qu + (i + t) * dpad;
        orow[t] = o + (i + t) * dpad;
        // Key j0 + j uses p row zero_row - (q_offset + i0 + i + t - j0 - j).
        const int64_t p0 = int64_t(a.zero_row) - q_offset - (i0 + i + t) + j0;
        for (int j = 0; j < N; ++j) prow[t][j] = pb + (p0 + std::min(j, kt - 1)) * a.ps[0];
    }
    V acc[NR][N];
    float s[NR][N], e[NR][N], corr[NR];
    for (int t = 0; t < NR; ++t)
        for (int j = 0; j < N; ++j) { acc[t][j] = V{}; s[t][j] = 0.0f; }
    dot_rows_shared<V, NR, N>(qur, krow, a.dh, acc, s);  // AC
    for (int t = 0; t < NR; ++t) {
        dot_rows<V, N>(qw + (i + t) * dpad, prow[t], a.dh, acc[t], s[t]);  // BD, into the same sums
        add_lane_sums8(acc[t], s[t]);
        for (int j = kt; j < N; ++j) s[t][j] = -INFINITY;
        corr[t] = online_softmax8(s[t], e[t], m[i + t], l[i + t]);
    }
    scale_add_rows_shared<V, NR, N>(orow, corr, e, vrow, a.dh);  // o = o corr + sum_j e_j v_j
}

// Rows i0 .. i0+qt-1 (qt <= kDirectRows) of batch b, head h, over all valid keys, 8 keys at a time.
template <class V>
MLA_INLINE void relpos_rows_direct(const RelposArgs& a, int b, int h, int i0, int qt, float* scratch) {
    constexpr int N = kDirectKeys;
    constexpr int NR = lanes<V>() == 16 ? 2 : 1;  // 2 x 8 accumulators fit 32 vector registers (AVX-512)
    const RelposScratch L(a.dh);
    const int64_t dpad = L.dpad;
    const int len = keys_of(a, b);
    const int q_offset = q_offset_of(a, b);
    float* qu = scratch + L.qu;
    float* qw = scratch + L.qw;
    float* o = scratch + L.o;
    stage_queries(a, b, h, i0, qt, dpad, qu, qw);
    std::memset(o, 0, sizeof(float) * qt * dpad);
    float m[kDirectRows], l[kDirectRows];
    for (int i = 0; i < kDirectRows; ++i) { m[i] = -INFINITY; l[i] = 0.0f; }

    const float* pb = a.p + h * a.ps[1];
    for (int j0 = 0; j0 < len; j0 += N) {
        const int kt = std::min(N, len - j0);
        const float *krow[N], *vrow[N];  // padding keys repeat the last valid one; their weight is 0
        for (int j = 0; j < N; ++j) {
            krow[j] = key_row(a, b, h, j0 + std::min(j, kt - 1));
            vrow[j] = value_row(a, b, h, j0 + std::min(j, kt - 1));
        }
        int i = 0;
        for (; i + NR <= qt; i += NR)
            direct_rows<V, NR>(a, q_offset, i0, i, j0, kt, qu, qw, dpad, pb, krow, vrow, o, m, l);
        for (; i < qt; ++i) direct_rows<V, 1>(a, q_offset, i0, i, j0, kt, qu, qw, dpad, pb, krow, vrow, o, m, l);
    }
    write_rows(a, b, h, i0, qt, dpad, o, l);
}

// Query rows i0 .. i0+kQT-1 (those below Tq) of batch b, head h.
template <class V>
MLA_INLINE void relpos_task(const RelposArgs& a, int b, int h, int i0, float* scratch) {
    const int qt = std::min(kQT, a.Tq - i0);
    if (qt <= kDirectRows)
        relpos_rows_direct<V>(a, b, h, i0, qt, scratch);
    else
        relpos_rows_transposed<V>(a, b, h, i0, qt, scratch);
}

typedef void (*RelposTaskFn)(const RelposArgs&, int, int, int, float*);

void relpos_task_baseline(const RelposArgs& a, int b, int h, int i0, float* scratch) {
    relpos_task<vf4>(a, b, h, i0, scratch);
}
MLA_TARGET_AVX2 void relpos_task_avx2(const RelposArgs& a, int b, int h, int i0, float* scratch) {
    relpos_task<vf8>(a, b, h, i0, scratch);
}
MLA_TARGET_AVX512 void relpos_task_avx512(const RelposArgs& a, int b, int h, int i0, float* scratch) {
    relpos_task<vf16>(a, b, h, i0, scratch);
}

}  // namespace

int relpos_attention_cpu(const RelposArgs& a) {
    RelposTaskFn task = relpos_task_baseline;
    switch (cpu_isa()) {
        case CpuIsa::Avx512: task = relpos_task_avx512; break;
        case CpuIsa::Avx2: task = relpos_task_avx2; break;
        case CpuIsa::Baseline: break;
    }
    const int tiles = (a.Tq + kQT - 1) / kQT;
    const int64_t tasks = int64_t(a.B) * a.H * tiles;
    const int64_t scratch_floats = RelposScratch(a.dh).total;
    std::atomic<bool> out_of_memory{false};
#pragma omp parallel for schedule(dynamic, 1) num_threads(cpu_threads()) if (tasks > 1)
    for (int64_t t = 0; t < tasks; ++t) {
        float* scratch = thread_scratch(0, scratch_floats);
        if (scratch == nullptr) {
            out_of_memory = true;
            continue;
        }
        const int tile = int(t % tiles);
        const int h = int(t / tiles % a.H);
        const int b = int(t / tiles / a.H);
        task(a, b, h, tile * kQT, scratch);
    }
    return out_of_memory ? MLA_ERR_OUT_OF_MEMORY : MLA_OK;
}

}  // namespace mla

extern "C" int mla_relpos_attention_f32(int device, void* stream,
    int B, int H, int Tq, int Tk, int dh, int P, int zero_row, int q_offset, float scale,
    const float* q, const int64_t* q_strides,
    const float* k, const int64_t* k_strides,
    const float* v, const int64_t* v_strides,
    const float* p, const int64_t* p_strides,
    const float* u, const float* w,
    const int32_t* lengths,
    float* out, const int64_t* out_strides) {
    using namespace mla;
    if (device != MLA_DEVICE_CPU && device != MLA_DEVICE_CUDA) return MLA_ERR_INVALID_ARGUMENT;
#ifndef MHA2MLA_WITH_CUDA
    if (device == MLA_DEVICE_CUDA) return MLA_ERR_UNSUPPORTED;
#endif
    if (B < 1 || H < 1 || Tq < 1 || Tk < 1 || dh < 1 || P < 1 || !std::isfinite(scale))
        return MLA_ERR_INVALID_ARGUMENT;
    if (q == nullptr || k == nullptr || v == nullptr || p == nullptr || u == nullptr || w == nullptr ||
        out == nullptr)
        return MLA_ERR_INVALID_ARGUMENT;
    if (!strides_ok(q_strides, 3, false) || !strides_ok(k_strides, 3, false) ||
        !strides_ok(v_strides, 3, false) || !strides_ok(p_strides, 2, false) ||
        !strides_ok(out_strides, 3, true))
        return MLA_ERR_INVALID_ARGUMENT;
    // Device lengths cannot be read here: on CUDA p must cover every key below Tk.
    const int max_len = device == MLA_DEVICE_CPU ? max_length(lengths, B, Tk) : Tk;
    if (max_len < 1 || !rows_in_range(P, zero_row, q_offset, Tq, max_len)) return MLA_ERR_INVALID_ARGUMENT;

    RelposArgs a;
    a.B = B; a.H = H; a.Tq = Tq; a.Tk = Tk; a.dh = dh; a.P = P;
    a.zero_row = zero_row; a.q_offset = q_offset; a.scale = scale;
    a.q = q; a.k = k; a.v = v; a.p = p; a.u = u; a.w = w; a.lengths = lengths; a.out = out;
    for (int i = 0; i < 3; ++i) {
        a.qs[i] = q_strides[i]; a.ks[i] = k_strides[i]; a.vs[i] = v_strides[i]; a.os[i] = out_strides[i];
    }
    a.ps[0] = p_strides[0]; a.ps[1] = p_strides[1];

    if (device == MLA_DEVICE_CPU) return relpos_attention_cpu(a);
#ifdef MHA2MLA_WITH_CUDA
    return relpos_attention_cuda(a, stream);
#else
    (void)stream;
    return MLA_ERR_UNSUPPORTED;
#endif
}
