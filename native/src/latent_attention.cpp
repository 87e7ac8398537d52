// Fused latent attention (absorbed MLA), CPU (entry point 2 of mha2mla.h).
//
// For batch b, head h, query i, with the latent c shared by all heads:
//   s[h,i,j] = (qa[h,i] . c_j + qw[h,i] . p[zero_row - (q_offset + i - j), h]) * scale
//   z[h,i]   = sum_{j < len_b} softmax_j(s[h,i,:]) c_j
// Online softmax over blocks of kKB = 64 keys. A task owns kQT query rows for ALL heads, of up to kGroup = 8
// batches, and walks the keys block by block; per block and batch: the scores of every (head, query) row, 8 keys
// at a time (each 8-row tile of c is read from memory once and used by all H * kQT rows while it sits in L1), one
// softmax step per row (vectorised over the block's keys), then z = z corr + E C with a few rows and columns of
// z in registers (the block's rows of c now in L2). That is where the absorbed form's speed comes from (DESIGN.md
// section 3): with few queries the kernel is bound by memory, and per cached frame it reads r values of c where
// MHA reads 2d of K and V. Both also read the frame's p row for BD (d values over all heads), which the
// roofline's 2d-versus-r ratio leaves out; the batches of a task take each block in turn, so where their
// windows are equally long the block's p rows are read from memory once for all of them.
//
// With fewer (batch group, query tile) tasks than threads, as when streaming a few sequences, the keys are
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
constexpr int kKT = 8;              // keys per score tile: 8 rows of c stay in L1 across all heads
constexpr int kKB = 64;             // keys per softmax step and output update (their rows of c stay in L2)
static_assert(kKB % kKT == 0, "a block is whole score tiles");
constexpr int kMinSplitKeys = 128;  // do not split the keys finer than this
constexpr int kGroup = 8;           // batches per task that walk their keys together (see latent_group_task)
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

// A task's running state, floats: m [H*kQT], l [H*kQT], z [H*kQT][rpad]; state row h*kQT + i. Per key block
// also e [H*kQT][kKB] (the scores, then the softmax weights) and corr [H*kQT], the factors for the old output,
// by flat row rho = h*qt + i.
struct LatentState {
    int64_t rows, rpad, m, l, z, e, corr, total;
    LatentState(int H, int r) {
        rows = int64_t(H) * kQT;
        rpad = round_up(r, 16);
        m = 0;
        l = round_up(rows, 16);
        z = l + round_up(rows, 16);
        e = z + rows * rpad;
        corr = e + rows * kKB;
        total = corr + round_up(rows, 16);
    }
};

MLA_INLINE int64_t state_row(int rho, int qt) { return int64_t(rho / qt) * kQT + rho % qt; }

// Raw scores (AC + BD) * scale of keys j0 .. j0+kKT-1 of the block (kt of them valid) for NR flat rows
// rho0 .. rho0+NR-1 (rho = h * qt + i), into s[rho][jb .. jb+kKT): the rows share every load of c in AC; BD reads
// each row's own p rows.
template <class V, int NR>
MLA_INLINE void latent_scores(const LatentArgs& a, int b, int q_offset, int i0, int qt, int rho0, int j0, int kt,
                              const float* const* crow, float (*s)[kKB], int jb) {
    const float *qa[NR], *qw[NR], *prow[NR][kKT];
    for (int t = 0; t < NR; ++t) {
        const int h = (rho0 + t) / qt, i = (rho0 + t) % qt;
        qa[t] = a.qa + b * a.qas[0] + h * a.qas[1] + (i0 + i) * a.qas[2];
        qw[t] = a.qw + b * a.qws[0] + h * a.qws[1] + (i0 + i) * a.qws[2];
        // Key j0 + j uses p row zero_row - (q_offset + i0 + i - j0 - j).
        const int64_t p0 = int64_t(a.zero_row) - q_offset - (i0 + i) + j0;
        for (int j = 0; j < kKT; ++j) prow[t][j] = a.p + h * a.ps[1] + (p0 + std::min(j, kt - 1)) * a.ps[0];
    }
    V acc[NR][kKT];
    float sum[NR][kKT];
    for (int t = 0; t < NR; ++t)
        for (int j = 0; j < kKT; ++j) { acc[t][j] = V{}; sum[t][j] = 0.0f; }
    dot_rows_shared<V, NR, kKT>(qa, crow, a.r, acc, sum);  // AC
    for (int t = 0; t < NR; ++t) {
        dot_rows<V, kKT>(qw[t], prow[t], a.dh, acc[t], sum[t]);  // BD, into the same sums
        add_lane_sums8(acc[t], sum[t]);
        for (int j = 0; j < kKT; ++j) s[rho0 + t][jb + j] = sum[t][j] * a.scale;
    }
}

