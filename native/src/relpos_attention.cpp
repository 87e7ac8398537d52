// Fused relative-position attention over expanded K/V, CPU (entry point 1 of mha2mla.h).
//
// For batch b and head h, with qu_i = (q_i + u) * scale and qw_i = (q_i + w) * scale:
//   s[i,j] = qu_i . k_j + qw_i . p[zero_row - (q_offset + i - j)]        (AC + BD, scaled)
//   out_i  = sum_{j < len_b} softmax_j(s[i,:]) v_j
// Flash style, no T x T buffer: a task owns up to kQT query rows of one (b, h) and walks the valid keys
// in tiles with an online softmax (key_tiles.h). Keys j >= len_b are skipped: HF adds float32 min to
// their scores, which gives them probability 0.
//
// Two ways through the keys, by the number of query rows:
// - many rows (full utterances): transposed key tiles, tiles::attend in key_tiles.h.
// - few rows (streaming, up to kDirectRows): no transpose; each row takes its dot products with 8 keys
//   at a time straight from k and p, AC and BD summed in the same accumulators.
//
// The same kernel serves K/V streaming caches (mla_kv_cache_attend_f32): there batch b's keys and values
// are the rows of its cache window (a ring, see CacheWindow) and its queries sit at the window's last Tq
// positions.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "common.h"
#include "cpu_simd.h"
#include "key_tiles.h"

namespace mla {
namespace {

using tiles::kQT;
constexpr int kDirectRows = 8;  // up to this many rows take the direct path
constexpr int kDirectKeys = 8;  // keys per tile (direct path)

MLA_INLINE tiles::Scratch scratch_layout(int dh) { return tiles::Scratch(dh, dh, dh); }

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

// Batch b, head h's keys and values for tiles::attend.
struct HeadKeys {
    const RelposArgs& a;
    int b, h;
    MLA_INLINE const float* key(int j) const { return key_row(a, b, h, j); }
    MLA_INLINE const float* value(int j) const { return value_row(a, b, h, j); }
};

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
MLA_INLINE void relpos_rows_transposed(const RelposArgs& a, int b, int h, int i0, int qt, float* scratch,
                                       const tiles::Transposed* pre) {
    const tiles::Scratch L = scratch_layout(a.dh);
    stage_queries(a, b, h, i0, qt, L.kpad, scratch + L.qu, scratch + L.qw);
    float l[kQT];
    const tiles::PTable p{a.p + h * a.ps[1], a.ps[0], a.P};
    tiles::attend<V>(HeadKeys{a, b, h}, L, qt, keys_of(a, b), int64_t(a.zero_row) - q_offset_of(a, b) - i0, p,
                     scratch, l, pre);
    write_rows(a, b, h, i0, qt, L.vpad, scratch + L.o, l);
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
    const tiles::Scratch L = scratch_layout(a.dh);
    const int64_t dpad = L.kpad;
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

// Query rows i0 .. i0+kQT-1 (those below Tq) of batch b, head h; pre: the call's transposed keys and p, or null.
template <class V>
MLA_INLINE void relpos_task(const RelposArgs& a, int b, int h, int i0, float* scratch, const tiles::Transposed* pre) {
    const int qt = std::min(kQT, a.Tq - i0);
    if (qt <= kDirectRows)
        relpos_rows_direct<V>(a, b, h, i0, qt, scratch);
    else
        relpos_rows_transposed<V>(a, b, h, i0, qt, scratch, pre);
}

typedef void (*RelposTaskFn)(const RelposArgs&, int, int, int, float*, const tiles::Transposed*);

void relpos_task_baseline(const RelposArgs& a, int b, int h, int i0, float* scratch, const tiles::Transposed* pre) {
    relpos_task<vf4>(a, b, h, i0, scratch, pre);
}
MLA_TARGET_AVX2 void relpos_task_avx2(const RelposArgs& a, int b, int h, int i0, float* scratch,
                                      const tiles::Transposed* pre) {
    relpos_task<vf8>(a, b, h, i0, scratch, pre);
}
MLA_TARGET_AVX512 void relpos_task_avx512(const RelposArgs& a, int b, int h, int i0, float* scratch,
                                          const tiles::Transposed* pre) {
    relpos_task<vf16>(a, b, h, i0, scratch, pre);
}

}  // namespace

int relpos_attention_cpu(const RelposArgs& a) {
    const RelposTaskFn task = for_this_cpu<RelposTaskFn>(relpos_task_baseline, relpos_task_avx2, relpos_task_avx512);
    // With several query tiles per head (full utterances) the keys are transposed once per call, not per tile.
    // Cache windows (streaming) have one tile per head at most chunk sizes: they transpose per tile.
    tiles::TransposedCall pre;
    if (a.windows == nullptr && a.Tq > kQT) {
        if (!pre.allocate(int64_t(a.B) * a.H, a.dh, a.Tk, a.H, a.dh, a.P)) return MLA_ERR_OUT_OF_MEMORY;
        pre.fill(
            int64_t(a.B) * a.H, [&](int64_t bh, int j) { return key_row(a, int(bh / a.H), int(bh % a.H), j); },
            [&](int64_t bh) { return keys_of(a, int(bh / a.H)); }, a.H,
            [&](int h) { return tiles::PTable{a.p + h * a.ps[1], a.ps[0], a.P}; });
    }
    return tiles::for_each_head_tile(
        a,
        [&](const RelposArgs& args, int b, int h, int i0, float* scratch) {
            if (pre.empty()) return task(args, b, h, i0, scratch, nullptr);
            const tiles::Transposed t = pre.of(int64_t(b) * a.H + h, h);
            task(args, b, h, i0, scratch, &t);
        },
        scratch_layout(a.dh).total);
}

}  // namespace mla
