// Flash attention of up to kQT query rows over transposed key tiles, CPU. Shared by the fused rel-pos
// kernel (keys and values are one head's K and V, dk = dp = dv = dh) and the latent kernel on many query
// rows (keys and values are the latent c, dk = dv = r, dp = dh).
//
// With queries qu_i (dk values) and qw_i (dp values), already scaled:
//   s[i,j] = qu_i . key_j + qw_i . p[p_zero - i + j]        (AC + BD)
//   out_i  = sum_{j < len} softmax_j(s[i,:]) value_j
// The keys are walked in tiles of kKT with an online softmax: per row a running max m, running sum l and
// unnormalised output o:  m' = max(m, max_j s[i,j]);  o = o e^(m - m') + sum_j e^(s[i,j] - m') value_j;
// l likewise;  out = o / l.
//
// A tile is transposed into scratch (kT[d][j], pT[d][window]) so the score loop keeps keys in vector
// lanes and needs no horizontal sums; the transpose is paid once for kQT rows. BD for row i and key j0 + j
// reads p row p_zero - i + j0 + j, so rows 0..kQT-1 and keys j0..j0+kKT-1 read the window
// base .. base+kKT+kQT-2, base = p_zero - (kQT-1) + j0, row i from window column kQT-1-i.
//
// Where several tasks walk the same keys (the query tiles of one head; for the latent kernel also every head of a
// batch), the caller may transpose the keys and the p table once per call instead (Transposed): a task then reads
// its tiles in place and only copies the value rows. Switching the per-tile transposes off cut a small-shape call
// by about a fifth.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "common.h"
#include "cpu_simd.h"

