// kernel_check: checks and times the mha2mla kernels, without Java.
//
//   kernel_check            CPU checks, then CUDA checks
//   kernel_check --cpu      every fused CPU kernel, in every CPU variant this machine runs (baseline,
//                           avx2, avx512f), against a naive reference that materialises the scores the
//                           HF way: AC + BD through the relative shift, times 1/sqrt(dh), additive mask
//                           of float32 min on padded keys, softmax, probs . V
//   kernel_check --cuda     every CUDA entry point against its CPU twin on the same inputs
//                           (one "skipped" line and exit 0 when there is no GPU)
//   kernel_check --bench    timings at the flagship sizes (d = 1024, H = 16, dh = 64, r = 512;
//                           T = 250, 750, 1500), CPU and, when present, CUDA
// Exit status 0 when every check passes: max abs error <= 1e-4 and the expected status codes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>

#include "mha2mla.h"

#ifdef MHA2MLA_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace {

constexpr double kTolerance = 1e-4;
constexpr double kMaskValue = -3.4028234663852886e38;  // torch.finfo(torch.float32).min, HF's mask

int g_failures = 0;

void expect(bool ok, const char* what) {
    if (!ok) {
        std::printf("FAIL  %s\n", what);
        ++g_failures;
    }
}

double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

struct Rng {
    uint64_t state;
    explicit Rng(uint64_t seed) : state(seed) {}
    float uniform(float lo, float hi) {  // splitmix64
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        return lo + (hi - lo) * float(double(z >> 40) / double(1ull << 24));
    }
    std::vector<float> fill(size_t n, float amplitude) {
        std::vector<float> x(n);
        for (float& v : x) v = uniform(-amplitude, amplitude);
        return x;
    }
};

// Strides (batch, head, time) of a [B, H, T, D] tensor stored as [B, H, T, D] or, like the output of a
// linear layer before the head transpose, as [B, T, H, D].
struct Layout {
    int64_t s[3];
    static Layout bhtd(int H, int T, int D) { return {{int64_t(H) * T * D, int64_t(T) * D, D}}; }
    static Layout bthd(int H, int T, int D) { return {{int64_t(T) * H * D, D, int64_t(H) * D}}; }
};

// Element [b, h, t, :] of a strided [B, H, T, D] buffer, copied to a dense [B, H, T, D] vector.
std::vector<float> densify(const std::vector<float>& x, const Layout& l, int B, int H, int T, int D) {
    std::vector<float> y(size_t(B) * H * T * D);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h)
            for (int t = 0; t < T; ++t)
                for (int d = 0; d < D; ++d)
                    y[((size_t(b) * H + h) * T + t) * D + d] = x[b * l.s[0] + h * l.s[1] + t * l.s[2] + d];
    return y;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return INFINITY;
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs(double(a[i]) - double(b[i]));
        if (!(d <= m)) m = std::isnan(d) ? INFINITY : d;  // NaN (an unwritten output) fails
    }
    return m;
}

// ---------------------------------------------------------------------------------------------
// Problems. The p table covers every delta the queries can see: P = q_offset + Tq - 1 + Tk rows with
// zero_row = q_offset + Tq - 1 (plus `margin` spare rows at each end). For a full utterance
// (Tq = Tk = T, q_offset = 0) that is HF's layout: P = 2T - 1, zero_row = T - 1.

struct Shape {
    const char* name;
    int B, H, Tq, Tk, dim, dh, q_offset;  // dim: dh for relpos, r for latent
    std::vector<int32_t> lengths;          // empty: all Tk keys valid
    bool strided = false;                  // [B, T, H, D] storage for q/k/v/out (qa/qw/z)
    int margin = 0;
};

struct Problem {
    Shape shape;
    int P, zero_row;
    float scale;
    Layout lq, lk, lo;  // relpos: q, k = v, out.  latent: qa = qw, c (batch, time), z
    std::vector<float> q, k, v, p, u, w;  // latent: q = qa, k = c, v = qw
    size_t out_size;
    const int32_t* lengths() const { return shape.lengths.empty() ? nullptr : shape.lengths.data(); }
    bool hf_layout() const {
        return shape.Tq == shape.Tk && shape.q_offset == 0 && shape.margin == 0;
    }
};

Problem make_relpos(const Shape& s, Rng& rng) {
    Problem pb;
    pb.shape = s;
    pb.zero_row = s.q_offset + s.Tq - 1 + s.margin;
    pb.P = s.q_offset + s.Tq - 1 + s.Tk + 2 * s.margin;
    pb.scale = float(1.0 / std::sqrt(double(s.dh)));
    const int H = s.H, D = s.dh;
    pb.lq = s.strided ? Layout::bthd(H, s.Tq, D) : Layout::bhtd(H, s.Tq, D);
    pb.lk = s.strided ? Layout::bthd(H, s.Tk, D) : Layout::bhtd(H, s.Tk, D);
    pb.lo = s.strided ? Layout::bthd(H, s.Tq, D) : Layout::bhtd(H, s.Tq, D);
    pb.q = rng.fill(size_t(s.B) * H * s.Tq * D, 2.0f);
    pb.k = rng.fill(size_t(s.B) * H * s.Tk * D, 1.0f);
    pb.v = rng.fill(size_t(s.B) * H * s.Tk * D, 1.0f);
    pb.p = rng.fill(size_t(pb.P) * H * D, 1.0f);
    pb.u = rng.fill(size_t(H) * D, 0.5f);
    pb.w = rng.fill(size_t(H) * D, 0.5f);
    pb.out_size = size_t(s.B) * H * s.Tq * D;
    return pb;
}

