// kernel_check: checks and times the mha2mla kernels, without Java.
//
//   kernel_check            CPU checks, then CUDA checks
//   kernel_check --cpu      every fused CPU kernel, in every CPU variant this machine runs (baseline,
//                           avx2, avx512f), against a naive reference that materialises the scores the
//                           HF way: AC + BD through the relative shift, times 1/sqrt(dh), additive mask
//                           of float32 min on padded keys, softmax, probs . V; the bfloat16 / float16 entry
//                           points against the float32 kernel on the same 16-bit values, its output rounded;
//                           the 16-bit conversions against a search of all 16-bit values
//   kernel_check --cuda     every CUDA entry point, float32 and 16-bit, against its CPU twin on the same inputs
//                           (one "skipped" line and exit 77, CTest's skip, when there is no GPU)
//   kernel_check --bench    timings at the flagship sizes (d = 1024, H = 16, dh = 64, r = 512;
//                           T = 250, 750, 1500), CPU and, when present, CUDA (float32 and bfloat16); then the
//                           streaming caches
//   kernel_check --bench-cache   only the streaming caches: latent vs K/V, B = 1 and 8 sessions per call
// Exit status 0 when every check passes: max abs error <= 1e-4 (16-bit outputs: the ulp bounds of check_half_cpu
// and check_half_cuda) and the expected status codes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>

#include "half_precision.h"
#include "mha2mla.h"

#ifdef MHA2MLA_WITH_CUDA
#include <cuda_runtime_api.h>
#endif
#if defined(MHA2MLA_WITH_CUDA) && !defined(MHA2MLA_CUDA_EMULATION)
#include <cuda_bf16.h>  // host versions of the GPU's conversions, to check half_precision.h against
#include <cuda_fp16.h>
#endif

namespace {

constexpr double kTolerance = 1e-4;
constexpr double kMaskValue = -3.4028234663852886e38;  // torch.finfo(torch.float32).min, HF's mask

int g_failures = 0;
// --cuda with nothing to run (no GPU, or a build without CUDA): exit kExitSkipped, which CTest counts as skipped
// (SKIP_RETURN_CODE), so a missing GPU never reads as a passed check.
bool g_cuda_skipped = false;
constexpr int kExitSkipped = 77;

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
    uint64_t next() {  // splitmix64
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    float uniform(float lo, float hi) { return lo + (hi - lo) * float(double(next() >> 40) / double(1ull << 24)); }
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

// The pointers one call uses: float32 (Buffers) or 16-bit (Buffers16, bits) elements.
template <class T>
struct BuffersOf {
    const T *q, *k, *v, *p, *u, *w;
    const int32_t* lengths;
    T* out;
};
using Buffers = BuffersOf<float>;
using Buffers16 = BuffersOf<uint16_t>;

template <class T>
T poison();  // an output element no kernel writes: NaN
template <>
float poison<float>() { return NAN; }
template <>
uint16_t poison<uint16_t>() { return 0xffff; }  // NaN in bfloat16 and float16

// Problem or Problem16: vectors q .. w of the elements the calls read.
template <class Inputs, class T>
BuffersOf<T> host_buffers(const Inputs& pb, std::vector<T>& out) {
    out.assign(pb.out_size, poison<T>());
    return {pb.q.data(), pb.k.data(), pb.v.data(), pb.p.data(), pb.u.data(), pb.w.data(), pb.lengths(),
            out.data()};
}

// Entry point 1 through fn: mla_relpos_attention_f32, or mla_relpos_attention with its dtype bound.
template <class Fn, class T>
int relpos_with(Fn fn, int device, void* stream, const Problem& pb, const BuffersOf<T>& x) {
    const Shape& s = pb.shape;
    const int64_t ps[2] = {int64_t(s.H) * s.dh, s.dh};
    return fn(device, stream, s.B, s.H, s.Tq, s.Tk, s.dh, pb.P, pb.zero_row, s.q_offset, pb.scale, x.q, pb.lq.s,
              x.k, pb.lk.s, x.v, pb.lk.s, x.p, ps, x.u, x.w, x.lengths, x.out, pb.lo.s);
}

// Entry point 2 through fn (mla_latent_attention_f32 or mla_latent_attention) when splits == 0; else 2b with that
// many splits through split_fn (mla_latent_attention_split_f32 or mla_latent_attention_split).
template <class Fn, class SplitFn, class T>
int latent_with(Fn fn, SplitFn split_fn, int device, void* stream, const Problem& pb, const BuffersOf<T>& x,
                int splits, void* workspace, int64_t workspace_bytes) {
    const Shape& s = pb.shape;
    const int64_t ps[2] = {int64_t(s.H) * s.dh, s.dh};
    const int64_t qws[3] = {int64_t(s.H) * s.Tq * s.dh, int64_t(s.Tq) * s.dh, s.dh};
    if (splits == 0)
        return fn(device, stream, s.B, s.H, s.Tq, s.Tk, s.dim, s.dh, pb.P, pb.zero_row, s.q_offset, pb.scale, x.q,
                  pb.lq.s, x.k, pb.lk.s, x.v, qws, x.p, ps, x.lengths, x.out, pb.lo.s);
    return split_fn(device, stream, splits, workspace, workspace_bytes, s.B, s.H, s.Tq, s.Tk, s.dim, s.dh, pb.P,
                    pb.zero_row, s.q_offset, pb.scale, x.q, pb.lq.s, x.k, pb.lk.s, x.v, qws, x.p, ps, x.lengths,
                    x.out, pb.lo.s);
}

int call_relpos(int device, void* stream, const Problem& pb, const Buffers& x) {
    return relpos_with(mla_relpos_attention_f32, device, stream, pb, x);
}

int call_latent(int device, void* stream, const Problem& pb, const Buffers& x, int splits = 0,
                void* workspace = nullptr, int64_t workspace_bytes = 0) {
    return latent_with(mla_latent_attention_f32, mla_latent_attention_split_f32, device, stream, pb, x, splits,
                       workspace, workspace_bytes);
}

// The 16-bit element types, and the same calls in them through the dtype entry points.
struct HalfType {
    const char* name;
    int dtype;
    int mantissa_bits;
    float (*widen)(uint16_t);
    uint16_t (*narrow)(float);
};
const HalfType kHalfTypes[] = {
    {"bf16", MLA_BF16, 7, mla::bf16_to_float, mla::float_to_bf16},
    {"f16", MLA_F16, 10, mla::f16_to_float, mla::float_to_f16},
};

int call_relpos(const HalfType& t, int device, void* stream, const Problem& pb, const Buffers16& x) {
    auto fn = [&](int dev, void* st, auto... rest) { return mla_relpos_attention(dev, st, t.dtype, rest...); };
    return relpos_with(fn, device, stream, pb, x);
}

int call_latent(const HalfType& t, int device, void* stream, const Problem& pb, const Buffers16& x, int splits = 0,
                void* workspace = nullptr, int64_t workspace_bytes = 0) {
    auto fn = [&](int dev, void* st, auto... rest) { return mla_latent_attention(dev, st, t.dtype, rest...); };
    auto split_fn = [&](int dev, void* st, auto... rest) { return mla_latent_attention_split(dev, st, t.dtype, rest...); };
    return latent_with(fn, split_fn, device, stream, pb, x, splits, workspace, workspace_bytes);
}

// A problem in a 16-bit type: q .. w hold the bits of pb's inputs rounded to it, and `wide` is the same problem
// with exactly those values in float32.
struct Problem16 {
    Shape shape;
    size_t out_size;
    Problem wide;
    std::vector<uint16_t> q, k, v, p, u, w;
    const int32_t* lengths() const { return wide.lengths(); }
};

Problem16 to_half(const HalfType& t, const Problem& pb) {
    Problem16 h{pb.shape, pb.out_size, pb, {}, {}, {}, {}, {}, {}};
    auto round = [&](std::vector<float>& wide, std::vector<uint16_t>& bits) {
        bits.resize(wide.size());
        for (size_t i = 0; i < wide.size(); ++i) wide[i] = t.widen(bits[i] = t.narrow(wide[i]));
    };
    round(h.wide.q, h.q);
    round(h.wide.k, h.k);
    round(h.wide.v, h.v);
    round(h.wide.p, h.p);
    round(h.wide.u, h.u);
    round(h.wide.w, h.w);
    return h;
}

std::vector<uint16_t> narrow_all(const HalfType& t, const std::vector<float>& x) {
    std::vector<uint16_t> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = t.narrow(x[i]);
    return y;
}

// Spacing of the 16-bit type's values at magnitude |x| (its subnormal spacing below the normal range).
double ulp(const HalfType& t, double x) {
    const int min_exponent = t.dtype == MLA_BF16 ? -126 : -14;  // of the smallest normal, 2^min_exponent
    int e = 0;
    std::frexp(std::fabs(x), &e);  // |x| in [2^(e-1), 2^e)
    return std::ldexp(1.0, std::max(e - 1, min_exponent) - t.mantissa_bits);
}

// Largest |a_i - b_i| in ulps of the 16-bit type at max(|a_i|, |b_i|, floor); infinite for a NaN (an unwritten
// output) or different lengths.
double ulps_apart(const HalfType& t, const std::vector<uint16_t>& a, const std::vector<uint16_t>& b, double floor) {
    if (a.size() != b.size()) return INFINITY;
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double x = t.widen(a[i]), y = t.widen(b[i]);
        const double d = std::fabs(x - y) / ulp(t, std::max({std::fabs(x), std::fabs(y), floor}));
        if (!(d <= m)) m = std::isnan(d) ? INFINITY : d;
    }
    return m;
}

std::string describe(const Shape& s, bool latent) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "B=%d H=%d Tq=%d Tk=%d %s=%d%s%s%s", s.B, s.H, s.Tq, s.Tk,
                  latent ? "r" : "dh", s.dim, latent ? (" dh=" + std::to_string(s.dh)).c_str() : "",
                  s.lengths.empty() ? "" : " padded", s.strided ? " strided" : "");
    return buf;
}

