// Fused latent attention (absorbed MLA), CPU (entry point 2 of mha2mla.h).
//
// For batch b, head h, query i, with the latent c shared by all heads:
//   s[h,i,j] = (qa[h,i] . c_j + qw[h,i] . p[zero_row - (q_offset + i - j), h]) * scale
//   z[h,i]   = sum_{j < len_b} softmax_j(s[h,i,:]) c_j
// Online softmax as in relpos_attention.cpp. A task owns kQT query rows of one batch for ALL heads
// and walks its keys in tiles of kKT: each tile of c is read from memory once and used by all
// H * kQT (head, query) rows while it sits in L1. That is where the absorbed form's speed comes from
// (DESIGN.md section 3): with few queries the kernel is bound by memory, and per cached frame it reads
// r values of c where MHA reads 2d of K and V. Both also read the frame's p row for BD (d values over
// all heads), which the roofline's 2d-versus-r ratio leaves out.
//
// With fewer (batch, query tile) tasks than threads, as when streaming one sequence, the keys are
// split across tasks (flash decoding). Split k writes its running max m_k, sum l_k and unnormalised
// z_k; the merge is  M = max_k m_k,  z = sum_k z_k e^(m_k - M) / sum_k l_k e^(m_k - M).
//
// With many query rows (full utterances, large chunks) and a narrow latent, each (batch, head) runs the rel-pos
// kernel's transposed-tile path instead (key_tiles.h, keys = values = c, dk = dv = r, dp = dh): there the work is
// bound by arithmetic, not by reading c, and keeping keys in vector lanes avoids the per-key horizontal
// sums and the short vectors that make the path above slow for small r.
//
// The same kernel serves streaming caches (mla_latent_cache_attend_f32): there batch b's keys are the rows
// of its cache window (a ring, see CacheWindow) and its queries sit at the window's last Tq positions.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "common.h"
#include "cpu_simd.h"
#include "key_tiles.h"