namespace mla {
namespace tiles {

constexpr int kQT = 64;         // query rows per task
constexpr int kKT = 64;         // keys per tile
constexpr int kPW = kKT + kQT;  // p window: kKT + kQT - 1 rows, padded by one

// One task's scratch, offsets in floats. Query, value and output rows are padded to 16 floats.
struct Scratch {
    int dk, dp, dv;
    int64_t kpad, ppad, vpad, qu, qw, kT, pT, vt, o, s, total;
    Scratch(int dk_, int dp_, int dv_) : dk(dk_), dp(dp_), dv(dv_) {
        kpad = round_up(dk, 16);
        ppad = round_up(dp, 16);
        vpad = round_up(dv, 16);
        qu = 0;                      // [kQT][kpad]  AC queries
        qw = qu + kQT * kpad;        // [kQT][ppad]  BD queries
        kT = qw + kQT * ppad;        // [dk][kKT]    key tile, transposed
        pT = kT + int64_t(dk) * kKT; // [dp][kPW]    p window, transposed
        vt = pT + int64_t(dp) * kPW; // [kKT][vpad]  value tile
        o = vt + kKT * vpad;         // [kQT][vpad]  unnormalised output
        s = o + kQT * vpad;          // [kQT][kKT]   scores, then probabilities
        total = s + kQT * kKT;
    }
};

// s[t][j] = sum_d qu[t][d] kT[d][j] + sum_d qw[t][d] pT_t[d][j] for NR query rows t and the kKT keys of
// a tile, where row t's p window starts one column before row t-1's (pT_t = pT - t). The NR rows share
// every load of kT: NR * NV FMAs per NV loads in the AC sum.
template <class V, int NR>
MLA_INLINE void score_rows(const Scratch& L, const float* qu, const float* qw, const float* kT, int64_t ldk,
                           const float* pT, int64_t ldp, float* s) {
    constexpr int W = lanes<V>();
    constexpr int NV = 4;
    static_assert(kKT % (NV * W) == 0, "tile width must be a multiple of the pass width");
    for (int j0 = 0; j0 < kKT; j0 += NV * W) {
        V acc[NR][NV];
        for (int t = 0; t < NR; ++t)
            for (int n = 0; n < NV; ++n) acc[t][n] = V{};
        // AC and BD run in one loop where their lengths agree (rel-pos: dk = dp = dh).
        const int both = std::min(L.dk, L.dp);
        for (int d = 0; d < both; ++d) {
            const float* kr = kT + d * ldk + j0;
            const float* pr = pT + d * ldp + j0;
            V kv[NV];
            for (int n = 0; n < NV; ++n) kv[n] = vload<V>(kr + n * W);
            for (int t = 0; t < NR; ++t) {
                const float a = qu[t * L.kpad + d], b = qw[t * L.ppad + d];
                for (int n = 0; n < NV; ++n) acc[t][n] += a * kv[n] + b * vload<V>(pr - t + n * W);
            }
        }
        for (int d = both; d < L.dk; ++d) {
            const float* kr = kT + d * ldk + j0;
            V kv[NV];
            for (int n = 0; n < NV; ++n) kv[n] = vload<V>(kr + n * W);
            for (int t = 0; t < NR; ++t) {
                const float a = qu[t * L.kpad + d];
                for (int n = 0; n < NV; ++n) acc[t][n] += a * kv[n];
            }
        }
        for (int d = both; d < L.dp; ++d) {
            const float* pr = pT + d * ldp + j0;
            for (int t = 0; t < NR; ++t) {
                const float b = qw[t * L.ppad + d];
                for (int n = 0; n < NV; ++n) acc[t][n] += b * vload<V>(pr - t + n * W);
            }
        }
        for (int t = 0; t < NR; ++t)
            for (int n = 0; n < NV; ++n) vstore<V>(s + t * kKT + j0 + n * W, acc[t][n]);
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
MLA_INLINE void accumulate_rows(float* o, const float* e, const float* vt, int64_t vpad, int kt) {
    constexpr int W = lanes<V>();
    for (int64_t d = 0; d < vpad; d += W) {
        V acc[NR];
        for (int i = 0; i < NR; ++i) acc[i] = vload<V>(o + i * vpad + d);
        for (int j = 0; j < kt; ++j) {
            const V x = vload<V>(vt + j * vpad + d);
            for (int i = 0; i < NR; ++i) acc[i] += e[i * kKT + j] * x;
        }
        for (int i = 0; i < NR; ++i) vstore<V>(o + i * vpad + d, acc[i]);
    }
}

template <class V>
MLA_INLINE void accumulate(float* o, const float* e, const float* vt, int64_t vpad, int kt, int rows) {
    int i = 0;
    for (; i + 8 <= rows; i += 8) accumulate_rows<V, 8>(o + i * vpad, e + i * kKT, vt, vpad, kt);
    if (i + 4 <= rows) { accumulate_rows<V, 4>(o + i * vpad, e + i * kKT, vt, vpad, kt); i += 4; }
    if (i + 2 <= rows) { accumulate_rows<V, 2>(o + i * vpad, e + i * kKT, vt, vpad, kt); i += 2; }
    if (i < rows) accumulate_rows<V, 1>(o + i * vpad, e + i * kKT, vt, vpad, kt);
}

// Where the p rows for BD come from: row x of the head's table at pb + x * stride, x in [0, P).
struct PTable {
    const float* pb;
    int64_t stride;
    int64_t P;
};

// Keys and p rows transposed once per call (see the top): kT[d * ldk + j] = key j (columns from the last valid key
// to ldk are 0), pT[d * ldp + kMargin + x] = p row x (0 outside [0, P): every window a task reads lies within kMargin
// of the table).
struct Transposed {
    const float* kT;
    int64_t ldk;
    const float* pT;
    int64_t ldp;
};
constexpr int64_t kMargin = kPW;

struct FreeFloats {
    void operator()(float* p) const { std::free(p); }
};
using FloatBuffer = std::unique_ptr<float[], FreeFloats>;

// A 64-byte aligned buffer of n floats, all 0; null when out of memory.
inline FloatBuffer zeroed_floats(int64_t n) {
    const size_t bytes = (size_t(n) * sizeof(float) + 63) / 64 * 64;
    float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (p != nullptr) std::memset(p, 0, bytes);
    return FloatBuffer(p);
}

// Columns of a transposed key block: the valid keys, rounded up to whole tiles.
inline int64_t transposed_keys_width(int Tk) { return round_up(Tk, kKT); }
inline int64_t transposed_p_width(int P) { return round_up(P + 2 * kMargin, 16); }

// kT[d * ldk + j] = key(j)[d] for j < len (dk floats per key); the rest of the block stays as it was (0).
template <class KeyFn>
void transpose_keys(KeyFn key, int len, int dk, int64_t ldk, float* kT) {
    for (int j = 0; j < len; ++j) {
        const float* kr = key(j);
        for (int d = 0; d < dk; ++d) kT[d * ldk + j] = kr[d];
    }
}

// pT[d * ldp + kMargin + x] = p row x of table p, for x < P (dp floats per row).
inline void transpose_p(const PTable& p, int dp, int64_t ldp, float* pT) {
    for (int64_t x = 0; x < p.P; ++x) {
        const float* pr = p.pb + x * p.stride;
        for (int d = 0; d < dp; ++d) pT[d * ldp + kMargin + x] = pr[d];
    }
}

// One call's transposed keys and p tables: key block kb (a (batch, head) of rel-pos, a batch of the latent kernel)
// of dk rows, and head h's p table of dp rows. Empty (no buffers) where the call transposes per tile.
struct TransposedCall {
    FloatBuffer k, p;
    int64_t ldk = 0, ldp = 0;
    int dk = 0, dp = 0;

    bool empty() const { return k == nullptr; }
    // Zeroed buffers for `blocks` key blocks over Tk keys and `heads` p tables of P rows; false when out of memory.
    bool allocate(int64_t blocks, int dk_, int Tk, int heads, int dp_, int P) {
        dk = dk_;
        dp = dp_;
        ldk = transposed_keys_width(Tk);
        ldp = transposed_p_width(P);
        k = zeroed_floats(blocks * dk * ldk);
        p = zeroed_floats(int64_t(heads) * dp * ldp);
        return k != nullptr && p != nullptr;
    }
    float* key_block(int64_t kb) const { return k.get() + kb * dk * ldk; }
    float* p_table(int h) const { return p.get() + int64_t(h) * dp * ldp; }
    Transposed of(int64_t kb, int h) const { return Transposed{key_block(kb), ldk, p_table(h), ldp}; }

    // Transposes, in parallel, key block kb's keys key(kb, j) for j < length(kb), and head h's table ptable(h).
    template <class KeyFn, class LengthFn, class PTableFn>
    void fill(int64_t blocks, KeyFn key, LengthFn length, int heads, PTableFn ptable) const {
#pragma omp parallel for schedule(dynamic, 1) num_threads(cpu_threads())
        for (int64_t t = 0; t < blocks + heads; ++t) {
            if (t < blocks)
                transpose_keys([&](int j) { return key(t, j); }, length(t), dk, ldk, key_block(t));
            else
                transpose_p(ptable(int(t - blocks)), dp, ldp, p_table(int(t - blocks)));
        }
    }
};

// Rows 0..qt-1 (qt <= kQT), whose queries the caller staged in scratch qu and qw, over keys 0..len-1 of
// `keys` (key(j): dk floats, value(j): dv floats). Leaves the unnormalised output in scratch o and the
// softmax sums in l; out_i = o_i / l_i.
template <class V, class Keys>
MLA_INLINE void attend(const Keys& keys, const Scratch& L, int qt, int len, int64_t p_zero, const PTable& p,
                       float* scratch, float* l, const Transposed* pre = nullptr) {
    constexpr int W = lanes<V>();
    const float* qu = scratch + L.qu;
    const float* qw = scratch + L.qw;
    float* kT = scratch + L.kT;
    float* pT = scratch + L.pT;
    float* vt = scratch + L.vt;
    float* o = scratch + L.o;
    float* s = scratch + L.s;
    std::memset(o, 0, sizeof(float) * qt * L.vpad);
    float m[kQT];
    for (int i = 0; i < kQT; ++i) { m[i] = -INFINITY; l[i] = 0.0f; }

    for (int j0 = 0; j0 < len; j0 += kKT) {
        const int kt = std::min(kKT, len - j0);
        for (int j = 0; j < kt; ++j) {
            float* vr = vt + j * L.vpad;
            std::memcpy(vr, keys.value(j0 + j), sizeof(float) * L.dv);
            for (int64_t d = L.dv; d < L.vpad; ++d) vr[d] = 0.0f;
        }
        const int64_t base = p_zero - (kQT - 1) + j0;
        const float *kTt, *pTt;
        int64_t ldk, ldp;
        if (pre != nullptr) {
            kTt = pre->kT + j0;
            ldk = pre->ldk;
            pTt = pre->pT + kMargin + base;
            ldp = pre->ldp;
        } else {
            for (int j = 0; j < kKT; ++j) {
                if (j < kt) {
                    const float* kr = keys.key(j0 + j);
                    for (int d = 0; d < L.dk; ++d) kT[int64_t(d) * kKT + j] = kr[d];
                } else {
                    for (int d = 0; d < L.dk; ++d) kT[int64_t(d) * kKT + j] = 0.0f;
                }
            }
            // Rows outside [0,P) belong only to pairs that are never used (padded rows or keys).
            for (int x = 0; x < kPW; ++x) {
                const int64_t row = base + x;
                if (row >= 0 && row < p.P) {
                    const float* pr = p.pb + row * p.stride;
                    for (int d = 0; d < L.dp; ++d) pT[int64_t(d) * kPW + x] = pr[d];
                } else {
                    for (int d = 0; d < L.dp; ++d) pT[int64_t(d) * kPW + x] = 0.0f;
                }
            }
            kTt = kT;
            ldk = kKT;
            pTt = pT;
            ldp = kPW;
        }

        // Rows blocked by NR share the key loads: 4 x 4 accumulators fit 32 vector registers (AVX-512),
        // 2 x 4 fit 16.
        constexpr int NR = lanes<V>() == 16 ? 4 : 2;
        int i = 0;
        for (; i + NR <= qt; i += NR)
            score_rows<V, NR>(L, qu + i * L.kpad, qw + i * L.ppad, kTt, ldk, pTt + (kQT - 1 - i), ldp, s + i * kKT);
        for (; i < qt; ++i)
            score_rows<V, 1>(L, qu + i * L.kpad, qw + i * L.ppad, kTt, ldk, pTt + (kQT - 1 - i), ldp, s + i * kKT);
        for (i = 0; i < qt; ++i) {
            float* si = s + i * kKT;
            const float corr = softmax_step<V>(si, kt, m[i], l[i]);
            if (corr != 1.0f) {
                const V c = vsplat<V>(corr);
                float* oi = o + i * L.vpad;
                for (int64_t d = 0; d < L.vpad; d += W) vstore<V>(oi + d, vload<V>(oi + d) * c);
            }
        }
        accumulate<V>(o, s, vt, L.vpad, kt, qt);
    }
}

// Runs task(a, b, h, i0, scratch) for every batch b, head h and query tile i0 = 0, kQT, ... below a.Tq,
// in parallel, each thread with its own scratch of `scratch_floats`.
template <class Args, class Task>
int for_each_head_tile(const Args& a, Task task, int64_t scratch_floats) {
    const int tile_count = (a.Tq + kQT - 1) / kQT;
    const int64_t tasks = int64_t(a.B) * a.H * tile_count;
    std::atomic<bool> out_of_memory{false};
#pragma omp parallel for schedule(dynamic, 1) num_threads(cpu_threads()) if (tasks > 1)
    for (int64_t t = 0; t < tasks; ++t) {
        float* scratch = thread_scratch(0, scratch_floats);
        if (scratch == nullptr) {
            out_of_memory = true;
            continue;
        }
        const int tile = int(t % tile_count);
        const int h = int(t / tile_count % a.H);
        const int b = int(t / tile_count / a.H);
        task(a, b, h, tile * kQT, scratch);
    }
    return out_of_memory ? MLA_ERR_OUT_OF_MEMORY : MLA_OK;
}

}  // namespace tiles
}  // namespace mla
