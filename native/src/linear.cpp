// Entry point 4: y = x W^T + b on the CPU, W in its stored layout [N, K] (a torch Linear's weight).
//
// Each output is a dot product of a row of x and a row of W, both contiguous in K, so the kernel reads W where it
// lies: no packed copy. A BLAS packs W into its own layout on every call (read 4NK bytes, write them, read them
// again); with few rows of x that packing is a large part of the call (OpenBLAS, one thread, 16 MB weight: its
// time at M = 1, 2.3-3.2 ms, is a third or more of its 6.7-7.9 ms at M = 99). Here W is read once from memory, in tiles of NR rows that stay in L1 while
// every row of x (kept in L2) passes over them.
//
// Loop nest, per thread over its share of the N tiles:
//   for each block of kRowBlock rows of x, for each block of kDepthBlock columns of K,
//     for each tile of NR rows of W (in L1), for each tile of MR rows of x (from L2):
//       MR x NR vector accumulators over the block's K columns, lane sums added into y.
// The first K block stores (with the bias), later ones add.
#include <algorithm>

#include <omp.h>

#include "common.h"
#include "cpu_simd.h"

namespace mla {
namespace {

// Rows of x and columns of K per block: kRowBlock x kDepthBlock floats of x (1 MB) stay in a core's L2 while the
// tiles of W pass.
constexpr int kRowBlock = 256;
constexpr int kDepthBlock = 1024;

struct LinearArgs {
    int M, N, K;
    const float* x; int64_t ldx;
    const float* w;
    const float* b;
    float* y; int64_t ldy;
};

// y[m + r][n + j] (+)= x[m + r][k0 : k0 + kc] . w[n + j][k0 : k0 + kc] (+ b[n + j] when first), r < MR, j < NR.
template <class V, int MR, int NR>
MLA_INLINE void tile(const LinearArgs& a, int m, int n, int k0, int kc, bool first) {
    const float* xr[MR];
    const float* wr[NR];
    for (int r = 0; r < MR; ++r) xr[r] = a.x + (m + r) * a.ldx + k0;
    for (int j = 0; j < NR; ++j) wr[j] = a.w + int64_t(n + j) * a.K + k0;
    V acc[MR][NR];
    float tail[MR][NR];
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < NR; ++j) {
            acc[r][j] = V{};
            tail[r][j] = 0.0f;
        }
    dot_rows_shared<V, MR, NR>(xr, wr, kc, acc, tail);
    float sums[MR * NR];
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < NR; ++j) sums[r * NR + j] = tail[r][j];
    const V* flat = &acc[0][0];
    int i = 0;
    for (; i + 8 <= MR * NR; i += 8) add_lane_sums8(flat + i, sums + i);
    for (; i < MR * NR; ++i) sums[i] += vsum(flat[i]);
    for (int r = 0; r < MR; ++r) {
        float* yr = a.y + (m + r) * a.ldy + n;
        for (int j = 0; j < NR; ++j) {
            if (!first) yr[j] += sums[r * NR + j];
            else yr[j] = a.b != nullptr ? sums[r * NR + j] + a.b[n + j] : sums[r * NR + j];
        }
    }
}

// W rows [n0, n1) of every row of x. NR divides n1 - n0 except in the last range, whose remainder runs 1 x 1.
template <class V, int MR, int NR>
MLA_INLINE void columns(const LinearArgs& a, int n0, int n1) {
    for (int m0 = 0; m0 < a.M; m0 += kRowBlock) {
        const int m1 = std::min(a.M, m0 + kRowBlock);
        for (int k0 = 0; k0 < a.K; k0 += kDepthBlock) {
            const int kc = std::min(kDepthBlock, a.K - k0);
            const bool first = k0 == 0;
            int n = n0;
            for (; n + NR <= n1; n += NR) {
                int m = m0;
                for (; m + MR <= m1; m += MR) tile<V, MR, NR>(a, m, n, k0, kc, first);
                for (; m < m1; ++m) tile<V, 1, NR>(a, m, n, k0, kc, first);
            }
            for (; n < n1; ++n)
                for (int m = m0; m < m1; ++m) tile<V, 1, 1>(a, m, n, k0, kc, first);
        }
    }
}

// Register tiles: MR x NR accumulators plus MR row vectors and one W vector fit the register file (32 vector
// registers with AVX-512: 3 x 8; 16 with AVX2 and SSE2: 2 x 4).
void columns_baseline(const LinearArgs& a, int n0, int n1) { columns<vf4, 2, 4>(a, n0, n1); }
MLA_TARGET_AVX2 void columns_avx2(const LinearArgs& a, int n0, int n1) { columns<vf8, 2, 4>(a, n0, n1); }
MLA_TARGET_AVX512 void columns_avx512(const LinearArgs& a, int n0, int n1) { columns<vf16, 3, 8>(a, n0, n1); }

typedef void (*ColumnsFn)(const LinearArgs&, int, int);

}  // namespace

int linear_cpu(int M, int N, int K, const float* x, int64_t ldx, const float* w, const float* b, float* y,
               int64_t ldy) {
    const LinearArgs a{M, N, K, x, ldx, w, b, y, ldy};
    const ColumnsFn run = for_this_cpu<ColumnsFn>(columns_baseline, columns_avx2, columns_avx512);
    // Each thread takes a contiguous range of W rows (whole tiles of 8), so each streams its own part of W once; and at
    // least kMinWorkPerThread multiply-adds, as waking a sleeping OpenMP worker (OMP_WAIT_POLICY=PASSIVE) costs more
    // than a smaller product.
    constexpr int kTile = 8;
    constexpr int64_t kMinWorkPerThread = int64_t(1) << 20;
    const int tiles = (N + kTile - 1) / kTile;
    const int64_t work = int64_t(M) * N * K;
    const int threads = int(std::max<int64_t>(1, std::min<int64_t>({cpu_threads(), tiles, work / kMinWorkPerThread})));
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const int t = omp_get_thread_num(), n = omp_get_num_threads();
        const int n0 = std::min(N, int(int64_t(tiles) * t / n) * kTile);
        const int n1 = std::min(N, int(int64_t(tiles) * (t + 1) / n) * kTile);
        if (n0 < n1) run(a, n0, n1);
    }
    return MLA_OK;
}

}  // namespace mla

extern "C" int mla_linear_f32(int M, int N, int K, const float* x, int64_t ldx, const float* w, const float* b,
                              float* y, int64_t ldy) {
    if (M < 1 || N < 1 || K < 1 || x == nullptr || w == nullptr || y == nullptr || ldx < K || ldy < N)
        return MLA_ERR_INVALID_ARGUMENT;
    return mla::linear_cpu(M, N, K, x, ldx, w, b, y, ldy);
}