Problem make_latent(const Shape& s, Rng& rng) {
    Problem pb;
    pb.shape = s;
    pb.zero_row = s.q_offset + s.Tq - 1 + s.margin;
    pb.P = s.q_offset + s.Tq - 1 + s.Tk + 2 * s.margin;
    pb.scale = float(1.0 / std::sqrt(double(s.dh)));
    const int H = s.H, r = s.dim;
    pb.lq = s.strided ? Layout::bthd(H, s.Tq, r) : Layout::bhtd(H, s.Tq, r);
    pb.lk = {{int64_t(s.Tk) * r, r, 0}};
    pb.lo = s.strided ? Layout::bthd(H, s.Tq, r) : Layout::bhtd(H, s.Tq, r);
    // qa = W_uk^T (q + u) has r values of size ~ |q| |W_uk|: amplitude 0.5 keeps scores O(1).
    pb.q = rng.fill(size_t(s.B) * H * s.Tq * r, 0.5f);
    pb.k = rng.fill(size_t(s.B) * s.Tk * r, 1.0f);
    pb.v = rng.fill(size_t(s.B) * H * s.Tq * s.dh, 2.0f);  // qw, stored [B, H, Tq, dh]
    pb.p = rng.fill(size_t(pb.P) * H * s.dh, 1.0f);
    pb.out_size = size_t(s.B) * H * s.Tq * r;
    return pb;
}

// ---------------------------------------------------------------------------------------------
// Naive references, in double. Scores are materialised [Tq, Tk] per (b, h).

