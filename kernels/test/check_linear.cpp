// Entry point 4, the dense layer: against a double-precision sum of the same products, in every CPU variant and at
// several thread counts, over shapes that leave every kind of tile remainder (rows of x, rows of w, columns).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "checks.h"

namespace kcheck {

namespace {

struct LinearShape {
    int M, N, K;
    int64_t ldx, ldy;
    bool bias;
};

// y[m][n] = sum_k x[m][k] w[n][k] + b[n], summed in double.
std::vector<float> reference_linear(const LinearShape& s, const std::vector<float>& x, const std::vector<float>& w,
                                    const std::vector<float>& b) {
    std::vector<float> y(size_t(s.M) * s.ldy, 0.0f);
    for (int m = 0; m < s.M; ++m)
        for (int n = 0; n < s.N; ++n) {
            double acc = s.bias ? b[n] : 0.0;
            for (int k = 0; k < s.K; ++k) acc += double(x[size_t(m) * s.ldx + k]) * w[size_t(n) * s.K + k];
            y[size_t(m) * s.ldy + n] = float(acc);
        }
    return y;
}

// Largest |y - ref| over the M x N outputs, and whether the padding between rows of y was left alone.
double linear_error(const LinearShape& s, const std::vector<float>& y, const std::vector<float>& ref, bool& padding_kept) {
    double err = 0.0;
    padding_kept = true;
    for (int m = 0; m < s.M; ++m)
        for (int64_t n = 0; n < s.ldy; ++n) {
            const float v = y[size_t(m) * s.ldy + n];
            const double d = std::fabs(double(v) - ref[size_t(m) * s.ldy + n]);
            if (n >= s.N) padding_kept = padding_kept && v == -7.0f;
            else if (std::isnan(v)) err = INFINITY;
            else if (d > err) err = d;
        }
    return err;
}

void check_one(const LinearShape& s, Rng& rng, const char* variant) {
    const std::vector<float> x = rng.fill(size_t(s.M) * s.ldx, 1.0f);
    const std::vector<float> w = rng.fill(size_t(s.N) * s.K, 1.0f / std::sqrt(float(s.K)));
    const std::vector<float> b = rng.fill(size_t(s.N), 0.5f);
    const std::vector<float> ref = reference_linear(s, x, w, b);
    std::vector<float> y(size_t(s.M) * s.ldy, -7.0f);
    const double t0 = now_ms();
    const int status = mla_linear_f32(s.M, s.N, s.K, x.data(), s.ldx, w.data(), s.bias ? b.data() : nullptr,
                                      y.data(), s.ldy);
    const double ms = now_ms() - t0;
    bool padding_kept = false;
    const double err = linear_error(s, y, ref, padding_kept);
    char what[96];
    std::snprintf(what, sizeof what, "M=%d N=%d K=%d%s%s", s.M, s.N, s.K, s.ldx > s.K || s.ldy > s.N ? " strided" : "",
                  s.bias ? " bias" : "");
    report("cpu", "linear", variant, what, status, padding_kept ? err : INFINITY, ms);
}

std::vector<LinearShape> linear_shapes() {
    return {
        {1, 1, 1, 1, 1, false},
        {1, 32, 1024, 1024, 32, true},      // one frame through a vocabulary-sized head
        {5, 13, 31, 40, 17, true},          // no whole vector of K, remainders everywhere
        {7, 9, 17, 17, 9, false},
        {99, 64, 1024, 1024, 64, true},     // a 2 s utterance (99 frames), one full K block
        {100, 72, 2500, 2600, 80, true},    // K over two blocks plus a remainder, strided rows
        {257, 40, 48, 48, 40, true},        // rows over one row block
        {16, 1031, 64, 64, 1031, false},    // N not a multiple of the tile
    };
}

}  // namespace

void check_linear_arguments() {
    std::vector<float> x(16, 1.0f), w(16, 1.0f), y(16, 0.0f);
    expect(mla_linear_f32(2, 2, 4, x.data(), 4, w.data(), nullptr, y.data(), 2) == MLA_OK, "valid linear call returns MLA_OK");
    expect(y[0] == 4.0f && y[3] == 4.0f, "linear of ones over 4 columns gives 4");
    expect(mla_linear_f32(0, 2, 4, x.data(), 4, w.data(), nullptr, y.data(), 2) == MLA_ERR_INVALID_ARGUMENT, "linear M = 0 is rejected");
    expect(mla_linear_f32(2, 2, 4, x.data(), 3, w.data(), nullptr, y.data(), 2) == MLA_ERR_INVALID_ARGUMENT, "linear ldx < K is rejected");
    expect(mla_linear_f32(2, 2, 4, x.data(), 4, w.data(), nullptr, y.data(), 1) == MLA_ERR_INVALID_ARGUMENT, "linear ldy < N is rejected");
    expect(mla_linear_f32(2, 2, 4, x.data(), 4, nullptr, nullptr, y.data(), 2) == MLA_ERR_INVALID_ARGUMENT, "linear null w is rejected");
}

void check_linear_cpu() {
    Rng rng(4242);
    for (const char* isa : {"avx512f", "avx2", "baseline"}) {
        if (mla_set_cpu_isa(isa) != MLA_OK) continue;
        for (const LinearShape& s : linear_shapes()) check_one(s, rng, isa);
    }
    mla_set_cpu_isa(nullptr);
    for (int threads : {1, 2, 3, 200}) {  // 200: more threads than tiles of w
        mla_set_num_threads(threads);
        const std::string tag = "threads=" + std::to_string(threads);
        check_one({99, 1031, 1024, 1024, 1031, true}, rng, tag.c_str());
        check_one({3, 20, 100, 100, 20, false}, rng, tag.c_str());
    }
    mla_set_num_threads(0);
}

}  // namespace kcheck