namespace mla {
namespace {

constexpr int kQT = 8;              // query rows per task (for every head)
constexpr int kKT = 8;              // keys per tile: 8 rows of c stay in L1 across all heads
static_assert(kKT == 8, "online_softmax8 takes 8 keys");
constexpr int kMinSplitKeys = 128;  // do not split the keys finer than this
// The transposed-tile path from a full tile of query rows on, for latents up to kTiledMaxLatent wide. Measured
// (one thread, T = 500, absorbed MLA): r = 72 2.6x faster than the path above, r = 128 1.28x, r = 256 1.04x,
// r = 384 0.94x, r = 512 0.92x (long rows of c keep the per-key dot products efficient).
constexpr int kTiledRows = 32;
constexpr int kTiledMaxLatent = 256;

// Row j of batch b's keys: dense c, or a cache window's ring row.
MLA_INLINE const float* latent_key(const LatentArgs& a, int b, int j) {
    if (a.windows != nullptr) {
        const CacheWindow& w = a.windows[b];
        return w.k + window_row(w, j) * w.ts;
    }
    return a.c + b * a.cs[0] + j * a.cs[1];
}

// A task's running state, floats: m [H*kQT], l [H*kQT], z [H*kQT][rpad]; state row h*kQT + i. Per key tile
// also e [H*kQT][kKT] and corr [H*kQT], the softmax weights and output factors, by flat row rho = h*qt + i.
struct LatentState {
    int64_t rows, rpad, m, l, z, e, corr, total;
    LatentState(int H, int r) {
        rows = int64_t(H) * kQT;
        rpad = round_up(r, 16);
        m = 0;
        l = round_up(rows, 16);
        z = l + round_up(rows, 16);
        e = z + rows * rpad;
        corr = e + rows * kKT;
        total = corr + round_up(rows, 16);
    }
};

MLA_INLINE int64_t state_row(int rho, int qt) { return int64_t(rho / qt) * kQT + rho % qt; }

// Scores of one key tile for NR (head, query) rows of the task, flat rows rho0 .. rho0+NR-1 (rho = h * qt + i):
// the rows share every load of c in AC; BD reads each row's own p rows. Leaves the softmax weights in e and the
// factors for the old output in corr.
template <class V, int NR>
MLA_INLINE void latent_scores(const LatentArgs& a, int b, int q_offset, int i0, int qt, int rho0, int j0, int kt,
                              const float* const* crow, float* m, float* l, float (*e)[kKT], float* corr) {
    const float *qa[NR], *qw[NR], *prow[NR][kKT];
    int64_t row[NR];
    for (int t = 0; t < NR; ++t) {
        const int h = (rho0 + t) / qt, i = (rho0 + t) % qt;
        row[t] = state_row(rho0 + t, qt);
        qa[t] = a.qa + b * a.qas[0] + h * a.qas[1] + (i0 + i) * a.qas[2];
        qw[t] = a.qw + b * a.qws[0] + h * a.qws[1] + (i0 + i) * a.qws[2];
        // Key j0 + j uses p row zero_row - (q_offset + i0 + i - j0 - j).
        const int64_t p0 = int64_t(a.zero_row) - q_offset - (i0 + i) + j0;
        for (int j = 0; j < kKT; ++j) prow[t][j] = a.p + h * a.ps[1] + (p0 + std::min(j, kt - 1)) * a.ps[0];
    }
    V acc[NR][kKT];
    float s[NR][kKT];
    for (int t = 0; t < NR; ++t)
        for (int j = 0; j < kKT; ++j) { acc[t][j] = V{}; s[t][j] = 0.0f; }
    dot_rows_shared<V, NR, kKT>(qa, crow, a.r, acc, s);  // AC
    for (int t = 0; t < NR; ++t) {
        dot_rows<V, kKT>(qw[t], prow[t], a.dh, acc[t], s[t]);  // BD, into the same sums
        add_lane_sums8(acc[t], s[t]);
        for (int j = 0; j < kKT; ++j) s[t][j] = j < kt ? s[t][j] * a.scale : -INFINITY;
        corr[rho0 + t] = online_softmax8(s[t], e[rho0 + t], m[row[t]], l[row[t]]);
    }
}

// z = z corr + sum_j e_j c_j for NR flat rows rho0 .. rho0+NR-1, sharing every load of the tile of c.
template <class V, int NR>
MLA_INLINE void latent_update(const LatentState& S, int qt, int rho0, const float* const* crow, int r,
                              const float (*e)[kKT], const float* corr, float* z) {
    float* zr[NR];
    for (int t = 0; t < NR; ++t) zr[t] = z + state_row(rho0 + t, qt) * S.rpad;
    scale_add_rows_shared<V, NR, kKT>(zr, corr + rho0, e + rho0, crow, r);
}

// Query rows i0 .. i0+kQT-1 (those below Tq) of batch b, every head, keys [j_begin, j_end).
template <class V>
MLA_INLINE void latent_task(const LatentArgs& a, int b, int i0, int j_begin, int j_end, float* state) {
    // Scores two rows at a time where 32 vector registers hold 2 x 8 accumulators (AVX-512), else one; the
    // output update four rows at a time (2 x 4 accumulators).
    constexpr int NR = lanes<V>() == 16 ? 2 : 1;
    constexpr int NU = 4;
    const LatentState S(a.H, a.r);
    const int qt = std::min(kQT, a.Tq - i0);
    const int rows = a.H * qt;
    float* m = state + S.m;
    float* l = state + S.l;
    float* z = state + S.z;
    float (*e)[kKT] = reinterpret_cast<float (*)[kKT]>(state + S.e);
    float* corr = state + S.corr;
    for (int64_t row = 0; row < S.rows; ++row) { m[row] = -INFINITY; l[row] = 0.0f; }
    std::memset(z, 0, sizeof(float) * S.rows * S.rpad);

    const int q_offset = q_offset_of(a, b);
    for (int j0 = j_begin; j0 < j_end; j0 += kKT) {
        const int kt = std::min(kKT, j_end - j0);
        const float* crow[kKT];  // padding keys repeat the last valid row; their weight is 0
        for (int j = 0; j < kKT; ++j) crow[j] = latent_key(a, b, j0 + std::min(j, kt - 1));
        // Every head and query of the task uses this tile of c while it is in L1.
        int rho = 0;
        for (; rho + NR <= rows; rho += NR) latent_scores<V, NR>(a, b, q_offset, i0, qt, rho, j0, kt, crow, m, l, e, corr);
        for (; rho < rows; ++rho) latent_scores<V, 1>(a, b, q_offset, i0, qt, rho, j0, kt, crow, m, l, e, corr);
        for (rho = 0; rho + NU <= rows; rho += NU) latent_update<V, NU>(S, qt, rho, crow, a.r, e, corr, z);
        for (; rho < rows; ++rho) latent_update<V, 1>(S, qt, rho, crow, a.r, e, corr, z);
    }
}

// Batch b's latent rows, the keys and the values of every head, for tiles::attend.
struct LatentKeys {
    const LatentArgs& a;
    int b;
    MLA_INLINE const float* key(int j) const { return latent_key(a, b, j); }
    MLA_INLINE const float* value(int j) const { return latent_key(a, b, j); }
};

MLA_INLINE tiles::Scratch tile_layout(const LatentArgs& a) { return tiles::Scratch(a.r, a.dh, a.r); }

// Query rows i0 .. i0+tiles::kQT-1 (those below Tq) of batch b, head h, through transposed key tiles.
template <class V>
MLA_INLINE void latent_head_task(const LatentArgs& a, int b, int h, int i0, float* scratch) {
    const tiles::Scratch L = tile_layout(a);
    const int qt = std::min(tiles::kQT, a.Tq - i0);
    float* qu = scratch + L.qu;
    float* qw = scratch + L.qw;
    for (int i = 0; i < qt; ++i) {  // the scale applies to AC + BD: fold it into both queries
        const float* qa_i = a.qa + b * a.qas[0] + h * a.qas[1] + (i0 + i) * a.qas[2];
        const float* qw_i = a.qw + b * a.qws[0] + h * a.qws[1] + (i0 + i) * a.qws[2];
        for (int d = 0; d < a.r; ++d) qu[i * L.kpad + d] = qa_i[d] * a.scale;
        for (int d = 0; d < a.dh; ++d) qw[i * L.ppad + d] = qw_i[d] * a.scale;
    }
    float l[tiles::kQT];
    const tiles::PTable p{a.p + h * a.ps[1], a.ps[0], a.P};
    tiles::attend<V>(LatentKeys{a, b}, L, qt, keys_of(a, b), int64_t(a.zero_row) - q_offset_of(a, b) - i0, p,
                     scratch, l);
    const float* o = scratch + L.o;
    for (int i = 0; i < qt; ++i) {
        float* out = a.z + b * a.zs[0] + h * a.zs[1] + (i0 + i) * a.zs[2];
        const float inv = 1.0f / l[i];
        for (int d = 0; d < a.r; ++d) out[d] = o[i * L.vpad + d] * inv;
    }
}

typedef void (*LatentHeadTaskFn)(const LatentArgs&, int, int, int, float*);

void latent_head_task_baseline(const LatentArgs& a, int b, int h, int i0, float* scratch) {
    latent_head_task<vf4>(a, b, h, i0, scratch);
}
MLA_TARGET_AVX2 void latent_head_task_avx2(const LatentArgs& a, int b, int h, int i0, float* scratch) {
    latent_head_task<vf8>(a, b, h, i0, scratch);
}
MLA_TARGET_AVX512 void latent_head_task_avx512(const LatentArgs& a, int b, int h, int i0, float* scratch) {
    latent_head_task<vf16>(a, b, h, i0, scratch);
}

// Every (batch, head, query tile) through transposed key tiles.
int latent_attention_cpu_tiled(const LatentArgs& a) {
    const LatentHeadTaskFn task = for_this_cpu<LatentHeadTaskFn>(latent_head_task_baseline, latent_head_task_avx2, latent_head_task_avx512);
    return tiles::for_each_head_tile(a, task, tile_layout(a).total);
}

typedef void (*LatentTaskFn)(const LatentArgs&, int, int, int, int, float*);

void latent_task_baseline(const LatentArgs& a, int b, int i0, int j0, int j1, float* state) {
    latent_task<vf4>(a, b, i0, j0, j1, state);
}
MLA_TARGET_AVX2 void latent_task_avx2(const LatentArgs& a, int b, int i0, int j0, int j1, float* state) {
    latent_task<vf8>(a, b, i0, j0, j1, state);
}
MLA_TARGET_AVX512 void latent_task_avx512(const LatentArgs& a, int b, int i0, int j0, int j1, float* state) {
    latent_task<vf16>(a, b, i0, j0, j1, state);
}

// z[b, h, i0 + i] = sum_k z_k e^(m_k - M) / sum_k l_k e^(m_k - M) over the given task states
// (one state: plain normalisation).
void write_output(const LatentArgs& a, const LatentState& S, int b, int i0, const float* states,
                  int count) {
    const int qt = std::min(kQT, a.Tq - i0);
    for (int h = 0; h < a.H; ++h) {
        for (int i = 0; i < qt; ++i) {
            const int64_t row = int64_t(h) * kQT + i;
            float mx = -INFINITY;
            for (int k = 0; k < count; ++k) mx = std::max(mx, states[k * S.total + S.m + row]);
            float weight[64];  // count <= 64, see plan_splits
            float denom = 0.0f;
            for (int k = 0; k < count; ++k) {
                const float* st = states + k * S.total;
                weight[k] = std::exp(st[S.m + row] - mx);  // an empty split has m = -inf: weight 0
                denom += st[S.l + row] * weight[k];
            }
            for (int k = 0; k < count; ++k) weight[k] /= denom;
            float* out = a.z + b * a.zs[0] + h * a.zs[1] + (i0 + i) * a.zs[2];
            for (int d = 0; d < a.r; ++d) {
                float x = 0.0f;
                for (int k = 0; k < count; ++k) x += states[k * S.total + S.z + row * S.rpad + d] * weight[k];
                out[d] = x;
            }
        }
    }
}

// Key splits per (batch, query tile): enough tasks for the threads, each split >= kMinSplitKeys.
int plan_splits(int tasks, int threads, int max_len) {
    if (tasks >= threads) return 1;
    const int want = (threads + tasks - 1) / tasks;
    const int most = std::max(1, max_len / kMinSplitKeys);
    return std::min({want, most, 64});
}

}  // namespace

int latent_attention_cpu(const LatentArgs& a) {
    if (a.Tq >= kTiledRows && a.r <= kTiledMaxLatent) return latent_attention_cpu_tiled(a);
    const LatentTaskFn task = for_this_cpu<LatentTaskFn>(latent_task_baseline, latent_task_avx2, latent_task_avx512);
    const LatentState S(a.H, a.r);
    const int tiles = (a.Tq + kQT - 1) / kQT;
    const int64_t tiles_total = int64_t(a.B) * tiles;
    const int threads = cpu_threads();
    int max_len = 0;
    for (int b = 0; b < a.B; ++b) max_len = std::max(max_len, keys_of(a, b));
    const int splits = plan_splits(int(std::min<int64_t>(tiles_total, threads)), threads, max_len);
    std::atomic<bool> out_of_memory{false};

    if (splits == 1) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (tiles_total > 1)
        for (int64_t t = 0; t < tiles_total; ++t) {
            float* state = thread_scratch(0, S.total);
            if (state == nullptr) {
                out_of_memory = true;
                continue;
            }
            const int b = int(t / tiles), i0 = int(t % tiles) * kQT;
            task(a, b, i0, 0, keys_of(a, b), state);
            write_output(a, S, b, i0, state, 1);
        }
        return out_of_memory ? MLA_ERR_OUT_OF_MEMORY : MLA_OK;
    }

    // Split k of batch b covers keys [k * chunk, (k + 1) * chunk) of its len_b valid keys.
    float* states = thread_scratch(1, size_t(tiles_total) * splits * S.total);
    if (states == nullptr) return MLA_ERR_OUT_OF_MEMORY;
    const int64_t tasks = tiles_total * splits;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t t = 0; t < tasks; ++t) {
        const int k = int(t % splits);
        const int64_t tile = t / splits;
        const int b = int(tile / tiles), i0 = int(tile % tiles) * kQT;
        const int len = keys_of(a, b);
        const int chunk = (len + splits - 1) / splits;
        const int j0 = std::min(len, k * chunk), j1 = std::min(len, j0 + chunk);
        task(a, b, i0, j0, j1, states + t * S.total);
    }
#pragma omp parallel for schedule(static) num_threads(threads) if (tiles_total > 1)
    for (int64_t tile = 0; tile < tiles_total; ++tile)
        write_output(a, S, int(tile / tiles), int(tile % tiles) * kQT, states + tile * splits * S.total,
                     splits);
    return MLA_OK;
}

}  // namespace mla