// One online-softmax step over a block of kKB scores s (-inf past the block's valid keys): updates the running
// max m and sum l, turns s into e_j = e^(s_j - m') (exactly 0 where masked), returns e^(m - m'), the factor for
// the old output (0 on the first block, where m = -inf).
template <class V>
MLA_INLINE float online_softmax_block(float* s, float& m, float& l) {
    constexpr int W = lanes<V>();
    static_assert(kKB % W == 0, "a block is whole vectors");
    V mx = vload<V>(s);
    for (int j = W; j < kKB; j += W) {
        const V x = vload<V>(s + j);
        mx = x > mx ? x : mx;
    }
    const float tmax = vmax(mx);
    const float m_new = m > tmax ? m : tmax;
    const float corr = m_new > m ? __builtin_expf(m - m_new) : 1.0f;
    const V ninf = vsplat<V>(-__builtin_inff());
    V total = V{};
    for (int j = 0; j < kKB; j += W) {
        const V x = vload<V>(s + j);
        V ev = vexp(x - m_new);
        ev = x > ninf ? ev : V{};
        vstore<V>(s + j, ev);
        total += ev;
    }
    l = l * corr + vsum(total);
    m = m_new;
    return corr;
}

// z[rho] = z[rho] corr[rho] + sum_{j < kb} e[rho][j] c_j for NU flat rows and the DV vectors of z from d:
// NU x DV accumulators stay in registers over the whole block; per key, DV loads of c serve NU rows.
template <class V, int NU, int DV>
MLA_INLINE void latent_update_cols(float* const* zr, const float* corr, const float (*e)[kKB],
                                   const float* const* crow, int kb, int d) {
    constexpr int W = lanes<V>();
    V x[NU][DV];
    for (int u = 0; u < NU; ++u)
        for (int v = 0; v < DV; ++v) x[u][v] = vload<V>(zr[u] + d + v * W) * corr[u];
    for (int j = 0; j < kb; ++j) {
        V cv[DV];
        for (int v = 0; v < DV; ++v) cv[v] = in_register(vload<V>(crow[j] + d + v * W));
        for (int u = 0; u < NU; ++u) {
            const V ev = vsplat<V>(e[u][j]);
            for (int v = 0; v < DV; ++v) x[u][v] += ev * cv[v];
        }
    }
    for (int u = 0; u < NU; ++u)
        for (int v = 0; v < DV; ++v) vstore<V>(zr[u] + d + v * W, x[u][v]);
}

// The output update of one block for NU flat rows rho0 ..: whole groups of DV vectors, single vectors, then the
// scalar tail of r.
template <class V, int NU, int DV>
MLA_INLINE void latent_update(const LatentState& S, int qt, int rho0, const float* const* crow, int kb, int r,
                              const float (*e)[kKB], const float* corr, float* z) {
    constexpr int W = lanes<V>();
    float* zr[NU];
    for (int u = 0; u < NU; ++u) zr[u] = z + state_row(rho0 + u, qt) * S.rpad;
    int d = 0;
    for (; d + DV * W <= r; d += DV * W) latent_update_cols<V, NU, DV>(zr, corr + rho0, e + rho0, crow, kb, d);
    for (; d + W <= r; d += W) latent_update_cols<V, NU, 1>(zr, corr + rho0, e + rho0, crow, kb, d);
    for (; d < r; ++d)
        for (int u = 0; u < NU; ++u) {
            float x = zr[u][d] * corr[rho0 + u];
            for (int j = 0; j < kb; ++j) x += e[rho0 + u][j] * crow[j][d];
            zr[u][d] = x;
        }
}