// Softmax over j of the masked scores, then probs . values; writes out[i][0..D).
void softmax_rows(std::vector<double>& scores, int Tq, int Tk, int len) {
    for (int i = 0; i < Tq; ++i) {
        double* s = &scores[size_t(i) * Tk];
        for (int j = 0; j < Tk; ++j)
            if (j >= len) s[j] += kMaskValue;  // padded key: HF adds float32 min
        double mx = -INFINITY;
        for (int j = 0; j < Tk; ++j) mx = std::max(mx, s[j]);
        double sum = 0.0;
        for (int j = 0; j < Tk; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (int j = 0; j < Tk; ++j) s[j] /= sum;
    }
}

// BD the HF way for a full utterance: raw[i][m] = (q_i + w) . p_m over all 2T-1 rows, then the
// relative shift: prepend a zero column ([T, 2T]), view as [2T, T], drop the first row, view as
// [T, 2T-1], keep the first T columns.
std::vector<double> relative_shift(const std::vector<double>& raw, int T) {
    std::vector<double> padded(size_t(T) * 2 * T, 0.0);
    for (int i = 0; i < T; ++i)
        for (int m = 0; m < 2 * T - 1; ++m) padded[size_t(i) * 2 * T + 1 + m] = raw[size_t(i) * (2 * T - 1) + m];
    const double* shifted = padded.data() + T;  // [2T, T] minus its first row, seen as [T, 2T-1]
    std::vector<double> bd(size_t(T) * T);
    for (int i = 0; i < T; ++i)
        for (int j = 0; j < T; ++j) bd[size_t(i) * T + j] = shifted[size_t(i) * (2 * T - 1) + j];
    return bd;
}

double dot(const float* a, const float* b, const float* a_bias, int n) {
    double s = 0.0;
    for (int d = 0; d < n; ++d) s += (double(a[d]) + (a_bias ? a_bias[d] : 0.0f)) * double(b[d]);
    return s;
}

// Dense [B, H, Tq, dh] output of entry point 1.
std::vector<float> reference_relpos(const Problem& pb) {
    const Shape& s = pb.shape;
    const int D = s.dh, Tq = s.Tq, Tk = s.Tk;
    std::vector<float> out(pb.out_size);
    for (int b = 0; b < s.B; ++b) {
        const int len = s.lengths.empty() ? Tk : s.lengths[b];
        for (int h = 0; h < s.H; ++h) {
            auto q = [&](int i) { return &pb.q[b * pb.lq.s[0] + h * pb.lq.s[1] + i * pb.lq.s[2]]; };
            auto k = [&](int j) { return &pb.k[b * pb.lk.s[0] + h * pb.lk.s[1] + j * pb.lk.s[2]]; };
            auto v = [&](int j) { return &pb.v[b * pb.lk.s[0] + h * pb.lk.s[1] + j * pb.lk.s[2]]; };
            auto p = [&](int row) { return &pb.p[(size_t(row) * s.H + h) * D]; };
            const float* u = &pb.u[size_t(h) * D];
            const float* w = &pb.w[size_t(h) * D];

            std::vector<double> bd(size_t(Tq) * Tk, 0.0);
            if (pb.hf_layout()) {
                std::vector<double> raw(size_t(Tq) * (2 * Tq - 1));
                for (int i = 0; i < Tq; ++i)
                    for (int m = 0; m < 2 * Tq - 1; ++m) raw[size_t(i) * (2 * Tq - 1) + m] = dot(q(i), p(m), w, D);
                bd = relative_shift(raw, Tq);
            } else {
                for (int i = 0; i < Tq; ++i)
                    for (int j = 0; j < Tk; ++j) {
                        const int row = pb.zero_row - (s.q_offset + i - j);
                        if (row >= 0 && row < pb.P) bd[size_t(i) * Tk + j] = dot(q(i), p(row), w, D);
                    }
            }
            std::vector<double> scores(size_t(Tq) * Tk);
            for (int i = 0; i < Tq; ++i)
                for (int j = 0; j < Tk; ++j)
                    scores[size_t(i) * Tk + j] = (dot(q(i), k(j), u, D) + bd[size_t(i) * Tk + j]) * pb.scale;
            softmax_rows(scores, Tq, Tk, len);
            for (int i = 0; i < Tq; ++i)
                for (int d = 0; d < D; ++d) {
                    double x = 0.0;
                    for (int j = 0; j < Tk; ++j) x += scores[size_t(i) * Tk + j] * v(j)[d];
                    out[((size_t(b) * s.H + h) * Tq + i) * D + d] = float(x);
                }
        }
    }
    return out;
}

// Dense [B, H, Tq, r] output of entry point 2.
std::vector<float> reference_latent(const Problem& pb) {
    const Shape& s = pb.shape;
    const int r = s.dim, D = s.dh, Tq = s.Tq, Tk = s.Tk;
    std::vector<float> out(pb.out_size);
    for (int b = 0; b < s.B; ++b) {
        const int len = s.lengths.empty() ? Tk : s.lengths[b];
        for (int h = 0; h < s.H; ++h) {
            auto qa = [&](int i) { return &pb.q[b * pb.lq.s[0] + h * pb.lq.s[1] + i * pb.lq.s[2]]; };
            auto qw = [&](int i) { return &pb.v[((size_t(b) * s.H + h) * Tq + i) * D]; };
            auto c = [&](int j) { return &pb.k[b * pb.lk.s[0] + j * pb.lk.s[1]]; };
            std::vector<double> scores(size_t(Tq) * Tk);
            for (int i = 0; i < Tq; ++i)
                for (int j = 0; j < Tk; ++j) {
                    const int row = pb.zero_row - (s.q_offset + i - j);
                    double bd = 0.0;
                    if (row >= 0 && row < pb.P) bd = dot(qw(i), &pb.p[(size_t(row) * s.H + h) * D], nullptr, D);
                    scores[size_t(i) * Tk + j] = (dot(qa(i), c(j), nullptr, r) + bd) * pb.scale;
                }
            softmax_rows(scores, Tq, Tk, len);
            for (int i = 0; i < Tq; ++i)
                for (int d = 0; d < r; ++d) {
                    double x = 0.0;
                    for (int j = 0; j < Tk; ++j) x += scores[size_t(i) * Tk + j] * c(j)[d];
                    out[((size_t(b) * s.H + h) * Tq + i) * r + d] = float(x);
                }
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Calls through the C API. Pointers are host or device ones; the output buffer starts as NaN.

struct Buffers {  // the pointers one call uses
    const float *q, *k, *v, *p, *u, *w;
    const int32_t* lengths;
    float* out;
};

Buffers host_buffers(const Problem& pb, std::vector<float>& out) {
    out.assign(pb.out_size, NAN);
    return {pb.q.data(), pb.k.data(), pb.v.data(), pb.p.data(), pb.u.data(), pb.w.data(), pb.lengths(),
            out.data()};
}

int call_relpos(int device, void* stream, const Problem& pb, const Buffers& x) {
    const Shape& s = pb.shape;
    const int64_t ps[2] = {int64_t(s.H) * s.dh, s.dh};
    return mla_relpos_attention_f32(device, stream, s.B, s.H, s.Tq, s.Tk, s.dh, pb.P, pb.zero_row, s.q_offset,
                                    pb.scale, x.q, pb.lq.s, x.k, pb.lk.s, x.v, pb.lk.s, x.p, ps, x.u, x.w,
                                    x.lengths, x.out, pb.lo.s);
}

// splits == 0: mla_latent_attention_f32; else the split entry point with that many splits.
int call_latent(int device, void* stream, const Problem& pb, const Buffers& x, int splits = 0,
                void* workspace = nullptr, int64_t workspace_bytes = 0) {
    const Shape& s = pb.shape;
    const int64_t ps[2] = {int64_t(s.H) * s.dh, s.dh};
    const int64_t qws[3] = {int64_t(s.H) * s.Tq * s.dh, int64_t(s.Tq) * s.dh, s.dh};
    if (splits == 0)
        return mla_latent_attention_f32(device, stream, s.B, s.H, s.Tq, s.Tk, s.dim, s.dh, pb.P, pb.zero_row,
                                        s.q_offset, pb.scale, x.q, pb.lq.s, x.k, pb.lk.s, x.v, qws, x.p, ps,
                                        x.lengths, x.out, pb.lo.s);
    return mla_latent_attention_split_f32(device, stream, splits, workspace, workspace_bytes, s.B, s.H, s.Tq,
                                          s.Tk, s.dim, s.dh, pb.P, pb.zero_row, s.q_offset, pb.scale, x.q,
                                          pb.lq.s, x.k, pb.lk.s, x.v, qws, x.p, ps, x.lengths, x.out, pb.lo.s);
}

std::string describe(const Shape& s, bool latent) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "B=%d H=%d Tq=%d Tk=%d %s=%d%s%s%s", s.B, s.H, s.Tq, s.Tk,
                  latent ? "r" : "dh", s.dim, latent ? (" dh=" + std::to_string(s.dh)).c_str() : "",
                  s.lengths.empty() ? "" : " padded", s.strided ? " strided" : "");
    return buf;
}

void report(const char* device, const char* kernel, const char* variant, const std::string& what,
            int status, double err, double ms) {
    const bool ok = status == MLA_OK && err <= kTolerance;
    std::printf("%-4s %-7s %-9s %-44s max err %.2e  %9.3f ms  %s\n", device, kernel, variant, what.c_str(), err,
                ms, ok ? "ok" : (status != MLA_OK ? mla_status_string(status) : "FAIL"));
    if (!ok) ++g_failures;
}

// ---------------------------------------------------------------------------------------------
// Test shapes: odd lengths, padding (lengths < Tk), T from 1 to 600, r up to 512.

std::vector<Shape> relpos_shapes() {
    return {
        {"T=1", 1, 1, 1, 1, 8, 8, 0, {}},
        {"T=7 padded", 2, 2, 7, 7, 16, 16, 0, {7, 3}},
        {"T=65 padded", 3, 3, 65, 65, 24, 24, 0, {65, 64, 1}},
        {"T=129 strided", 2, 4, 129, 129, 64, 64, 0, {129, 77}, true},
        {"T=333 padded", 2, 2, 333, 333, 40, 40, 0, {333, 201}},
        {"T=600", 1, 2, 600, 600, 64, 64, 0, {}},
        {"stream s=1", 2, 4, 1, 257, 64, 64, 256, {257, 100}},
        {"stream s=5 margin", 1, 2, 5, 70, 32, 32, 65, {}, false, 3},
        {"stream s=20 dh=100", 1, 2, 20, 50, 100, 100, 30, {41}, true},
    };
}

std::vector<Shape> latent_shapes() {
    return {
        {"s=1 Tk=1", 1, 1, 1, 1, 8, 8, 0, {}},
        {"s=1 Tk=300", 1, 16, 1, 300, 512, 64, 299, {}},
        {"s=4 Tk=257 padded", 2, 8, 4, 257, 512, 64, 253, {257, 3}},
        {"s=8 Tk=600", 1, 16, 8, 600, 512, 64, 592, {}},
        {"s=3 Tk=90 r=100 strided", 2, 3, 3, 90, 100, 48, 87, {90, 45}, true, 2},
        {"full T=150 r=33", 2, 3, 150, 150, 33, 20, 0, {150, 77}},
        {"full T=65 r=128 strided", 1, 4, 65, 65, 128, 64, 0, {}, true},
    };
}

// Random shapes on top of the fixed ones: full utterances, streaming chunks and unrelated Tq / Tk /
// q_offset, random padding and storage, sizes capped so the naive reference stays fast.
std::vector<Shape> random_shapes(Rng& rng, int count, bool latent) {
    auto pick = [&](int lo, int hi) { return lo + int(rng.uniform(0.0f, 1.0f) * float(hi - lo + 1)) % (hi - lo + 1); };
    std::vector<Shape> shapes;
    while (int(shapes.size()) < count) {
        Shape s{"random", pick(1, 3), pick(1, 4), 0, 0, 0, 0, 0, {}};
        const int T = int(std::exp(rng.uniform(0.0f, std::log(600.0f))));  // 1 .. 600, log-uniform
        switch (pick(0, 2)) {
            case 0: s.Tq = s.Tk = T; break;                                        // full utterance
            case 1: s.Tk = T; s.Tq = pick(1, std::min(T, 16)); s.q_offset = T - s.Tq; break;  // streaming
            default: s.Tk = T; s.Tq = pick(1, 80); s.q_offset = pick(0, 40); break;
        }
        s.dh = pick(1, 100);
        s.dim = latent ? pick(1, 512) : s.dh;
        if (pick(0, 1) == 1)
            for (int b = 0; b < s.B; ++b) s.lengths.push_back(pick(1, s.Tk));
        s.strided = pick(0, 1) == 1;
        s.margin = pick(0, 1) * pick(1, 3);
        const double cost = double(s.B) * s.H * s.Tq * s.Tk * (s.dim + s.dh);
        if (cost < 1e8) shapes.push_back(s);
    }
    return shapes;
}

// Runs `call` once as a warm-up (threads wake up), then again timed; the second result is checked.
template <class F>
int warm_then_time(F call, std::vector<float>& out, double& ms) {
    int status = call();
    if (status != MLA_OK) return status;
    std::fill(out.begin(), out.end(), NAN);
    const double t0 = now_ms();
    status = call();
    ms = now_ms() - t0;
    return status;
}

// Expanded attention over k = c W_uk^T, v = c W_uv^T equals W_uv times latent attention with
// qa = W_uk^T (q + u): the absorption identity of DESIGN.md section 3, through both CPU kernels.
void check_absorption(Rng& rng) {
    const int B = 2, H = 4, dh = 16, r = 48, T = 77;
    const std::vector<int32_t> lengths = {77, 50};
    Shape rs{"absorbed == expanded", B, H, T, T, dh, dh, 0, lengths};
    Problem ex = make_relpos(rs, rng);
    const std::vector<float> c = rng.fill(size_t(B) * T * r, 1.0f);
    const std::vector<float> wuk = rng.fill(size_t(H) * dh * r, 0.3f), wuv = rng.fill(size_t(H) * dh * r, 0.3f);
    // k[b,h,t,e] = sum_x W_uk[h*dh+e, x] c[b,t,x]
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h)
            for (int t = 0; t < T; ++t)
                for (int e = 0; e < dh; ++e) {
                    double kk = 0.0, vv = 0.0;
                    for (int x = 0; x < r; ++x) {
                        kk += double(wuk[(size_t(h) * dh + e) * r + x]) * c[(size_t(b) * T + t) * r + x];
                        vv += double(wuv[(size_t(h) * dh + e) * r + x]) * c[(size_t(b) * T + t) * r + x];
                    }
                    ex.k[((size_t(b) * H + h) * T + t) * dh + e] = float(kk);
                    ex.v[((size_t(b) * H + h) * T + t) * dh + e] = float(vv);
                }
    Shape ls{"absorbed", B, H, T, T, r, dh, 0, lengths};
    Problem la = make_latent(ls, rng);
    la.k = c;
    la.p = ex.p;
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h)
            for (int i = 0; i < T; ++i) {
                const float* q = &ex.q[((size_t(b) * H + h) * T + i) * dh];
                for (int x = 0; x < r; ++x) {
                    double a = 0.0;
                    for (int e = 0; e < dh; ++e)
                        a += double(wuk[(size_t(h) * dh + e) * r + x]) * (q[e] + ex.u[size_t(h) * dh + e]);
                    la.q[((size_t(b) * H + h) * T + i) * r + x] = float(a);
                }
                for (int e = 0; e < dh; ++e)
                    la.v[((size_t(b) * H + h) * T + i) * dh + e] = q[e] + ex.w[size_t(h) * dh + e];
            }
    std::vector<float> o, z;
    const double t0 = now_ms();
    int status = call_relpos(MLA_DEVICE_CPU, nullptr, ex, host_buffers(ex, o));
    if (status == MLA_OK) status = call_latent(MLA_DEVICE_CPU, nullptr, la, host_buffers(la, z));
    const double ms = now_ms() - t0;
    std::vector<float> o_from_z(o.size());
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h)
            for (int i = 0; i < T; ++i)
                for (int e = 0; e < dh; ++e) {
                    double x = 0.0;
                    for (int y = 0; y < r; ++y)
                        x += double(wuv[(size_t(h) * dh + e) * r + y]) * z[((size_t(b) * H + h) * T + i) * r + y];
                    o_from_z[((size_t(b) * H + h) * T + i) * dh + e] = float(x);
                }
    report("cpu", "absorb", mla_cpu_isa(), describe(ls, true), status, max_abs_diff(o, o_from_z), ms);
}