// err: max abs error, or with ulps = true the max error in ulps of a 16-bit type; fails above tolerance.
void report(const char* device, const char* kernel, const char* variant, const std::string& what,
            int status, double err, double ms, double tolerance = kTolerance, bool ulps = false) {
    const bool ok = status == MLA_OK && err <= tolerance;
    char e[32];
    std::snprintf(e, sizeof e, ulps ? "%.2f ulp" : "%.2e", err);
    std::printf("%-4s %-7s %-9s %-44s max err %-9s %9.3f ms  %s\n", device, kernel, variant, what.c_str(), e,
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
        {"s=40 Tk=200 r=72 dh=36 padded", 2, 4, 40, 200, 72, 36, 160, {200, 150}},
        {"full T=40 r=300 padded", 2, 2, 40, 40, 300, 32, 0, {40, 33}},
        {"full T=70 r=8 dh=24", 1, 2, 70, 70, 8, 24, 0, {}},
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
template <class F, class T>
int warm_then_time(F call, std::vector<T>& out, double& ms) {
    int status = call();
    if (status != MLA_OK) return status;
    std::fill(out.begin(), out.end(), poison<T>());
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

    // The dtype entry points: the same checks, and the element type's.
    const HalfType& bf16 = kHalfTypes[0];
    const Problem16 h = to_half(bf16, pb);
    std::vector<uint16_t> out16;
    const Buffers16 x16 = host_buffers(h, out16);
    expect(call_relpos(bf16, MLA_DEVICE_CPU, nullptr, h.wide, x16) == MLA_OK, "valid bf16 relpos call returns MLA_OK");
    HalfType unknown = bf16;
    unknown.dtype = 3;
    expect(call_relpos(unknown, MLA_DEVICE_CPU, nullptr, h.wide, x16) == MLA_ERR_INVALID_ARGUMENT, "unknown dtype is rejected");
    Buffers16 bad16 = x16;
    bad16.u = nullptr;
    expect(call_relpos(kHalfTypes[1], MLA_DEVICE_CPU, nullptr, h.wide, bad16) == MLA_ERR_INVALID_ARGUMENT,
           "null u in an f16 call is rejected");
    q = pb;
    q.shape.lengths = {5, 0};
    const Problem16 hz = to_half(bf16, q);
    expect(call_relpos(bf16, MLA_DEVICE_CPU, nullptr, hz.wide, host_buffers(hz, out16)) == MLA_ERR_INVALID_ARGUMENT,
           "length 0 in a bf16 call is rejected");
    const Problem16 lh = to_half(bf16, la);
    const Buffers16 y16 = host_buffers(lh, out16);
    expect(call_latent(bf16, MLA_DEVICE_CPU, nullptr, lh.wide, y16, 2) == MLA_OK, "bf16 split call on the CPU returns MLA_OK");
    expect(call_latent(bf16, MLA_DEVICE_CPU, nullptr, lh.wide, y16, -1) == MLA_ERR_INVALID_ARGUMENT,
           "bf16 num_splits < 1 is rejected");
    lb = lh.wide;
    lb.zero_row = -1;
    expect(call_latent(kHalfTypes[1], MLA_DEVICE_CPU, nullptr, lb, y16) == MLA_ERR_INVALID_ARGUMENT,
           "f16 p rows out of range are rejected");

    expect(mla_set_num_threads(-1) == MLA_ERR_INVALID_ARGUMENT, "negative thread count is rejected");
    expect(mla_set_cpu_isa("sse9") == MLA_ERR_INVALID_ARGUMENT, "unknown CPU variant is rejected");
    expect(std::strcmp(mla_status_string(12345), "unknown status") == 0, "unknown status has a string");
    std::printf("cpu  api     checked status codes of bad arguments: %s\n", g_failures == 0 ? "ok" : "FAIL");
}

// ---------------------------------------------------------------------------------------------
// Streaming caches (entry point 3). Sessions stream random utterances chunk by chunk through caches; every
// chunk's output must equal entry point 1 / 2 over the window's keys taken straight from the utterance
// (Tk = window frames, q_offset = Tk - chunk), which the checks above hold against the naive reference.

enum class CacheKind { Latent, KeyValue };

// The latent sizes mla_latent_cache_create takes: r in each of `layers` layers.
std::vector<int> same_r(int layers, int r) { return std::vector<int>(size_t(layers), r); }

struct StreamCase {
    const char* name;
    CacheKind kind;
    int layers, H, dh, r;  // r: latent width (latent caches only)
    int frames;            // frames each session streams after its preroll
    int chunk;             // frames per chunk; the last one may be shorter
    int max_frames;        // cache window
    int sessions;          // caches attended in one call
    int preroll;           // session b first appends b * preroll frames in one call (may exceed max_frames)
    std::vector<int> rs{};  // latent: r of each layer, where layers differ (empty: r in every layer)
};

// Per layer: every frame's keys (c [T, r_l], or k and v [T, H, dh]) for each session (index layer * B + b), and
// the queries of all sessions in one buffer [B, Tmax, H, D_l] (qa or q; qw [B, Tmax, H, dh] for latent caches),
// Tmax = preroll * (B - 1) + frames. Session b's frame f is row b * Tmax + f, so a step's chunk rows of all
// sessions sit one fixed stride apart: the batched attend reads them in place. Shared: p [P, H, dh], u, w.
struct StreamData {
    StreamCase sc;
    int Tmax, P, zero_row;
    float scale;
    std::vector<std::vector<float>> keys, values, queries, qw;
    std::vector<float> p, u, w;
    bool latent() const { return sc.kind == CacheKind::Latent; }
    int total(int b) const { return b * sc.preroll + sc.frames; }
    int r_of(int l) const { return sc.rs.empty() ? sc.r : sc.rs[size_t(l)]; }  // layer l's latent size
    std::vector<int> latent_sizes() const {
        std::vector<int> r;
        for (int l = 0; l < sc.layers; ++l) r.push_back(r_of(l));
        return r;
    }
    int key_width(int l) const { return latent() ? r_of(l) : sc.H * sc.dh; }
    int out_dim(int l) const { return latent() ? r_of(l) : sc.dh; }  // D_l
    int max_out_dim() const {
        int D = 0;
        for (int l = 0; l < sc.layers; ++l) D = std::max(D, out_dim(l));
        return D;
    }
    int64_t query_row(int b, int f) const { return int64_t(b) * Tmax + f; }  // in units of H * D floats
};

StreamData make_stream(const StreamCase& sc, Rng& rng) {
    StreamData d;
    d.sc = sc;
    d.Tmax = sc.preroll * (sc.sessions - 1) + sc.frames;
    for (int l = 0; l < sc.layers; ++l) {
        const int D = d.out_dim(l), width = d.key_width(l);
        for (int b = 0; b < sc.sessions; ++b) {
            d.keys.push_back(rng.fill(size_t(d.total(b)) * width, 1.0f));
            d.values.push_back(d.latent() ? std::vector<float>() : rng.fill(size_t(d.total(b)) * width, 1.0f));
        }
        d.queries.push_back(rng.fill(size_t(sc.sessions) * d.Tmax * sc.H * D, d.latent() ? 0.5f : 2.0f));
        d.qw.push_back(d.latent() ? rng.fill(size_t(sc.sessions) * d.Tmax * sc.H * sc.dh, 2.0f) : std::vector<float>());
    }
    // One p table for every window: delta in [-(chunk-1), max_frames-1], with 2 spare rows at each end.
    d.zero_row = sc.max_frames - 1 + 2;
    d.P = d.zero_row + sc.chunk + 2;
    d.p = rng.fill(size_t(d.P) * sc.H * sc.dh, 1.0f);
    d.u = rng.fill(size_t(sc.H) * sc.dh, 0.5f);
    d.w = rng.fill(size_t(sc.H) * sc.dh, 0.5f);
    d.scale = float(1.0 / std::sqrt(double(sc.dh)));
    return d;
}

std::string describe(const StreamCase& sc) {
    // the size: dh=24, r=40, or per layer r=8/24/5
    std::string size = sc.kind == CacheKind::Latent ? "r=" : "dh=";
    if (sc.kind == CacheKind::Latent && !sc.rs.empty())
        for (size_t l = 0; l < sc.rs.size(); ++l) size += (l > 0 ? "/" : "") + std::to_string(sc.rs[l]);
    else
        size += std::to_string(sc.kind == CacheKind::Latent ? sc.r : sc.dh);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s: L=%d H=%d %s T=%d chunk=%d window=%d B=%d", sc.name, sc.layers, sc.H,
                  size.c_str(), sc.frames, sc.chunk, sc.max_frames, sc.sessions);
    return buf;
}

// The steps of a stream: chunk start t0 (frames after the preroll) and size s.
template <class F>
void for_each_chunk(const StreamCase& sc, F f) {
    for (int t0 = 0; t0 < sc.frames; t0 += sc.chunk) f(t0, std::min(sc.chunk, sc.frames - t0));
}

// Reference outputs: per step, per layer, dense [B, H, s, D_l], from entry points 1 / 2 over each window.
int stream_reference(const StreamData& d, std::vector<float>& out) {
    const StreamCase& sc = d.sc;
    const int B = sc.sessions, H = sc.H, dh = sc.dh;
    const int64_t ps[2] = {int64_t(H) * dh, dh};
    int status = MLA_OK;
    out.clear();
    for_each_chunk(sc, [&](int t0, int s) {
        for (int l = 0; l < sc.layers; ++l)
            for (int b = 0; b < B; ++b) {
                const int D = d.out_dim(l), r = d.r_of(l);
                const int end = b * sc.preroll + t0 + s;  // frames appended once this chunk is in
                const int n = std::min(end, sc.max_frames), first = end - n;
                const size_t at = out.size();
                out.resize(at + size_t(H) * s * D, NAN);
                const int64_t os[3] = {int64_t(H) * s * D, int64_t(s) * D, D};
                const int64_t qs[3] = {0, D, int64_t(H) * D};
                const int64_t qws[3] = {0, dh, int64_t(H) * dh};
                const int64_t row = d.query_row(b, end - s);
                const std::vector<float>& keys = d.keys[size_t(l) * B + b];
                int st;
                if (d.latent()) {
                    const int64_t cs[2] = {0, r};
                    st = mla_latent_attention_f32(MLA_DEVICE_CPU, nullptr, 1, H, s, n, r, dh, d.P, d.zero_row,
                                                  n - s, d.scale, d.queries[l].data() + row * H * D, qs,
                                                  keys.data() + int64_t(first) * r, cs,
                                                  d.qw[l].data() + row * H * dh, qws, d.p.data(), ps, nullptr,
                                                  out.data() + at, os);
                } else {
                    const int64_t ks[3] = {0, dh, int64_t(H) * dh};
                    const int64_t k0 = int64_t(first) * H * dh;
                    st = mla_relpos_attention_f32(MLA_DEVICE_CPU, nullptr, 1, H, s, n, dh, d.P, d.zero_row, n - s,
                                                  d.scale, d.queries[l].data() + row * H * D, qs, keys.data() + k0,
                                                  ks, d.values[size_t(l) * B + b].data() + k0, ks, d.p.data(), ps,
                                                  d.u.data(), d.w.data(), nullptr, out.data() + at, os);
                }
                if (status == MLA_OK) status = st;
            }
    });
    return status;
}

// Host memory for stream_through_caches; the CUDA checks pass device memory with the same members.
struct HostMemory {
    int device = MLA_DEVICE_CPU;
    void* stream = nullptr;
    std::vector<std::vector<float>> held;
    const float* put(const std::vector<float>& x) {  // a copy, like a device upload (moves keep the data pointer)
        held.push_back(x);
        return held.back().data();
    }
    float* buffer(size_t n) {
        held.emplace_back(n, NAN);
        return held.back().data();
    }
    void fetch(float* dst, const float* src, size_t n) { std::memcpy(dst, src, n * sizeof(float)); }
    void poison(float* x, size_t n) { std::fill(x, x + n, NAN); }
    void* workspace(int64_t) { return nullptr; }
};

// Streams every session of d through caches in mem: per step and layer, each session appends its chunk, then
// one attend covers all sessions. Outputs as stream_reference. splits: 0 = the plan's count. attend_ms: time
// spent in attend calls.
template <class Mem>
int stream_through_caches(const StreamData& d, Mem& mem, int splits, std::vector<float>& out, double& attend_ms) {
    const StreamCase& sc = d.sc;
    const int B = sc.sessions, H = sc.H, dh = sc.dh;
    const std::vector<int> r = d.latent_sizes();
    std::vector<mla_cache*> caches(B, nullptr);
    int status = MLA_OK;
    for (int b = 0; b < B && status == MLA_OK; ++b)
        status = d.latent() ? mla_latent_cache_create(&caches[b], mem.device, sc.layers, r.data(), sc.max_frames)
                            : mla_kv_cache_create(&caches[b], mem.device, sc.layers, H, dh, sc.max_frames);
    std::vector<const float*> keys, values, queries, qw_rows;
    for (size_t x = 0; x < d.keys.size(); ++x) {
        keys.push_back(mem.put(d.keys[x]));
        values.push_back(d.latent() ? nullptr : mem.put(d.values[x]));
    }
    for (int l = 0; l < sc.layers; ++l) {
        queries.push_back(mem.put(d.queries[l]));
        qw_rows.push_back(d.latent() ? mem.put(d.qw[l]) : nullptr);
    }
    const float* p = mem.put(d.p);
    const float* u = mem.put(d.u);
    const float* w = mem.put(d.w);
    float* z = mem.buffer(size_t(B) * H * sc.chunk * d.max_out_dim());
    const int64_t kv_strides[2] = {int64_t(H) * dh, dh};  // time, head of [T, H, dh]
    auto append = [&](mla_cache* cache, int l, int b, int f0, int frames) {
        const size_t x = size_t(l) * B + b;
        const int width = d.key_width(l);
        if (d.latent())
            return mla_latent_cache_append_f32(cache, mem.stream, l, frames, keys[x] + int64_t(f0) * width, width);
        return mla_kv_cache_append_f32(cache, mem.stream, l, frames, keys[x] + int64_t(f0) * width, kv_strides,
                                       values[x] + int64_t(f0) * width, kv_strides);
    };
    for (int l = 0; l < sc.layers && status == MLA_OK; ++l)
        for (int b = 1; b < B && status == MLA_OK; ++b)
            if (sc.preroll > 0) status = append(caches[b], l, b, 0, b * sc.preroll);

    out.clear();
    attend_ms = 0.0;
    const int64_t ps[2] = {int64_t(H) * dh, dh};
    for_each_chunk(sc, [&](int t0, int s) {
        for (int l = 0; l < sc.layers && status == MLA_OK; ++l) {
            for (int b = 0; b < B && status == MLA_OK; ++b) status = append(caches[b], l, b, b * sc.preroll + t0, s);
            if (status != MLA_OK) break;
            const int D = d.out_dim(l);  // this layer's r, or dh
            // Session b's chunk queries are rows b * (Tmax + preroll) + t0 .. : batch stride (Tmax + preroll) rows.
            const int64_t row = d.query_row(0, t0), batch_rows = int64_t(d.Tmax) + sc.preroll;
            const int64_t qs[3] = {batch_rows * H * D, D, int64_t(H) * D};
            const int64_t qws[3] = {batch_rows * H * dh, dh, int64_t(H) * dh};
            const int64_t zs[3] = {int64_t(H) * s * D, int64_t(s) * D, D};
            int n = splits;
            int64_t bytes = 0;
            status = mla_cache_attend_plan(caches.data(), B, l, H, s, &n, &bytes);
            if (status != MLA_OK) break;
            void* ws = mem.workspace(bytes);
            mem.poison(z, size_t(B) * H * s * D);  // NaN until written: a skipped output fails
            const double t = now_ms();
            if (d.latent())
                status = mla_latent_cache_attend_f32(mem.stream, n, ws, bytes, caches.data(), B, l, H, s, dh, d.P,
                                                     d.zero_row, d.scale, queries[l] + row * H * D, qs,
                                                     qw_rows[l] + row * H * dh, qws, p, ps, z, zs);
            else
                status = mla_kv_cache_attend_f32(mem.stream, n, ws, bytes, caches.data(), B, l, s, d.P, d.zero_row,
                                                 d.scale, queries[l] + row * H * D, qs, p, ps, u, w, z, zs);
            const size_t at = out.size();
            out.resize(at + size_t(B) * H * s * D);
            mem.fetch(out.data() + at, z, size_t(B) * H * s * D);
            attend_ms += now_ms() - t;
        }
    });
    // The positions the caches report.
    for (int b = 0; b < B && status == MLA_OK; ++b) {
        const int64_t total = d.total(b);
        const int frames = int(std::min<int64_t>(total, sc.max_frames));
        for (int l = 0; l < sc.layers; ++l)
            if (mla_cache_frames(caches[b], l) != frames || mla_cache_first_position(caches[b], l) != total - frames)
                status = MLA_ERR_INVALID_ARGUMENT;
    }
    for (mla_cache* c : caches) mla_cache_destroy(c);
    return status;
}

std::vector<StreamCase> stream_cases() {
    std::vector<StreamCase> cases;
    for (CacheKind kind : {CacheKind::Latent, CacheKind::KeyValue})
        for (int chunk : {1, 4, 16})
            for (int window : {0, 1}) {
                // window 0: the whole utterance fits; 1: a left context of 21 frames forces evictions
                const int frames = 90;
                const int max_frames = window == 0 ? frames : 21 + chunk;
                cases.push_back({window == 0 ? "full context" : "evicting", kind, 2, 3, 24, 40, frames, chunk,
                                 max_frames, 1, 0});
            }
    // Rings that grow as frames arrive (128 rows at first, doubling): past 128, 256 and 512 frames with windows
    // that never fill, and into eviction once the ring reaches max_frames (here at 300, not a power of two).
    for (CacheKind kind : {CacheKind::Latent, CacheKind::KeyValue}) {
        cases.push_back({"growing", kind, 2, 2, 8, 16, 600, 7, 4096, 1, 0});
        cases.push_back({"growing, evicting", kind, 2, 2, 8, 16, 700, 5, 300, 1, 0});
        // sessions of 0, 200 and 400 frames appended in one call each, then chunks: windows grow unevenly
        cases.push_back({"growing batch", kind, 1, 2, 8, 16, 150, 3, 500, 3, 200});
    }
    // Batches of sessions whose windows differ (prerolls, one longer than the window in one append), across
    // the kWindowsPerLaunch grouping (35 caches).
    cases.push_back({"batch", CacheKind::Latent, 1, 4, 16, 48, 30, 4, 40, 3, 29});
    cases.push_back({"batch", CacheKind::KeyValue, 1, 4, 16, 0, 30, 4, 40, 3, 29});
    cases.push_back({"batch of 35", CacheKind::Latent, 1, 2, 8, 16, 9, 3, 20, 35, 1});
    cases.push_back({"batch of 35", CacheKind::KeyValue, 1, 2, 8, 0, 9, 3, 20, 35, 1});
    // Layers of different latent sizes (per-layer rank allocation): every layer's ring at its own offset and
    // width, through growth past 128 rows, into eviction, and in a batch whose windows differ.
    const std::vector<int> mixed = {8, 24, 5};
    cases.push_back({"mixed r, growing", CacheKind::Latent, 3, 2, 8, 0, 300, 7, 4096, 1, 0, mixed});
    cases.push_back({"mixed r, growing, evicting", CacheKind::Latent, 3, 2, 8, 0, 400, 9, 200, 1, 0, mixed});
    cases.push_back({"mixed r, batch", CacheKind::Latent, 3, 2, 8, 0, 60, 4, 300, 3, 100, mixed});
    return cases;
}

// Streaming through CPU caches equals entry points 1 / 2 over the same windows.
void check_streaming_cpu(const char* variant) {
    Rng rng(4321);
    for (const StreamCase& sc : stream_cases()) {
        const StreamData d = make_stream(sc, rng);
        std::vector<float> ref, got;
        int status = stream_reference(d, ref);
        HostMemory mem;
        double ms = 0.0;
        if (status == MLA_OK) status = stream_through_caches(d, mem, 0, got, ms);
        report("cpu", sc.kind == CacheKind::Latent ? "lcache" : "kvcache", variant, describe(sc), status,
               max_abs_diff(got, ref), ms);
    }
}

// Reset forgets the frames (positions restart), a chunk longer than the window keeps its last frames, and the
// memory queries report per-frame and total bytes.
void check_cache_lifecycle() {
    Rng rng(11);
    const int r = 8, window = 5;
    mla_cache* c = nullptr;
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, 3, same_r(3, r).data(), window) == MLA_OK && c != nullptr,
           "latent cache created");
    expect(mla_cache_bytes_per_frame(c) == 3 * r * 4 && mla_cache_bytes(c) == 3 * r * 4 * window,
           "latent cache bytes: 4 * layers * r per frame");
    const std::vector<float> x = rng.fill(size_t(12) * r, 1.0f);
    expect(mla_cache_frames(c, 1) == 0 && mla_cache_first_position(c, 1) == 0, "a new cache is empty");
    expect(mla_latent_cache_append_f32(c, nullptr, 1, 12, x.data(), r) == MLA_OK, "append longer than the window");
    expect(mla_cache_frames(c, 1) == window && mla_cache_first_position(c, 1) == 12 - window,
           "a long chunk keeps its last frames and counts all of them");
    expect(mla_cache_frames(c, 0) == 0 && mla_cache_frames(c, 2) == 0, "layers count their own frames");
    expect(mla_cache_reset(c) == MLA_OK && mla_cache_frames(c, 1) == 0 && mla_cache_first_position(c, 1) == 0,
           "reset forgets every frame");
    mla_cache_destroy(c);
    c = nullptr;
    // The ring grows with the frames appended, not with max_frames: 128 rows at first, then doubling, capped.
    const int64_t per_frame = 2 * r * 4;
    const std::vector<float> y = rng.fill(size_t(300) * r, 1.0f);
    auto rows = [&] { return mla_cache_bytes(c) / per_frame; };
    auto append = [&](int layer, int frames) { return mla_latent_cache_append_f32(c, nullptr, layer, frames, y.data(), r); };
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, 2, same_r(2, r).data(), 1 << 30) == MLA_OK && rows() == 128,
           "a cache of 2^30 frames starts with 128 rows");
    expect(append(0, 100) == MLA_OK && rows() == 128, "100 frames fit in the first rows");
    expect(append(0, 29) == MLA_OK && rows() == 256, "frame 129 doubles the ring");
    expect(append(1, 300) == MLA_OK && rows() == 512, "300 frames at once double it again (256 -> 512 rows)");
    expect(mla_cache_frames(c, 0) == 129 && mla_cache_frames(c, 1) == 300, "growing keeps every layer's frames");
    mla_cache_destroy(c);
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, 2, same_r(2, r).data(), 200) == MLA_OK,
           "latent cache of 200 frames");
    expect(append(0, 300) == MLA_OK && rows() == 200 && mla_cache_frames(c, 0) == 200 &&
               mla_cache_first_position(c, 0) == 100,
           "growth stops at max_frames");
    mla_cache_destroy(c);
    c = nullptr;
    expect(mla_kv_cache_create(&c, MLA_DEVICE_CPU, 24, 16, 64, 10) == MLA_OK, "K/V cache created");
    expect(mla_cache_bytes_per_frame(c) == 24 * 2 * 1024 * 4, "K/V cache bytes: 4 * layers * 2*H*dh per frame");
    mla_cache_destroy(c);
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, 24, same_r(24, 512).data(), 10) == MLA_OK &&
               mla_cache_bytes_per_frame(c) == 24 * 512 * 4,
           "flagship latent cache is 4x smaller per frame than K/V at r = d/2");
    mla_cache_destroy(c);
    std::printf("cpu  cache   reset, long chunks, growth, byte counts: %s\n", g_failures == 0 ? "ok" : "FAIL");
}