// Empty running state for the task's qt query rows of every head (state rows h * kQT + i, i < qt).
MLA_INLINE void init_state(const LatentState& S, int H, int qt, float* state) {
    for (int64_t row = 0; row < S.rows; ++row) { state[S.m + row] = -INFINITY; state[S.l + row] = 0.0f; }
    for (int h = 0; h < H; ++h)
        std::memset(state + S.z + int64_t(h) * kQT * S.rpad, 0, sizeof(float) * qt * S.rpad);
}

// Query rows i0 .. i0+kQT-1 (those below Tq) of batch b, every head, over one block of keys [j0, j0 + kb), kb <= kKB:
// the scores of every (head, query) row for the block (the rows share each 8-key tile of c while it is in L1), one
// softmax step per row, then the output update with the block's c rows in L2.
template <class V>
MLA_INLINE void latent_block(const LatentArgs& a, const LatentState& S, int b, int i0, int j0, int kb, float* state) {
    // Scores two rows at a time where 32 vector registers hold 2 x 8 accumulators (AVX-512), else one. The output
    // update keeps 4 rows x DV vectors of z in registers (16 of 32 with AVX-512, 8 of 16 below).
    constexpr int NR = lanes<V>() == 16 ? 2 : 1;
    constexpr int NU = 4;
    constexpr int DV = lanes<V>() == 16 ? 4 : 2;
    const int qt = std::min(kQT, a.Tq - i0);
    const int rows = a.H * qt;
    float* m = state + S.m;
    float* l = state + S.l;
    float* z = state + S.z;
    float (*e)[kKB] = reinterpret_cast<float (*)[kKB]>(state + S.e);
    float* corr = state + S.corr;
    const int q_offset = q_offset_of(a, b);

    const float* crow[kKB];  // padding keys repeat the last valid row; their weight is 0
    for (int j = 0; j < kKB; ++j) crow[j] = latent_key(a, b, j0 + std::min(j, kb - 1));
    for (int jb = 0; jb < kb; jb += kKT) {
        const int kt = std::min(kKT, kb - jb);
        int rho = 0;
        for (; rho + NR <= rows; rho += NR) latent_scores<V, NR>(a, b, q_offset, i0, qt, rho, j0 + jb, kt, crow + jb, e, jb);
        for (; rho < rows; ++rho) latent_scores<V, 1>(a, b, q_offset, i0, qt, rho, j0 + jb, kt, crow + jb, e, jb);
    }
    for (int rho = 0; rho < rows; ++rho) {
        for (int j = kb; j < kKB; ++j) e[rho][j] = -INFINITY;
        const int64_t row = state_row(rho, qt);
        corr[rho] = online_softmax_block<V>(e[rho], m[row], l[row]);
    }
    int rho = 0;
    for (; rho + NU <= rows; rho += NU) latent_update<V, NU, DV>(S, qt, rho, crow, kb, a.r, e, corr, z);
    for (; rho < rows; ++rho) latent_update<V, 1, DV>(S, qt, rho, crow, kb, a.r, e, corr, z);
}