// Bad arguments come back as status codes.
void check_arguments() {
    Rng rng(7);
    Shape s{"args", 2, 2, 5, 5, 8, 8, 0, {5, 2}};
    Problem pb = make_relpos(s, rng);
    std::vector<float> out;
    auto relpos = [&](const Problem& q) { return call_relpos(MLA_DEVICE_CPU, nullptr, q, host_buffers(q, out)); };
    expect(relpos(pb) == MLA_OK, "valid relpos call returns MLA_OK");
    Buffers bad = host_buffers(pb, out);
    bad.k = nullptr;
    expect(call_relpos(MLA_DEVICE_CPU, nullptr, pb, bad) == MLA_ERR_INVALID_ARGUMENT, "null k is rejected");
    Problem q = pb;
    q.shape.B = 0;
    expect(relpos(q) == MLA_ERR_INVALID_ARGUMENT, "B = 0 is rejected");
    q = pb;
    q.shape.lengths = {5, 0};
    expect(relpos(q) == MLA_ERR_INVALID_ARGUMENT, "length 0 is rejected");
    q.shape.lengths = {6, 5};
    expect(relpos(q) == MLA_ERR_INVALID_ARGUMENT, "length > Tk is rejected");
    q = pb;
    q.P = pb.P - 1;  // the last row, delta = -(T-1), is missing
    expect(relpos(q) == MLA_ERR_INVALID_ARGUMENT, "p rows out of range are rejected");
    q.shape.lengths = {4, 2};  // ... unless no valid pair needs it
    expect(relpos(q) == MLA_OK, "p rows only for valid pairs suffice on the CPU");
    q = pb;
    q.zero_row = pb.zero_row - 1;
    expect(relpos(q) == MLA_ERR_INVALID_ARGUMENT, "zero_row too small is rejected");
    q = pb;
    q.lo.s[2] = 0;
    expect(relpos(q) == MLA_ERR_INVALID_ARGUMENT, "output time stride 0 is rejected");
    q = pb;
    q.lk.s[0] = -1;
    expect(relpos(q) == MLA_ERR_INVALID_ARGUMENT, "negative stride is rejected");
    q = pb;
    q.scale = NAN;
    expect(relpos(q) == MLA_ERR_INVALID_ARGUMENT, "NaN scale is rejected");
    const Buffers x = host_buffers(pb, out);
    expect(call_relpos(7, nullptr, pb, x) == MLA_ERR_INVALID_ARGUMENT, "unknown device is rejected");

    Shape ls{"args", 1, 2, 2, 9, 16, 8, 7, {}};
    Problem la = make_latent(ls, rng);
    std::vector<float> z;
    Buffers y = host_buffers(la, z);
    expect(call_latent(MLA_DEVICE_CPU, nullptr, la, y) == MLA_OK, "valid latent call returns MLA_OK");
    expect(call_latent(MLA_DEVICE_CPU, nullptr, la, y, 3) == MLA_OK, "split call on the CPU returns MLA_OK");
    expect(call_latent(MLA_DEVICE_CPU, nullptr, la, y, -1) == MLA_ERR_INVALID_ARGUMENT,
           "num_splits < 1 is rejected");
    Problem lb = la;
    lb.shape.dim = 0;
    expect(call_latent(MLA_DEVICE_CPU, nullptr, lb, y) == MLA_ERR_INVALID_ARGUMENT, "r = 0 is rejected");
    Buffers yb = y;
    yb.out = nullptr;
    expect(call_latent(MLA_DEVICE_CPU, nullptr, la, yb) == MLA_ERR_INVALID_ARGUMENT, "null z is rejected");
    expect(mla_latent_attention_workspace_bytes(1, 2, 2, 16, 1) == 0, "one split needs no workspace");
    expect(mla_latent_attention_workspace_bytes(1, 2, 2, 16, 4) > 4 * 2 * 2 * 16 * 4, "workspace holds the splits");
    expect(mla_latent_attention_workspace_bytes(0, 2, 2, 16, 4) == -1, "workspace of B = 0 is -1");
    expect(mla_latent_attention_num_splits(MLA_DEVICE_CPU, 1, 16, 1, 512, 1000) == 1, "no splits planned on CPU");

    expect(mla_set_num_threads(-1) == MLA_ERR_INVALID_ARGUMENT, "negative thread count is rejected");
    expect(mla_set_cpu_isa("sse9") == MLA_ERR_INVALID_ARGUMENT, "unknown CPU variant is rejected");
    expect(std::strcmp(mla_status_string(12345), "unknown status") == 0, "unknown status has a string");
    std::printf("cpu  api     checked status codes of bad arguments: %s\n", g_failures == 0 ? "ok" : "FAIL");
}