// Bad cache arguments come back as status codes.
void check_cache_arguments() {
    Rng rng(13);
    const int H = 2, dh = 8, r = 16, window = 6;
    mla_cache *lat = nullptr, *kv = nullptr, *other = nullptr, *none = nullptr;
    const std::vector<int> r1 = same_r(1, r), r2 = same_r(2, r), r2_other = same_r(2, r + 1);
    expect(mla_latent_cache_create(nullptr, MLA_DEVICE_CPU, 1, r1.data(), window) == MLA_ERR_INVALID_ARGUMENT,
           "create without out pointer");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 0, r1.data(), window) == MLA_ERR_INVALID_ARGUMENT &&
               none == nullptr,
           "create with 0 layers");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 1, same_r(1, 0).data(), window) == MLA_ERR_INVALID_ARGUMENT,
           "create with r = 0");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 1, r1.data(), 0) == MLA_ERR_INVALID_ARGUMENT,
           "create with max_frames = 0");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 1, r1.data(), (1 << 30) + 1) == MLA_ERR_INVALID_ARGUMENT,
           "create with max_frames > 2^30");
    expect(mla_kv_cache_create(&none, 7, 1, H, dh, window) == MLA_ERR_INVALID_ARGUMENT, "create on an unknown device");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 1 << 20, same_r(1 << 20, 1 << 20).data(), 1 << 20) ==
                   MLA_ERR_OUT_OF_MEMORY &&
               none == nullptr,
           "create beyond memory is MLA_ERR_OUT_OF_MEMORY");
    expect(mla_latent_cache_create(&lat, MLA_DEVICE_CPU, 2, r2.data(), window) == MLA_OK, "latent create");
    expect(mla_kv_cache_create(&kv, MLA_DEVICE_CPU, 2, H, dh, window) == MLA_OK, "K/V create");
    expect(mla_latent_cache_create(&other, MLA_DEVICE_CPU, 2, r2_other.data(), window) == MLA_OK,
           "second latent create");

    const std::vector<float> c = rng.fill(size_t(window) * r, 1.0f), k = rng.fill(size_t(window) * H * dh, 1.0f);
    const int64_t kvs[2] = {int64_t(H) * dh, dh}, bad_kvs[2] = {-1, dh};
    expect(mla_latent_cache_append_f32(kv, nullptr, 0, 1, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "latent append to a K/V cache");
    expect(mla_kv_cache_append_f32(lat, nullptr, 0, 1, k.data(), kvs, k.data(), kvs) == MLA_ERR_INVALID_ARGUMENT,
           "K/V append to a latent cache");
    expect(mla_latent_cache_append_f32(lat, nullptr, 2, 1, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "append to layer 2 of 2");
    expect(mla_latent_cache_append_f32(lat, nullptr, -1, 1, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "append to layer -1");
    expect(mla_latent_cache_append_f32(lat, nullptr, 0, 0, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "append of 0 frames");
    expect(mla_latent_cache_append_f32(lat, nullptr, 0, 1, nullptr, r) == MLA_ERR_INVALID_ARGUMENT, "append of null");
    expect(mla_latent_cache_append_f32(lat, nullptr, 0, 1, c.data(), -r) == MLA_ERR_INVALID_ARGUMENT, "negative stride");
    expect(mla_kv_cache_append_f32(kv, nullptr, 0, 1, k.data(), bad_kvs, k.data(), kvs) == MLA_ERR_INVALID_ARGUMENT,
           "negative K stride");
    expect(mla_latent_cache_append_f32(nullptr, nullptr, 0, 1, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "append to NULL");
    expect(mla_cache_frames(lat, 0) == 0 && mla_cache_frames(lat, 2) == -1 && mla_cache_frames(nullptr, 0) == -1,
           "failed appends add nothing; bad layers give -1");
    expect(mla_cache_bytes(nullptr) == -1 && mla_cache_bytes_per_frame(nullptr) == -1 &&
               mla_cache_first_position(nullptr, 0) == -1,
           "queries of NULL give -1");

    // A latent attend of 3 queries over 4 frames.
    const int Tq = 3, frames = 4, P = window + Tq, zero_row = window - 1;
    for (mla_cache* x : {lat, other}) expect(mla_latent_cache_append_f32(x, nullptr, 0, frames, c.data(), 0) == MLA_OK, "append");
    const std::vector<float> qa = rng.fill(size_t(H) * Tq * r, 0.5f), qw = rng.fill(size_t(H) * Tq * dh, 1.0f);
    const std::vector<float> p = rng.fill(size_t(P) * H * dh, 1.0f);
    std::vector<float> z(size_t(H) * Tq * r);
    const int64_t qas[3] = {int64_t(H) * Tq * r, int64_t(Tq) * r, r}, qws[3] = {int64_t(H) * Tq * dh, int64_t(Tq) * dh, dh};
    const int64_t ps[2] = {int64_t(H) * dh, dh};
    int64_t zs[3] = {qas[0], qas[1], qas[2]};
    mla_cache* one[1] = {lat};
    auto attend = [&](mla_cache* const* cs, int B, int layer, int tq, int np, int zr, float scale, int splits) {
        return mla_latent_cache_attend_f32(nullptr, splits, nullptr, 0, cs, B, layer, H, tq, dh, np, zr, scale,
                                           qa.data(), qas, qw.data(), qws, p.data(), ps, z.data(), zs);
    };
    expect(attend(one, 1, 0, Tq, P, zero_row, 0.3f, 1) == MLA_OK, "valid latent cache attend");
    expect(attend(one, 1, 0, Tq, P - 1, zero_row, 0.3f, 1) == MLA_OK, "p rows beyond the window are not needed");
    expect(attend(one, 1, 0, Tq, zero_row + Tq - 1, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT,
           "p without the row for delta = -(Tq-1)");
    expect(attend(one, 1, 0, Tq, P, frames - 2, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT,
           "zero_row without the row for delta = frames-1");
    expect(attend(one, 1, 0, frames + 1, P + 2, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT,
           "more queries than frames in the window");
    expect(attend(one, 1, 1, 1, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "attend over an empty layer");
    expect(attend(one, 1, 2, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "attend layer out of range");
    expect(attend(one, 0, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "attend B = 0");
    expect(attend(nullptr, 1, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "attend without caches");
    expect(attend(one, 1, 0, Tq, P, zero_row, NAN, 1) == MLA_ERR_INVALID_ARGUMENT, "attend NaN scale");
    expect(attend(one, 1, 0, Tq, P, zero_row, 0.3f, 0) == MLA_ERR_INVALID_ARGUMENT, "attend num_splits 0");
    mla_cache* mixed[2] = {lat, other};
    expect(attend(mixed, 2, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "caches of different r");
    mla_cache* kinds[2] = {lat, kv};
    expect(attend(kinds, 2, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "caches of different kinds");
    mla_cache* with_null[2] = {lat, nullptr};
    expect(attend(with_null, 2, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "a NULL cache in the batch");
    zs[2] = 0;
    expect(attend(one, 1, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "output stride 0");
    zs[2] = r;
    mla_cache* kv1[1] = {kv};
    expect(attend(kv1, 1, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "latent attend over a K/V cache");
    std::vector<float> q(size_t(H) * Tq * dh), out(q.size()), uw(size_t(H) * dh, 0.1f);
    expect(mla_kv_cache_append_f32(kv, nullptr, 0, frames, k.data(), kvs, k.data(), kvs) == MLA_OK, "K/V append");
    expect(mla_kv_cache_attend_f32(nullptr, 1, nullptr, 0, kv1, 1, 0, Tq, P, zero_row, 0.3f, q.data(), qws, p.data(), ps,
                                   uw.data(), uw.data(), out.data(), qws) == MLA_OK,
           "valid K/V cache attend");
    expect(mla_kv_cache_attend_f32(nullptr, 1, nullptr, 0, kv1, 1, 0, Tq, P, zero_row, 0.3f, q.data(), qws, p.data(), ps,
                                   nullptr, uw.data(), out.data(), qws) == MLA_ERR_INVALID_ARGUMENT,
           "K/V cache attend without u");
    expect(mla_kv_cache_attend_f32(nullptr, 1, nullptr, 0, one, 1, 0, Tq, P, zero_row, 0.3f, q.data(), qws, p.data(), ps,
                                   uw.data(), uw.data(), out.data(), qws) == MLA_ERR_INVALID_ARGUMENT,
           "K/V attend over a latent cache");
    int splits = 0;
    int64_t bytes = -1;
    expect(mla_cache_attend_plan(one, 1, 0, H, Tq, &splits, &bytes) == MLA_OK && splits == 1 && bytes == 0,
           "CPU plan: one split, no workspace");
    splits = 0;
    expect(mla_cache_attend_plan(kv1, 1, 0, H + 1, Tq, &splits, &bytes) == MLA_ERR_INVALID_ARGUMENT,
           "plan with the wrong head count for a K/V cache");
    expect(mla_cache_attend_plan(one, 1, 0, H, frames + 1, &splits, &bytes) == MLA_ERR_INVALID_ARGUMENT,
           "plan with more queries than frames");
    expect(mla_cache_reset(nullptr) == MLA_ERR_INVALID_ARGUMENT && mla_cache_destroy(nullptr) == MLA_OK,
           "reset(NULL) is an error, destroy(NULL) is not");
    for (mla_cache* x : {lat, kv, other}) mla_cache_destroy(x);
    std::printf("cpu  cache   checked status codes of bad cache arguments: %s\n", g_failures == 0 ? "ok" : "FAIL");
}

// Layers of different latent sizes (per-layer rank allocation): create checks every r[l], the byte counts sum
// the layers' sizes, each layer's window attends like entry point 2 over its frames (r = that layer's r) after
// growth past 128 rows and after eviction, and a batch attend needs its caches to agree on the attended layer's
// r. (The "mixed r" stream cases also stream such caches chunk by chunk, in batches.)
void check_cache_mixed_sizes() {
    Rng rng(17);
    const int H = 2, dh = 8, layers = 3, window = 300, max_tq = 4;
    const std::vector<int> r = {8, 24, 5}, r_other = {8, 16, 5};  // r_other differs in layer 1 only
    const int64_t per_frame = 4 * (8 + 24 + 5);
    mla_cache *c = nullptr, *other = nullptr, *none = nullptr;
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, layers, nullptr, window) == MLA_ERR_INVALID_ARGUMENT &&
               none == nullptr,
           "create with r = NULL");
    for (int bad : {0, -3}) {
        const std::vector<int> r_bad = {8, bad, 5};
        expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, layers, r_bad.data(), window) ==
                       MLA_ERR_INVALID_ARGUMENT &&
                   none == nullptr,
               "create with r[1] < 1");
    }
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, layers, r.data(), window) == MLA_OK && c != nullptr,
           "latent cache of r = 8, 24, 5 created");
    expect(mla_cache_bytes_per_frame(c) == per_frame && mla_cache_bytes(c) == per_frame * 128,
           "mixed r cache bytes: 4 * (8 + 24 + 5) per frame, 128 rows at first");

    // Frame f of layer l: x[l][f * r_l ..]. P rows cover delta in [-(max_tq-1), window-1].
    const int total = 380, zero_row = window - 1 + max_tq, P = zero_row + max_tq;
    std::vector<std::vector<float>> x;
    for (int l = 0; l < layers; ++l) x.push_back(rng.fill(size_t(total) * r[size_t(l)], 1.0f));
    // queries for up to 2 caches: qa [2,H,Tq,r_l] (r_l <= 24), qw [2,H,max_tq,dh]
    const std::vector<float> qa = rng.fill(size_t(2) * H * max_tq * 24, 0.5f);
    const std::vector<float> qw = rng.fill(size_t(2) * H * max_tq * dh, 1.0f);
    const std::vector<float> p = rng.fill(size_t(P) * H * dh, 1.0f);
    const int64_t ps[2] = {int64_t(H) * dh, dh}, qws[3] = {int64_t(H) * max_tq * dh, int64_t(max_tq) * dh, dh};
    const float scale = 0.3f;
    std::vector<float> z, ref;
    // Tq queries of layer l ([1,H,Tq,r_l], contiguous) over the caches' windows into z.
    auto attend = [&](mla_cache* const* cs, int B, int l, int Tq) {
        const int64_t rl = r[size_t(l)], qas[3] = {H * Tq * rl, Tq * rl, rl};
        z.assign(size_t(B) * H * Tq * rl, NAN);
        return mla_latent_cache_attend_f32(nullptr, 1, nullptr, 0, cs, B, l, H, Tq, dh, P, zero_row, scale,
                                           qa.data(), qas, qw.data(), qws, p.data(), ps, z.data(), qas);
    };
    // Every layer of c attended against entry point 2 over the same frames, taken from x.
    auto check_layers = [&](const char* when) {
        for (int l = 0; l < layers; ++l) {
            const int rl = r[size_t(l)], n = mla_cache_frames(c, l), Tq = std::min(max_tq, n);
            const int64_t first = mla_cache_first_position(c, l);
            const int64_t qas[3] = {int64_t(H) * Tq * rl, int64_t(Tq) * rl, rl}, cs[2] = {0, rl};
            mla_cache* one[1] = {c};
            int status = attend(one, 1, l, Tq);
            ref.assign(z.size(), NAN);
            const int st = mla_latent_attention_f32(MLA_DEVICE_CPU, nullptr, 1, H, Tq, n, rl, dh, P, zero_row, n - Tq,
                                                    scale, qa.data(), qas, x[size_t(l)].data() + first * rl, cs,
                                                    qw.data(), qws, p.data(), ps, nullptr, ref.data(), qas);
            if (status == MLA_OK) status = st;
            char what[96];
            std::snprintf(what, sizeof what, "mixed r: layer %d of r=8/24/5 (r=%d, %d frames) %s", l, rl, n, when);
            report("cpu", "lcache", "mixed r", what, status, max_abs_diff(z, ref), 0.0);
        }
    };
    // Layers at different lengths; 129 frames in layer 1 grow every layer's ring to 256 rows.
    auto append = [&](int l, int64_t from, int frames) {
        const int rl = r[size_t(l)];
        return mla_latent_cache_append_f32(c, nullptr, l, frames, x[size_t(l)].data() + from * rl, rl);
    };
    expect(append(0, 0, 100) == MLA_OK && append(2, 0, 7) == MLA_OK && append(1, 0, 129) == MLA_OK,
           "appends to layers of r = 8, 24, 5");
    expect(mla_cache_bytes(c) == per_frame * 256 && mla_cache_frames(c, 0) == 100 && mla_cache_frames(c, 1) == 129 &&
               mla_cache_frames(c, 2) == 7,
           "growth keeps every layer's frames");
    check_layers("grown to 256 rows");
    // Every layer to 380 frames, in chunks of 90: the ring reaches max_frames = 300 and evicts.
    for (int l = 0; l < layers; ++l)
        for (int n = mla_cache_frames(c, l); n < total; n += 90)
            expect(append(l, n, std::min(90, total - n)) == MLA_OK, "append up to 380 frames");
    expect(mla_cache_bytes(c) == per_frame * window && mla_cache_frames(c, 1) == window &&
               mla_cache_first_position(c, 1) == total - window,
           "growth stops at max_frames, then the oldest frames go");
    check_layers("evicting, window 300");

    // A batch of c and a cache that differs in layer 1 only: layers 0 and 2 attend, layer 1 is refused.
    expect(mla_latent_cache_create(&other, MLA_DEVICE_CPU, layers, r_other.data(), window) == MLA_OK,
           "latent cache of r = 8, 16, 5 created");
    for (int l = 0; l < layers; ++l)
        expect(mla_latent_cache_append_f32(other, nullptr, l, 10, x[size_t(l)].data(), r_other[size_t(l)]) == MLA_OK,
               "append to the other cache");
    mla_cache* batch[2] = {c, other};
    int splits = 0;
    int64_t bytes = 0;
    expect(attend(batch, 2, 0, 2) == MLA_OK && attend(batch, 2, 2, 2) == MLA_OK,
           "batch of caches alike in the attended layer (other layers' r differ)");
    expect(attend(batch, 2, 1, 2) == MLA_ERR_INVALID_ARGUMENT, "batch of caches of different r in the attended layer");
    expect(mla_cache_attend_plan(batch, 2, 1, H, 2, &splits, &bytes) == MLA_ERR_INVALID_ARGUMENT,
           "plan over caches of different r in the attended layer");
    splits = 0;
    expect(mla_cache_attend_plan(batch, 2, 0, H, 2, &splits, &bytes) == MLA_OK, "plan over caches alike in the layer");
    mla_cache_destroy(c);
    mla_cache_destroy(other);
    std::printf("cpu  cache   layers of different r: arguments, bytes, growth, eviction, batches: %s\n",
                g_failures == 0 ? "ok" : "FAIL");
}

// ---------------------------------------------------------------------------------------------
// 16-bit element types (MLA_BF16, MLA_F16).

// The nearest value of the 16-bit type to x, found by search among all of them (not by the bit tricks of
// half_precision.h): ties go to the even bit pattern, and past the largest finite value m the next value is taken to
// be m + ulp(m), whose pattern is infinity's (IEEE overflow: at or beyond m + ulp(m)/2, infinity). NaN: 0x7fff.
uint16_t nearest_by_search(const HalfType& t, float x) {
    if (std::isnan(x)) return mla::kHalfNaN;
    const uint16_t inf = t.dtype == MLA_BF16 ? 0x7f80 : 0x7c00, sign = std::signbit(x) ? 0x8000 : 0;
    auto value = [&](uint32_t h) {  // non-negative patterns 0 .. inf are increasing
        if (h < inf) return double(t.widen(uint16_t(h)));
        const double m = t.widen(inf - 1);
        return m + (m - double(t.widen(inf - 2)));
    };
    const double a = std::fabs(double(x));
    if (a >= value(inf)) return sign | inf;
    uint32_t lo = 0, hi = inf;  // value(lo) <= a < value(hi)
    while (hi - lo > 1) {
        const uint32_t mid = (lo + hi) / 2;
        (value(mid) <= a ? lo : hi) = mid;
    }
    const double below = a - value(lo), above = value(hi) - a;
    const uint32_t h = below < above || (below == above && lo % 2 == 0) ? lo : hi;
    return uint16_t(sign | h);
}

// half_precision.h (the CPU's conversions, and the emulated GPU's): every 16-bit value widens to a float that narrows
// back to it (NaNs to NaN, 0x7fff); floats narrow to nearest_by_search at the midpoints between neighbouring 16-bit
// values and the floats either side of them (where rounding decides), at the overflow threshold, and at 2^20 random
// bit patterns. Where the CUDA toolkit is at hand, its own host conversions (the GPU's rounding) must agree too.
void check_conversions() {
    Rng rng(2);
    for (const HalfType& t : kHalfTypes) {
        int wrong = 0;
        for (uint32_t h = 0; h < 0x10000; ++h) {
            const float x = t.widen(uint16_t(h));
            const bool nan = (h & 0x7fff) > (t.dtype == MLA_BF16 ? 0x7f80u : 0x7c00u);
            if (nan ? !std::isnan(x) || t.narrow(x) != mla::kHalfNaN : t.narrow(x) != h) ++wrong;
        }
        std::vector<float> xs;
        for (uint32_t h = 0; h + 1 < 0x7fff; ++h) {
            const float a = t.widen(uint16_t(h)), b = t.widen(uint16_t(h + 1));
            if (!std::isfinite(a) || std::isnan(b)) continue;
            const float mid = float((double(a) + double(std::isinf(b) ? a + (a - t.widen(uint16_t(h - 1))) : b)) / 2);
            for (float y : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY)}) {
                xs.push_back(y);
                xs.push_back(-y);
            }
        }
        for (int i = 0; i < (1 << 20); ++i) xs.push_back(mla::bits_float(uint32_t(rng.next())));
        for (float x : xs)
            if (t.narrow(x) != nearest_by_search(t, x)) ++wrong;
#if defined(MHA2MLA_WITH_CUDA) && !defined(MHA2MLA_CUDA_EMULATION)
        auto cuda_narrow = [&](float x) {
            uint16_t h;
            if (t.dtype == MLA_BF16) {
                const __nv_bfloat16 y = __float2bfloat16_rn(x);
                std::memcpy(&h, &y, 2);
            } else {
                const __half y = __float2half_rn(x);
                std::memcpy(&h, &y, 2);
            }
            return h;
        };
        for (float x : xs)
            if (t.narrow(x) != cuda_narrow(x)) ++wrong;
        const char* against = "search and CUDA's conversions";
#else
        const char* against = "search";
#endif
        std::printf("cpu  convert %-9s %zu floats and every 16-bit value against %s: %d wrong  %s\n", t.name,
                    xs.size(), against, wrong, wrong == 0 ? "ok" : "FAIL");
        if (wrong != 0) ++g_failures;
    }
}

// The CPU's 16-bit entry points are, by definition (mha2mla.h), the float32 kernel on the 16-bit values widened,
// its output rounded once: checked against exactly that, through the float32 entry points on the widened inputs
// and the test's own rounding. The twin runs the same float32 kernel on dense copies, so 0 ulp is expected; 1 ulp
// (of the 16-bit type at the element's magnitude) is allowed. Entry point 2b on the CPU ignores its splits.
void check_half_cpu(const std::vector<Problem>& rel, const std::vector<Problem>& lat) {
    auto check = [](const HalfType& t, const Problem& pb, bool latent, int splits) {
        const Problem16 h = to_half(t, pb);
        std::vector<float> wide;
        std::vector<uint16_t> out;
        const Buffers wx = host_buffers(h.wide, wide);
        const Buffers16 x = host_buffers(h, out);
        int status = latent ? call_latent(MLA_DEVICE_CPU, nullptr, h.wide, wx) : call_relpos(MLA_DEVICE_CPU, nullptr, h.wide, wx);
        double ms = 0.0;
        if (status == MLA_OK)
            status = warm_then_time([&] {
                return latent ? call_latent(t, MLA_DEVICE_CPU, nullptr, h.wide, x, splits)
                              : call_relpos(t, MLA_DEVICE_CPU, nullptr, h.wide, x);
            }, out, ms);
        const std::string tag = std::string(t.name) + (splits == 0 ? "" : " split");
        report("cpu", latent ? "latent" : "relpos", tag.c_str(), std::string(pb.shape.name) + ": " + describe(pb.shape, latent),
               status, ulps_apart(t, out, narrow_all(t, wide), 0.0), ms, 1.0, true);
    };
    for (const HalfType& t : kHalfTypes) {
        for (const Problem& pb : rel) check(t, pb, false, 0);
        for (const Problem& pb : lat)
            for (int splits : {0, 3}) check(t, pb, true, splits);
    }
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
    check_conversions();
    check_half_cpu(rel, lat);
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

    check_cache_arguments();
    check_cache_lifecycle();
    check_cache_mixed_sizes();
    for (const char* isa : {"avx512f", "avx2", "baseline"})
        if (mla_set_cpu_isa(isa) == MLA_OK) check_streaming_cpu(isa);
    mla_set_cpu_isa(nullptr);
    for (int threads : {1, 3}) {
        mla_set_num_threads(threads);
        check_streaming_cpu(("threads=" + std::to_string(threads)).c_str());
    }
    mla_set_num_threads(0);
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

// Device copies of a Problem's (T = float) or a Problem16's (T = uint16_t) inputs, and an output poisoned with NaN.
template <class T>
struct DeviceProblemOf {
    BuffersOf<T> x{};
    std::vector<void*> owned;
    template <class Inputs>
    explicit DeviceProblemOf(const Inputs& pb) {
        x.q = keep(to_device(pb.q));
        x.k = keep(to_device(pb.k));
        x.v = keep(to_device(pb.v));
        x.p = keep(to_device(pb.p));
        x.u = keep(to_device(pb.u));
        x.w = keep(to_device(pb.w));
        x.lengths = keep(to_device(pb.shape.lengths));
        x.out = keep(to_device(std::vector<T>(pb.out_size, poison<T>())));
    }
    template <class U> U* keep(U* p) {
        owned.push_back(const_cast<void*>(static_cast<const void*>(p)));
        return p;
    }
    std::vector<T> output(size_t n) const {
        std::vector<T> y(n);
        cudaMemcpy(y.data(), x.out, n * sizeof(T), cudaMemcpyDeviceToHost);
        return y;
    }
    ~DeviceProblemOf() {
        for (void* p : owned) cudaFree(p);
    }
};
using DeviceProblem = DeviceProblemOf<float>;

// Device memory for stream_through_caches.
struct DeviceMemory {
    int device = MLA_DEVICE_CUDA;
    void* stream = nullptr;
    std::vector<void*> owned;
    void* ws = nullptr;
    int64_t ws_bytes = 0;
    const float* put(const std::vector<float>& x) { return keep(to_device(x)); }
    float* buffer(size_t n) { return keep(to_device(std::vector<float>(n, NAN))); }
    void fetch(float* dst, const float* src, size_t n) {
        cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
        cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost);
    }
    void poison(float* x, size_t n) { cudaMemsetAsync(x, 0xff, n * sizeof(float), static_cast<cudaStream_t>(stream)); }
    void* workspace(int64_t bytes) {  // grow-only, like a caller's
        if (bytes > ws_bytes) {
            cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
            cudaFree(ws);
            ws = nullptr;
            ws_bytes = cudaMalloc(&ws, size_t(bytes)) == cudaSuccess ? bytes : 0;
        }
        return bytes > 0 ? ws : nullptr;
    }
    float* keep(float* p) {
        owned.push_back(p);
        return p;
    }
    DeviceMemory() = default;
    DeviceMemory(const DeviceMemory&) = delete;
    ~DeviceMemory() {
        for (void* p : owned) cudaFree(p);
        cudaFree(ws);
    }
};

// Streaming cases for the CUDA checks: small ones where the kernels are emulated, and on a GPU also the
// flagship sizes (H = 16, dh = 64, r = 512) where the planned key splits exceed one.
std::vector<StreamCase> cuda_stream_cases() {
#ifdef MHA2MLA_CUDA_EMULATION
    // Emulated blocks are slow: few steps, each case reaching a different kernel instantiation or path (ring
    // wrap with chunk 1, dh up to 128, r > 512, a batch with windows of different lengths, two launch groups).
    std::vector<StreamCase> cases;
    for (CacheKind kind : {CacheKind::Latent, CacheKind::KeyValue}) {
        cases.push_back({"evicting", kind, 1, 3, 24, 40, 8, 1, 3, 1, 0});
        cases.push_back({"full context dh=100", kind, 1, 2, 100, 72, 8, 4, 8, 1, 0});
        cases.push_back({"evicting r=600", kind, 1, 2, 40, 600, 20, 16, 17, 1, 0});
        cases.push_back({"batch", kind, 1, 4, 16, 48, 4, 4, 9, 3, 5});
    }
    cases.push_back({"batch of 35", CacheKind::Latent, 1, 2, 8, 16, 2, 2, 4, 35, 1});
    // Layers of r = 8, 24, 5 (each its own offset and width in the ring): session 1's 125 + 2 + 2 frames grow
    // the ring past 128 rows (the copy kernel moves 127 frames of each layer), and its last chunk evicts.
    cases.push_back({"mixed r, growing batch", CacheKind::Latent, 3, 1, 8, 0, 6, 2, 129, 2, 125, {8, 24, 5}});
    return cases;
#else
    std::vector<StreamCase> cases = stream_cases();
    for (CacheKind kind : {CacheKind::Latent, CacheKind::KeyValue}) {
        cases.push_back({"flagship", kind, 1, 16, 64, 512, 600, 1, 600, 1, 0});
        cases.push_back({"flagship evicting", kind, 1, 16, 64, 512, 400, 16, 272, 1, 0});
        cases.push_back({"flagship batch 8", kind, 1, 16, 64, 512, 48, 8, 400, 8, 45});
    }
    // Per-layer ranks across the latent kernel's r instantiations (<= 128, <= 512, <= 1024), with key splits.
    cases.push_back({"mixed r flagship batch 4", CacheKind::Latent, 3, 16, 64, 0, 200, 8, 272, 4, 40, {512, 96, 1000}});
    return cases;
#endif
}

constexpr int kWindowsPerLaunchInTests = 32;  // caches per kernel launch (mla::kWindowsPerLaunch)

// Streaming through CUDA caches equals streaming through CPU caches, with planned and with 3 key splits.
void check_streaming_cuda(cudaStream_t stream) {
    Rng rng(777);
    for (const StreamCase& sc : cuda_stream_cases()) {
        const StreamData d = make_stream(sc, rng);
        std::vector<float> cpu, gpu;
        HostMemory host;
        double ms = 0.0;
        const int status = stream_through_caches(d, host, 0, cpu, ms);
        for (int splits : {0, 3}) {
#ifdef MHA2MLA_CUDA_EMULATION
            if (splits == 3 && sc.sessions > kWindowsPerLaunchInTests) continue;  // slow; the split path is covered
#endif
            DeviceMemory dev;
            dev.stream = stream;
            int st = status;
            if (st == MLA_OK) st = stream_through_caches(d, dev, splits, gpu, ms);
            report("cuda", sc.kind == CacheKind::Latent ? "lcache" : "kvcache", splits == 0 ? "planned" : "splits=3",
                   describe(sc), st, max_abs_diff(gpu, cpu), ms);
        }
    }
    // A CUDA cache is attended only with CUDA caches; appends and attends check their arguments as on the CPU.
    mla_cache *gpu = nullptr, *cpu = nullptr;
    const std::vector<int> r8 = same_r(1, 8);
    expect(mla_latent_cache_create(&gpu, MLA_DEVICE_CUDA, 1, r8.data(), 4) == MLA_OK, "CUDA latent cache created");
    expect(mla_latent_cache_create(&cpu, MLA_DEVICE_CPU, 1, r8.data(), 4) == MLA_OK, "CPU latent cache created");
    DeviceMemory dev;
    dev.stream = stream;
    const float* c = dev.put(std::vector<float>(32, 0.5f));
    expect(mla_latent_cache_append_f32(gpu, stream, 0, 4, c, 8) == MLA_OK, "CUDA append");
    expect(mla_latent_cache_append_f32(cpu, nullptr, 0, 4, std::vector<float>(32, 0.5f).data(), 8) == MLA_OK, "CPU append");
    mla_cache* mixed[2] = {gpu, cpu};
    int splits = 0;
    int64_t bytes = 0;
    expect(mla_cache_attend_plan(mixed, 2, 0, 2, 1, &splits, &bytes) == MLA_ERR_INVALID_ARGUMENT,
           "CPU and CUDA caches in one batch are rejected");
    splits = 5;
    expect(mla_cache_attend_plan(mixed, 1, 0, 2, 1, &splits, &bytes) == MLA_OK && splits == 5 && bytes > 0,
           "a plan for a given split count sizes its workspace");
    const float* q = dev.put(std::vector<float>(64, 0.1f));
    float* z = dev.buffer(16);
    const int64_t qs[3] = {16, 8, 8}, ps[2] = {8, 4};
    expect(mla_latent_cache_attend_f32(stream, 5, nullptr, 0, mixed, 1, 0, 2, 1, 4, 8, 4, 0.5f, q, qs, q, qs, q, ps, z,
                                       qs) == MLA_ERR_INVALID_ARGUMENT,
           "CUDA split attend without workspace is rejected");
    cudaStreamSynchronize(stream);
    mla_cache_destroy(gpu);
    mla_cache_destroy(cpu);
}

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

// Each CUDA 16-bit entry point against its CPU twin on the same 16-bit inputs. Both widen the same values exactly,
// compute in float32 and round once; they differ only in the order of the float32 sums (and the GPU's exp2f against
// the CPU's exp), which moves a result by about 1e-6 of the values averaged (|v|, |c| <= 1 here), so the two
// roundings can land either side of a rounding point: 1 ulp, plus that float32 difference. Allowed: kHalfCudaUlps
// ulps of the 16-bit type at the element's magnitude, magnitudes below kHalfFloor counted as kHalfFloor (near zero
// an ulp shrinks below the float32 difference; at 2^-8 an fp16 ulp, 2^-18, is still several times it).
constexpr double kHalfCudaUlps = 2.0;
constexpr double kHalfFloor = 1.0 / 256;

void check_half_cuda(cudaStream_t stream, Rng& rng) {
    for (const HalfType& t : kHalfTypes) {
        for (const Shape& s : cuda_relpos_shapes()) {
            const Problem16 h = to_half(t, make_relpos(s, rng));
            std::vector<uint16_t> cpu;
            int status = call_relpos(t, MLA_DEVICE_CPU, nullptr, h.wide, host_buffers(h, cpu));
            const DeviceProblemOf<uint16_t> dev(h);
            double ms = 0.0;
            if (status == MLA_OK)
                status = time_cuda(stream, [&] { return call_relpos(t, MLA_DEVICE_CUDA, stream, h.wide, dev.x); }, ms);
            report("cuda", "relpos", t.name, std::string(s.name) + ": " + describe(s, false), status,
                   ulps_apart(t, dev.output(h.out_size), cpu, kHalfFloor), ms, kHalfCudaUlps, true);
        }
        for (const Shape& s : cuda_latent_shapes()) {
            const Problem16 h = to_half(t, make_latent(s, rng));
            std::vector<uint16_t> cpu;
            const int status = call_latent(t, MLA_DEVICE_CPU, nullptr, h.wide, host_buffers(h, cpu));
            const DeviceProblemOf<uint16_t> dev(h);
            for (int splits : {0, 3}) {  // entry point 2, and 2b whose split merge writes the 16-bit z
                const int64_t bytes = mla_latent_attention_workspace_bytes(s.B, s.H, s.Tq, s.dim, std::max(splits, 1));
                void* ws = nullptr;
                if (bytes > 0 && cudaMalloc(&ws, size_t(bytes)) != cudaSuccess) ws = nullptr;
                cudaMemset(dev.x.out, 0xff, h.out_size * sizeof(uint16_t));  // NaN until written
                double ms = 0.0;
                int st = status;
                if (st == MLA_OK)
                    st = time_cuda(stream, [&] { return call_latent(t, MLA_DEVICE_CUDA, stream, h.wide, dev.x, splits, ws, bytes); }, ms);
                const std::string tag = std::string(t.name) + (splits == 0 ? "" : " splits=3");
                report("cuda", "latent", tag.c_str(), std::string(s.name) + ": " + describe(s, true), st,
                       ulps_apart(t, dev.output(h.out_size), cpu, kHalfFloor), ms, kHalfCudaUlps, true);
                cudaFree(ws);
            }
        }
    }
}

int run_cuda_checks() {
    const int devices = mla_cuda_device_count();
    if (devices == 0) {
        std::printf("CUDA checks skipped: built with CUDA, but no GPU or driver is present\n");
        g_cuda_skipped = true;
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
    check_half_cuda(stream, rng);
    check_streaming_cuda(stream);
    // Limits and bad arguments on the device path.
    {
        Shape s{"dh=200", 1, 1, 3, 3, 200, 200, 0, {}};
        const Problem pb = make_relpos(s, rng);
        const DeviceProblem dev(pb);
        expect(call_relpos(MLA_DEVICE_CUDA, stream, pb, dev.x) == MLA_ERR_UNSUPPORTED, "CUDA relpos dh > 128 is unsupported");
        const Problem16 h = to_half(kHalfTypes[0], pb);
        const DeviceProblemOf<uint16_t> dh(h);
        expect(call_relpos(kHalfTypes[0], MLA_DEVICE_CUDA, stream, h.wide, dh.x) == MLA_ERR_UNSUPPORTED,
               "CUDA bf16 relpos dh > 128 is unsupported");
        Shape l{"split ws", 1, 4, 1, 300, 64, 64, 299, {}};
        const Problem lb = make_latent(l, rng);
        const DeviceProblem dl(lb);
        expect(call_latent(MLA_DEVICE_CUDA, stream, lb, dl.x, 4, nullptr, 0) == MLA_ERR_INVALID_ARGUMENT,
               "CUDA split without workspace is rejected");
        const Problem16 lh = to_half(kHalfTypes[1], lb);
        const DeviceProblemOf<uint16_t> dlh(lh);
        expect(call_latent(kHalfTypes[1], MLA_DEVICE_CUDA, stream, lh.wide, dlh.x, 4, nullptr, 0) == MLA_ERR_INVALID_ARGUMENT,
               "CUDA f16 split without workspace is rejected");
        expect(call_latent(kHalfTypes[1], MLA_DEVICE_CUDA, stream, lh.wide, dlh.x, 300, nullptr, 0) == MLA_ERR_UNSUPPORTED,
               "CUDA f16 split count > 256 is unsupported");
    }
    cudaStreamSynchronize(stream);
    cudaStreamDestroy(stream);
    return g_failures;
}

#else

int run_cuda_checks() {
    std::printf("CUDA checks skipped: built without CUDA (no nvcc found, or MHA2MLA_CUDA=OFF)\n");
    g_cuda_skipped = true;
    Rng rng(5);
    Shape s{"no cuda", 1, 1, 2, 2, 8, 8, 0, {}};
    const Problem pb = make_relpos(s, rng);
    std::vector<float> out;
    expect(mla_cuda_compiled() == 0 && mla_cuda_device_count() == 0, "CPU-only build reports no CUDA");
    expect(call_relpos(MLA_DEVICE_CUDA, nullptr, pb, host_buffers(pb, out)) == MLA_ERR_UNSUPPORTED,
           "device = CUDA without CUDA is MLA_ERR_UNSUPPORTED");
    mla_cache* cache = nullptr;
    expect(mla_latent_cache_create(&cache, MLA_DEVICE_CUDA, 1, same_r(1, 8).data(), 4) == MLA_ERR_UNSUPPORTED &&
               cache == nullptr,
           "a CUDA cache without CUDA is MLA_ERR_UNSUPPORTED");
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
        std::printf("%-4s %-18s Tq=%-5d Tk=%-5d  %s\n", device, c.kernel, c.Tq, c.Tk, mla_status_string(status));
        return;
    }
    std::printf("%-4s %-18s Tq=%-5d Tk=%-5d %10.3f ms  %8.1f GFLOP/s  %8.1f GB/s", device, c.kernel, c.Tq, c.Tk,
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

// Streaming caches at the flagship sizes (H = 16, dh = 64, r = 512): one layer's attend of a chunk of s frames
// over windows of W frames, for B sessions in one call, latent cache against K/V cache. Warm: the same call
// repeated; cold: CPU caches (or the GPU's L2) flushed before each call, as for one layer of 24.
// GB/s counts the cache rows (B * W * width floats), the p rows (W + s - 1), queries and outputs.
template <class Mem, class Sync, class Flush>
void bench_caches(const char* device, Mem& mem, Sync sync, Flush flush) {
    const int H = 16, dh = 64, r = 512, max_w = 1500, max_s = 8, max_b = 8;
    Rng rng(31);
    const float* rows = mem.put(rng.fill(size_t(max_w) * H * dh, 1.0f));  // c rows [W, r] or k, v [W, H, dh]
    const float* queries = mem.put(rng.fill(size_t(max_b) * H * max_s * r, 0.05f));
    const float* qw = mem.put(rng.fill(size_t(max_b) * H * max_s * dh, 1.0f));
    const float* p = mem.put(rng.fill(size_t(max_w + max_s) * H * dh, 1.0f));
    const float* uw = mem.put(rng.fill(size_t(H) * dh, 0.5f));
    float* out = mem.buffer(size_t(max_b) * H * max_s * r);
    const int64_t ps[2] = {int64_t(H) * dh, dh}, kvs[2] = {int64_t(H) * dh, dh};
    for (CacheKind kind : {CacheKind::Latent, CacheKind::KeyValue})
        for (int B : {1, 8})
            for (int W : {250, 1500})
                for (int s : {1, 8}) {
                    const bool latent = kind == CacheKind::Latent;
                    const int D = latent ? r : dh, width = latent ? r : 2 * H * dh;
                    std::vector<mla_cache*> caches(B, nullptr);
                    int status = MLA_OK;
                    for (int b = 0; b < B && status == MLA_OK; ++b) {
                        status = latent ? mla_latent_cache_create(&caches[b], mem.device, 1, &r, W)
                                        : mla_kv_cache_create(&caches[b], mem.device, 1, H, dh, W);
                        if (status == MLA_OK)
                            status = latent ? mla_latent_cache_append_f32(caches[b], mem.stream, 0, W, rows, r)
                                            : mla_kv_cache_append_f32(caches[b], mem.stream, 0, W, rows, kvs, rows, kvs);
                    }
                    int splits = 0;
                    int64_t ws_bytes = 0;
                    if (status == MLA_OK) status = mla_cache_attend_plan(caches.data(), B, 0, H, s, &splits, &ws_bytes);
                    void* ws = mem.workspace(ws_bytes);
                    const int64_t qs[3] = {int64_t(H) * max_s * D, int64_t(max_s) * D, D};
                    const int64_t qws[3] = {int64_t(H) * max_s * dh, int64_t(max_s) * dh, dh};
                    auto call = [&] {
                        return latent ? mla_latent_cache_attend_f32(mem.stream, splits, ws, ws_bytes, caches.data(), B, 0,
                                                                    H, s, dh, W + s - 1, W - 1, 0.125f, queries, qs, qw,
                                                                    qws, p, ps, out, qs)
                                      : mla_kv_cache_attend_f32(mem.stream, splits, ws, ws_bytes, caches.data(), B, 0, s,
                                                                W + s - 1, W - 1, 0.125f, queries, qws, p, ps, uw, uw,
                                                                out, qws);
                    };
                    std::vector<double> warm, cold;
                    if (status == MLA_OK) status = call();
                    sync();
                    const double budget = now_ms() + 1000.0;
                    while (status == MLA_OK && (warm.size() < 5 || (now_ms() < budget && warm.size() < 200))) {
                        const double t0 = now_ms();
                        status = call();
                        sync();
                        warm.push_back(now_ms() - t0);
                    }
                    for (int rep = 0; rep < 9 && status == MLA_OK; ++rep) {
                        flush();
                        const double t0 = now_ms();
                        status = call();
                        sync();
                        cold.push_back(now_ms() - t0);
                    }
                    for (mla_cache* c : caches) mla_cache_destroy(c);
                    if (status != MLA_OK) {
                        std::printf("%-4s %-7s B=%d W=%-5d s=%d  %s\n", device, latent ? "lcache" : "kvcache", B, W, s,
                                    mla_status_string(status));
                        continue;
                    }
                    const double bytes = 4.0 * (double(B) * W * width + double(W + s - 1) * H * dh +
                                                double(B) * H * s * (2.0 * D + (latent ? dh : 0)));
                    const double w_ms = median_ms(warm), c_ms = median_ms(cold);
                    std::printf("%-4s %-7s B=%d W=%-5d s=%d  %9.3f ms %7.1f GB/s   cold %9.3f ms %7.1f GB/s  (%d split%s)\n",
                                device, latent ? "lcache" : "kvcache", B, W, s, w_ms, bytes / w_ms * 1e-6, c_ms,
                                bytes / c_ms * 1e-6, splits, splits == 1 ? "" : "s");
                }
}

int run_cache_bench() {
    std::printf("\nStreaming caches, one layer per call (H = 16, dh = 64, r = 512): latent cache %d B/frame, K/V cache "
                "%d B/frame. CPU: %s, %d threads\n", 512 * 4, 2 * 1024 * 4, mla_cpu_isa(), omp_get_max_threads());
    HostMemory host;
    bench_caches("cpu", host, [] {}, [] { flush_cpu_caches(); });
#if defined(MHA2MLA_WITH_CUDA) && !defined(MHA2MLA_CUDA_EMULATION)
    if (mla_cuda_device_count() > 0) {
        cudaStream_t stream;
        cudaStreamCreate(&stream);
        {
            DeviceMemory dev;
            dev.stream = stream;
            void* junk = nullptr;
            if (cudaMalloc(&junk, kFlushBytes) != cudaSuccess) junk = nullptr;
            bench_caches("cuda", dev, [&] { cudaStreamSynchronize(stream); },
                         [&] {
                             if (junk != nullptr) cudaMemsetAsync(junk, 1, kFlushBytes, stream);
                             cudaStreamSynchronize(stream);
                         });
            cudaFree(junk);
        }
        cudaStreamDestroy(stream);
    }
#endif
    return 0;
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
        for (int s : {T, 1, 8, 32}) {
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
        // The same call in bfloat16: the same arithmetic, half the bytes (float16 is alike).
        const Problem16 h = to_half(kHalfTypes[0], c.pb);
        const DeviceProblemOf<uint16_t> dev16(h);
        auto call16 = [&] {
            return latent ? call_latent(kHalfTypes[0], MLA_DEVICE_CUDA, stream, h.wide, dev16.x)
                          : call_relpos(kHalfTypes[0], MLA_DEVICE_CUDA, stream, h.wide, dev16.x);
        };
        status = time_cuda(stream, call16, ms, 20);
        if (status == MLA_OK && c.Tq < c.Tk) status = time_cold(call16, cold);
        const std::string name16 = std::string(c.kernel) + " bf16";
        print_bench("cuda", BenchCase{name16.c_str(), c.Tq, c.Tk, Problem(), c.flops, c.bytes / 2}, ms, cold, status);
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
    if (mode == "--bench") return run_bench() + run_cache_bench();
    if (mode == "--bench-cache") return run_cache_bench();
    if (mode != "" && mode != "--cpu" && mode != "--cuda") {
        std::fprintf(stderr, "usage: kernel_check [--cpu | --cuda | --bench | --bench-cache]\n");
        return 2;
    }
    const double t0 = now_ms();
    if (mode != "--cuda") run_cpu_checks();
    if (mode != "--cpu") run_cuda_checks();
    std::printf("%s: %d failure(s), %.1f s\n", g_failures == 0 ? "PASS" : "FAIL", g_failures, (now_ms() - t0) / 1000.0);
    if (g_failures == 0 && mode == "--cuda" && g_cuda_skipped) return kExitSkipped;  // CTest reports it as skipped
    return g_failures == 0 ? 0 : 1;
}