// Query tile i0 of batches b0 .. b0+nb-1, split `split` of `splits` of each batch's keys; batch b0 + g's state at
// states + g * S.total. The batches walk their keys in step, block by block: where their windows have the same
// length they read the same p rows (d values per key, twice a latent row at r = d/2), which then come from L2
// for all but the first batch instead of from memory once per batch.
template <class V>
MLA_INLINE void latent_group_task(const LatentArgs& a, int b0, int nb, int i0, int split, int splits, float* states) {
    const LatentState S(a.H, a.r);
    int begin[kGroup], end[kGroup], most = 0;
    for (int g = 0; g < nb; ++g) {
        const int len = keys_of(a, b0 + g), chunk = (len + splits - 1) / splits;
        begin[g] = std::min(len, split * chunk);
        end[g] = std::min(len, begin[g] + chunk);
        most = std::max(most, end[g] - begin[g]);
        init_state(S, a.H, std::min(kQT, a.Tq - i0), states + g * S.total);
    }
    for (int jj = 0; jj < most; jj += kKB)
        for (int g = 0; g < nb; ++g) {
            const int j0 = begin[g] + jj;
            if (j0 < end[g]) latent_block<V>(a, S, b0 + g, i0, j0, std::min(kKB, end[g] - j0), states + g * S.total);
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
MLA_INLINE void latent_head_task(const LatentArgs& a, int b, int h, int i0, float* scratch,
                                 const tiles::Transposed* pre) {
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
                     scratch, l, pre);
    const float* o = scratch + L.o;
    for (int i = 0; i < qt; ++i) {
        float* out = a.z + b * a.zs[0] + h * a.zs[1] + (i0 + i) * a.zs[2];
        const float inv = 1.0f / l[i];
        for (int d = 0; d < a.r; ++d) out[d] = o[i * L.vpad + d] * inv;
    }
}

typedef void (*LatentHeadTaskFn)(const LatentArgs&, int, int, int, float*, const tiles::Transposed*);

void latent_head_task_baseline(const LatentArgs& a, int b, int h, int i0, float* scratch, const tiles::Transposed* pre) {
    latent_head_task<vf4>(a, b, h, i0, scratch, pre);
}
MLA_TARGET_AVX2 void latent_head_task_avx2(const LatentArgs& a, int b, int h, int i0, float* scratch,
                                           const tiles::Transposed* pre) {
    latent_head_task<vf8>(a, b, h, i0, scratch, pre);
}
MLA_TARGET_AVX512 void latent_head_task_avx512(const LatentArgs& a, int b, int h, int i0, float* scratch,
                                               const tiles::Transposed* pre) {
    latent_head_task<vf16>(a, b, h, i0, scratch, pre);
}

// Every (batch, head, query tile) through transposed key tiles. The latent rows serve every head and query tile
// of their batch, and the p table every batch: both are transposed once per call.
int latent_attention_cpu_tiled(const LatentArgs& a) {
    const LatentHeadTaskFn task = for_this_cpu<LatentHeadTaskFn>(latent_head_task_baseline, latent_head_task_avx2, latent_head_task_avx512);
    int max_len = 0;  // with cache windows (streaming) the batches' key counts, not Tk
    for (int b = 0; b < a.B; ++b) max_len = std::max(max_len, keys_of(a, b));
    tiles::TransposedCall pre;
    if (!pre.allocate(a.B, a.r, max_len, a.H, a.dh, a.P)) return MLA_ERR_OUT_OF_MEMORY;
    pre.fill(
        a.B, [&](int64_t b, int j) { return latent_key(a, int(b), j); }, [&](int64_t b) { return keys_of(a, int(b)); },
        a.H, [&](int h) { return tiles::PTable{a.p + h * a.ps[1], a.ps[0], a.P}; });
    return tiles::for_each_head_tile(
        a,
        [&](const LatentArgs& args, int b, int h, int i0, float* scratch) {
            const tiles::Transposed t = pre.of(b, h);
            task(args, b, h, i0, scratch, &t);
        },
        tile_layout(a).total);
}

typedef void (*LatentGroupTaskFn)(const LatentArgs&, int, int, int, int, int, float*);

void latent_group_task_baseline(const LatentArgs& a, int b0, int nb, int i0, int k, int splits, float* states) {
    latent_group_task<vf4>(a, b0, nb, i0, k, splits, states);
}
MLA_TARGET_AVX2 void latent_group_task_avx2(const LatentArgs& a, int b0, int nb, int i0, int k, int splits, float* states) {
    latent_group_task<vf8>(a, b0, nb, i0, k, splits, states);
}
MLA_TARGET_AVX512 void latent_group_task_avx512(const LatentArgs& a, int b0, int nb, int i0, int k, int splits, float* states) {
    latent_group_task<vf16>(a, b0, nb, i0, k, splits, states);
}

// z[b, h, i0 + i] = sum_k z_k e^(m_k - M) / sum_k l_k e^(m_k - M) over `count` task states, `stride` floats apart
// (one state: plain normalisation).
void write_output(const LatentArgs& a, const LatentState& S, int b, int i0, const float* states, int count,
                  int64_t stride) {
    const int qt = std::min(kQT, a.Tq - i0);
    for (int h = 0; h < a.H; ++h) {
        for (int i = 0; i < qt; ++i) {
            const int64_t row = int64_t(h) * kQT + i;
            float mx = -INFINITY;
            for (int k = 0; k < count; ++k) mx = std::max(mx, states[k * stride + S.m + row]);
            float weight[64];  // count <= 64, see plan_splits
            float denom = 0.0f;
            for (int k = 0; k < count; ++k) {
                const float* st = states + k * stride;
                weight[k] = std::exp(st[S.m + row] - mx);  // an empty split has m = -inf: weight 0
                denom += st[S.l + row] * weight[k];
            }
            for (int k = 0; k < count; ++k) weight[k] /= denom;
            float* out = a.z + b * a.zs[0] + h * a.zs[1] + (i0 + i) * a.zs[2];
            for (int d = 0; d < a.r; ++d) {
                float x = 0.0f;
                for (int k = 0; k < count; ++k) x += states[k * stride + S.z + row * S.rpad + d] * weight[k];
                out[d] = x;
            }
        }
    }
}

// Key splits per (batch group, query tile): enough tasks for the threads, each split >= kMinSplitKeys.
int plan_splits(int tasks, int threads, int max_len) {
    if (tasks >= threads) return 1;
    const int want = (threads + tasks - 1) / tasks;
    const int most = std::max(1, max_len / kMinSplitKeys);
    return std::min({want, most, 64});
}

}  // namespace