int run_cpu_checks() {
    std::printf("CPU kernels: best variant %s, each variant this CPU runs in turn; tolerance %.0e\n",
                mla_cpu_isa(), kTolerance);
    std::printf("(times: one warm call, all threads; the naive reference is not timed)\n");
    check_arguments();
    Rng rng(1234);
    std::vector<Shape> rel_shapes = relpos_shapes(), lat_shapes = latent_shapes();
    for (const Shape& s : random_shapes(rng, 40, false)) rel_shapes.push_back(s);
    for (const Shape& s : random_shapes(rng, 40, true)) lat_shapes.push_back(s);
    std::vector<Problem> rel, lat;
    std::vector<std::vector<float>> rel_ref, lat_ref;
    for (const Shape& s : rel_shapes) {
        rel.push_back(make_relpos(s, rng));
        rel_ref.push_back(reference_relpos(rel.back()));
    }
    for (const Shape& s : lat_shapes) {
        lat.push_back(make_latent(s, rng));
        lat_ref.push_back(reference_latent(lat.back()));
    }
    auto check_relpos = [&](size_t n, const char* variant) {
        const Problem& pb = rel[n];
        const auto& s = pb.shape;
        std::vector<float> out;
        const Buffers x = host_buffers(pb, out);
        double ms = 0.0;
        const int status = warm_then_time([&] { return call_relpos(MLA_DEVICE_CPU, nullptr, pb, x); }, out, ms);
        report("cpu", "relpos", variant, std::string(s.name) + ": " + describe(s, false), status,
               max_abs_diff(densify(out, pb.lo, s.B, s.H, s.Tq, s.dh), rel_ref[n]), ms);
    };
    auto check_latent = [&](size_t n, const char* variant) {
        const Problem& pb = lat[n];
        const auto& s = pb.shape;
        std::vector<float> out;
        const Buffers x = host_buffers(pb, out);
        double ms = 0.0;
        const int status = warm_then_time([&] { return call_latent(MLA_DEVICE_CPU, nullptr, pb, x); }, out, ms);
        report("cpu", "latent", variant, std::string(s.name) + ": " + describe(s, true), status,
               max_abs_diff(densify(out, pb.lo, s.B, s.H, s.Tq, s.dim), lat_ref[n]), ms);
    };
    for (const char* isa : {"avx512f", "avx2", "baseline"}) {
        if (mla_set_cpu_isa(isa) != MLA_OK) {
            std::printf("cpu  (variant %s not supported by this CPU, skipped)\n", isa);
            continue;
        }
        for (size_t n = 0; n < rel.size(); ++n) check_relpos(n, isa);
        for (size_t n = 0; n < lat.size(); ++n) check_latent(n, isa);
    }
    mla_set_cpu_isa(nullptr);
    // Thread counts change the work split (the latent kernel splits keys when tasks < threads).
    for (int threads : {1, 3}) {
        mla_set_num_threads(threads);
        const std::string tag = "threads=" + std::to_string(threads);
        check_latent(1, tag.c_str());
        check_latent(3, tag.c_str());
        check_relpos(6, tag.c_str());
    }
    mla_set_num_threads(0);
    check_absorption(rng);
    return g_failures;
}