// A unit of work is (batch group, query tile): up to kGroup batches that walk their keys together (see
// latent_group_task); with fewer units than threads each unit's keys are split too.
int latent_attention_cpu(const LatentArgs& a) {
    if (a.Tq >= kTiledRows && a.r <= kTiledMaxLatent) return latent_attention_cpu_tiled(a);
    const LatentGroupTaskFn task =
        for_this_cpu<LatentGroupTaskFn>(latent_group_task_baseline, latent_group_task_avx2, latent_group_task_avx512);
    const LatentState S(a.H, a.r);
    const int tiles = (a.Tq + kQT - 1) / kQT;
    const int group = std::min(kGroup, a.B);
    const int groups = (a.B + group - 1) / group;
    const int64_t units = int64_t(groups) * tiles;
    const int64_t unit_floats = int64_t(group) * S.total;  // the states of one unit's batches
    const int threads = cpu_threads();
    int max_len = 0;
    for (int b = 0; b < a.B; ++b) max_len = std::max(max_len, keys_of(a, b));
    const int splits = plan_splits(int(std::min<int64_t>(units, threads)), threads, max_len);
    auto batches_of = [&](int64_t unit, int& b0, int& nb, int& i0) {
        b0 = int(unit / tiles) * group;
        nb = std::min(group, a.B - b0);
        i0 = int(unit % tiles) * kQT;
    };
    std::atomic<bool> out_of_memory{false};

    if (splits == 1) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (units > 1)
        for (int64_t u = 0; u < units; ++u) {
            float* states = thread_scratch(0, size_t(unit_floats));
            if (states == nullptr) {
                out_of_memory = true;
                continue;
            }
            int b0, nb, i0;
            batches_of(u, b0, nb, i0);
            task(a, b0, nb, i0, 0, 1, states);
            for (int g = 0; g < nb; ++g) write_output(a, S, b0 + g, i0, states + g * S.total, 1, 0);
        }
        return out_of_memory ? MLA_ERR_OUT_OF_MEMORY : MLA_OK;
    }

    // Task t = unit * splits + k; split k of batch b covers keys [k * chunk_b, (k + 1) * chunk_b) of its len_b.
    float* states = thread_scratch(1, size_t(units * splits * unit_floats));
    if (states == nullptr) return MLA_ERR_OUT_OF_MEMORY;
    const int64_t tasks = units * splits;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t t = 0; t < tasks; ++t) {
        int b0, nb, i0;
        batches_of(t / splits, b0, nb, i0);
        task(a, b0, nb, i0, int(t % splits), splits, states + t * unit_floats);
    }
    const int64_t outputs = int64_t(a.B) * tiles;  // (batch, query tile)
#pragma omp parallel for schedule(static) num_threads(threads) if (outputs > 1)
    for (int64_t o = 0; o < outputs; ++o) {
        const int b = int(o / tiles), tile = int(o % tiles);
        const int64_t unit = int64_t(b / group) * tiles + tile;
        write_output(a, S, b, tile * kQT, states + unit * splits * unit_floats + (b % group) * S.total, splits,
                     unit_floats);
    }
    return MLA_OK;
}

}  // namespace mla