// ---------------------------------------------------------------------------------------------
// CUDA: each entry point against its CPU twin.

#ifdef MHA2MLA_WITH_CUDA

// Shapes for the CUDA checks. Emulated threads (kernels/test/emulation) are slow: there, small shapes
// that still reach every kernel instantiation (dh <= 64 and <= 128; r <= 128, 256, 512, 1024), several
// query blocks and key tiles, padding, strides and key splits.
#ifdef MHA2MLA_CUDA_EMULATION
std::vector<Shape> cuda_relpos_shapes() {
    return {
        {"T=1", 1, 1, 1, 1, 8, 8, 0, {}},
        {"T=70 padded", 2, 2, 70, 70, 24, 24, 0, {70, 33}},
        {"stream s=3 dh=100 margin", 1, 2, 3, 100, 100, 100, 97, {}, true, 2},
        {"Tq=40 Tk=45 dh=128", 1, 1, 40, 45, 128, 128, 5, {45}},
    };
}
std::vector<Shape> cuda_latent_shapes() {
    return {
        {"s=1 Tk=1", 1, 1, 1, 1, 8, 8, 0, {}},
        {"s=1 Tk=150 r=512", 1, 4, 1, 150, 512, 64, 149, {}},
        {"s=3 Tk=50 r=100 strided", 2, 3, 3, 50, 100, 48, 47, {50, 45}, true, 2},
        {"s=2 Tk=40 r=1000 dh=100", 1, 2, 2, 40, 1000, 100, 38, {33}},
        {"full T=12 r=200", 2, 2, 12, 12, 200, 20, 0, {12, 7}},
    };
}
#else
std::vector<Shape> cuda_relpos_shapes() { return relpos_shapes(); }
std::vector<Shape> cuda_latent_shapes() { return latent_shapes(); }
#endif

template <class T>
T* to_device(const std::vector<T>& x) {
    if (x.empty()) return nullptr;
    void* d = nullptr;
    if (cudaMalloc(&d, x.size() * sizeof(T)) != cudaSuccess) return nullptr;
    cudaMemcpy(d, x.data(), x.size() * sizeof(T), cudaMemcpyHostToDevice);
    return static_cast<T*>(d);
}

struct DeviceProblem {
    Buffers x{};
    std::vector<void*> owned;
    DeviceProblem(const Problem& pb) {
        x.q = keep(to_device(pb.q));
        x.k = keep(to_device(pb.k));
        x.v = keep(to_device(pb.v));
        x.p = keep(to_device(pb.p));
        x.u = keep(to_device(pb.u));
        x.w = keep(to_device(pb.w));
        x.lengths = keep(to_device(pb.shape.lengths));
        x.out = keep(to_device(std::vector<float>(pb.out_size, NAN)));
    }
    template <class T> T* keep(T* p) {
        owned.push_back(const_cast<void*>(static_cast<const void*>(p)));
        return p;
    }
    std::vector<float> output(size_t n) const {
        std::vector<float> y(n);
        cudaMemcpy(y.data(), x.out, n * sizeof(float), cudaMemcpyDeviceToHost);
        return y;
    }
    ~DeviceProblem() {
        for (void* p : owned) cudaFree(p);
    }
};

// Runs `call` once to warm up and once timed (CUDA events on `stream`); returns its status.
template <class F>
int time_cuda(cudaStream_t stream, F call, double& ms, int reps = 1) {
    int status = MLA_OK;
#ifndef MHA2MLA_CUDA_EMULATION  // emulated launches are slow, and their timings meaningless
    status = call();
    if (status != MLA_OK) return status;
#endif
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    cudaEventRecord(a, stream);
    for (int i = 0; i < reps && status == MLA_OK; ++i) status = call();
    cudaEventRecord(b, stream);
    if (cudaEventSynchronize(b) != cudaSuccess) status = MLA_ERR_CUDA;
    float f = 0.0f;
    cudaEventElapsedTime(&f, a, b);
    ms = f / reps;
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return status;
}

int run_cuda_checks() {
    const int devices = mla_cuda_device_count();
    if (devices == 0) {
        std::printf("CUDA checks skipped: built with CUDA, but no GPU or driver is present\n");
        return 0;
    }
    cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    std::printf("CUDA kernels on %s (sm_%d%d), against the CPU kernels (%s)\n", prop.name, prop.major, prop.minor,
                mla_cpu_isa());
    cudaStream_t stream;
    cudaStreamCreate(&stream);
    Rng rng(99);
    std::vector<float> cpu;
    for (const Shape& s : cuda_relpos_shapes()) {
        const Problem pb = make_relpos(s, rng);
        int status = call_relpos(MLA_DEVICE_CPU, nullptr, pb, host_buffers(pb, cpu));
        const DeviceProblem dev(pb);
        double ms = 0.0;
        if (status == MLA_OK)
            status = time_cuda(stream, [&] { return call_relpos(MLA_DEVICE_CUDA, stream, pb, dev.x); }, ms);
        const std::vector<float> gpu = dev.output(pb.out_size);
        report("cuda", "relpos", "", std::string(s.name) + ": " + describe(s, false), status,
               max_abs_diff(gpu, cpu), ms);
    }
    for (const Shape& s : cuda_latent_shapes()) {
        const Problem pb = make_latent(s, rng);
        int status = call_latent(MLA_DEVICE_CPU, nullptr, pb, host_buffers(pb, cpu));
        const DeviceProblem dev(pb);
        double ms = 0.0;
        if (status == MLA_OK)
            status = time_cuda(stream, [&] { return call_latent(MLA_DEVICE_CUDA, stream, pb, dev.x); }, ms);
        report("cuda", "latent", "", std::string(s.name) + ": " + describe(s, true), status,
               max_abs_diff(dev.output(pb.out_size), cpu), ms);
        // The split-keys entry point, with the planned split count and with 3 splits.
        const int planned = mla_latent_attention_num_splits(MLA_DEVICE_CUDA, s.B, s.H, s.Tq, s.dim, s.Tk);
        for (int splits : {planned, 3}) {
            const int64_t bytes = mla_latent_attention_workspace_bytes(s.B, s.H, s.Tq, s.dim, splits);
            void* ws = nullptr;
            if (bytes > 0 && cudaMalloc(&ws, size_t(bytes)) != cudaSuccess) ws = nullptr;
            cudaMemset(dev.x.out, 0xff, pb.out_size * sizeof(float));  // NaN until written
            int st = call_latent(MLA_DEVICE_CPU, nullptr, pb, host_buffers(pb, cpu));
            if (st == MLA_OK)
                st = time_cuda(stream, [&] { return call_latent(MLA_DEVICE_CUDA, stream, pb, dev.x, splits, ws, bytes); }, ms);
            const std::string tag = "splits=" + std::to_string(splits);
            report("cuda", "latent", tag.c_str(), std::string(s.name) + ": " + describe(s, true), st,
                   max_abs_diff(dev.output(pb.out_size), cpu), ms);
            cudaFree(ws);
        }
    }
    // Limits and bad arguments on the device path.
    {
        Shape s{"dh=200", 1, 1, 3, 3, 200, 200, 0, {}};
        const Problem pb = make_relpos(s, rng);
        const DeviceProblem dev(pb);
        expect(call_relpos(MLA_DEVICE_CUDA, stream, pb, dev.x) == MLA_ERR_UNSUPPORTED, "CUDA relpos dh > 128 is unsupported");
        Shape l{"split ws", 1, 4, 1, 300, 64, 64, 299, {}};
        const Problem lb = make_latent(l, rng);
        const DeviceProblem dl(lb);
        expect(call_latent(MLA_DEVICE_CUDA, stream, lb, dl.x, 4, nullptr, 0) == MLA_ERR_INVALID_ARGUMENT,
               "CUDA split without workspace is rejected");
    }
    cudaStreamSynchronize(stream);
    cudaStreamDestroy(stream);
    return g_failures;
}

#else

int run_cuda_checks() {
    std::printf("CUDA checks skipped: built without CUDA (no nvcc found, or MHA2MLA_CUDA=OFF)\n");
    Rng rng(5);
    Shape s{"no cuda", 1, 1, 2, 2, 8, 8, 0, {}};
    const Problem pb = make_relpos(s, rng);
    std::vector<float> out;
    expect(mla_cuda_compiled() == 0 && mla_cuda_device_count() == 0, "CPU-only build reports no CUDA");
    expect(call_relpos(MLA_DEVICE_CUDA, nullptr, pb, host_buffers(pb, out)) == MLA_ERR_UNSUPPORTED,
           "device = CUDA without CUDA is MLA_ERR_UNSUPPORTED");
    return g_failures;
}

#endif

// ---------------------------------------------------------------------------------------------
// Benchmarks at the flagship sizes.

struct BenchCase {
    const char* kernel;
    int Tq, Tk;
    Problem pb;
    double flops, bytes;
};

double median_ms(std::vector<double> t) {
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// cold_ms > 0: also the time with caches flushed before each call.
void print_bench(const char* device, const BenchCase& c, double ms, double cold_ms, int status) {
    if (status != MLA_OK) {
        std::printf("%-4s %-13s Tq=%-5d Tk=%-5d  %s\n", device, c.kernel, c.Tq, c.Tk, mla_status_string(status));
        return;
    }
    std::printf("%-4s %-13s Tq=%-5d Tk=%-5d %10.3f ms  %8.1f GFLOP/s  %8.1f GB/s", device, c.kernel, c.Tq, c.Tk,
                ms, c.flops / ms * 1e-6, c.bytes / ms * 1e-6);
    if (cold_ms > 0.0)
        std::printf("   cold %9.3f ms  %8.1f GB/s", cold_ms, c.bytes / cold_ms * 1e-6);
    std::printf("\n");
}

// Evicts the kernels' inputs from every cache level by touching more memory than any cache holds: in a
// 24-layer model each layer's cache arrives from DRAM, not from the cache the previous call warmed.
constexpr size_t kFlushBytes = size_t(256) << 20;

void flush_cpu_caches() {
    static std::vector<unsigned char> junk(kFlushBytes);
    volatile unsigned char* p = junk.data();
    for (size_t i = 0; i < kFlushBytes; i += 64) p[i] = static_cast<unsigned char>(p[i] + 1);
}

int run_bench() {
    const int H = 16, dh = 64, r = 512;
    std::printf("Flagship sizes: d = 1024, H = %d, dh = %d, r = %d, B = 1. CPU: %s, %d threads\n", H, dh, r,
                mla_cpu_isa(), omp_get_max_threads());
    std::printf("GB/s counts the bytes each call must read: K+V (relpos) or c (latent), the p rows, q, and output.\n");
    std::printf("Streaming cases also run cold: caches flushed before each call, as for one layer of many.\n");
    Rng rng(2024);
    std::vector<BenchCase> cases;
    for (int T : {250, 750, 1500}) {
        for (int s : {T, 1, 8}) {
            const int off = T - s;
            Shape rs{"relpos", 1, H, s, T, dh, dh, off, {}};
            BenchCase c{s == T ? "relpos full" : "relpos stream", s, T, make_relpos(rs, rng), 0, 0};
            c.flops = double(H) * s * T * 6.0 * dh;
            c.bytes = 4.0 * H * dh * (2.0 * T + (T + s - 1) + 2.0 * s);
            cases.push_back(std::move(c));
            Shape ls{"latent", 1, H, s, T, r, dh, off, {}};
            BenchCase d{s == T ? "latent full" : "latent stream", s, T, make_latent(ls, rng), 0, 0};
            d.flops = double(H) * s * T * (4.0 * r + 2.0 * dh);
            d.bytes = 4.0 * (double(T) * r + double(T + s - 1) * H * dh + double(s) * H * (2.0 * r + dh));
            cases.push_back(std::move(d));
        }
    }
    for (const BenchCase& c : cases) {
        const bool latent = c.kernel[0] == 'l';
        std::vector<float> out;
        const Buffers x = host_buffers(c.pb, out);
        auto call = [&] {
            return latent ? call_latent(MLA_DEVICE_CPU, nullptr, c.pb, x) : call_relpos(MLA_DEVICE_CPU, nullptr, c.pb, x);
        };
        int status = call();  // warm-up
        std::vector<double> times;
        const double budget = now_ms() + 1500.0;
        while (status == MLA_OK && (times.size() < 3 || (now_ms() < budget && times.size() < 200))) {
            const double t0 = now_ms();
            status = call();
            times.push_back(now_ms() - t0);
        }
        double cold = 0.0;
        if (c.Tq < c.Tk && status == MLA_OK) {
            std::vector<double> cold_times;
            for (int rep = 0; rep < 9 && status == MLA_OK; ++rep) {
                flush_cpu_caches();
                const double t0 = now_ms();
                status = call();
                cold_times.push_back(now_ms() - t0);
            }
            cold = median_ms(cold_times);
        }
        print_bench("cpu", c, times.empty() ? 0.0 : median_ms(times), cold, status);
    }
#if defined(MHA2MLA_CUDA_EMULATION)
    std::printf("CUDA benchmarks skipped: the CUDA kernels are emulated on the CPU in this build\n");
#elif defined(MHA2MLA_WITH_CUDA)
    if (mla_cuda_device_count() == 0) {
        std::printf("CUDA benchmarks skipped: no GPU or driver is present\n");
        return 0;
    }
    cudaStream_t stream;
    cudaStreamCreate(&stream);
    void* junk = nullptr;
    if (cudaMalloc(&junk, kFlushBytes) != cudaSuccess) junk = nullptr;
    // Median time of `call` with the GPU's L2 flushed (a big memset) before each run.
    auto time_cold = [&](auto call, double& ms) {
        cudaEvent_t a, b;
        cudaEventCreate(&a);
        cudaEventCreate(&b);
        std::vector<double> t;
        int status = MLA_OK;
        for (int rep = 0; rep < 9 && status == MLA_OK && junk != nullptr; ++rep) {
            cudaMemsetAsync(junk, rep, kFlushBytes, stream);
            cudaEventRecord(a, stream);
            status = call();
            cudaEventRecord(b, stream);
            cudaEventSynchronize(b);
            float f = 0.0f;
            cudaEventElapsedTime(&f, a, b);
            t.push_back(f);
        }
        cudaEventDestroy(a);
        cudaEventDestroy(b);
        ms = t.empty() ? 0.0 : median_ms(t);
        return status;
    };
    for (const BenchCase& c : cases) {
        const bool latent = c.kernel[0] == 'l';
        const DeviceProblem dev(c.pb);
        auto call = [&] {
            return latent ? call_latent(MLA_DEVICE_CUDA, stream, c.pb, dev.x)
                          : call_relpos(MLA_DEVICE_CUDA, stream, c.pb, dev.x);
        };
        double ms = 0.0, cold = 0.0;
        int status = time_cuda(stream, call, ms, 20);
        if (status == MLA_OK && c.Tq < c.Tk) status = time_cold(call, cold);
        print_bench("cuda", c, ms, cold, status);
        if (latent && c.Tq < c.Tk) {
            const Shape& s = c.pb.shape;
            const int splits = mla_latent_attention_num_splits(MLA_DEVICE_CUDA, 1, s.H, s.Tq, s.dim, s.Tk);
            const int64_t bytes = mla_latent_attention_workspace_bytes(1, s.H, s.Tq, s.dim, splits);
            void* ws = nullptr;
            if (bytes > 0) cudaMalloc(&ws, size_t(bytes));
            auto split_call = [&] { return call_latent(MLA_DEVICE_CUDA, stream, c.pb, dev.x, splits, ws, bytes); };
            status = time_cuda(stream, split_call, ms, 20);
            if (status == MLA_OK) status = time_cold(split_call, cold);
            BenchCase named{"latent split", c.Tq, c.Tk, Problem(), c.flops, c.bytes};
            print_bench("cuda", named, ms, cold, status);
            std::printf("     (%d key splits)\n", splits);
            cudaFree(ws);
        }
    }
    cudaFree(junk);
    cudaStreamDestroy(stream);
#else
    std::printf("CUDA benchmarks skipped: built without CUDA\n");
#endif
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "--bench") return run_bench();
    if (mode != "" && mode != "--cpu" && mode != "--cuda") {
        std::fprintf(stderr, "usage: kernel_check [--cpu | --cuda | --bench]\n");
        return 2;
    }
    const double t0 = now_ms();
    if (mode != "--cuda") run_cpu_checks();
    if (mode != "--cpu") run_cuda_checks();
    std::printf("%s: %d failure(s), %.1f s\n", g_failures == 0 ? "PASS" : "FAIL", g_failures, (now_ms() - t0) / 1000.0);
    return g_failures == 0 ? 0 : 1;
}
