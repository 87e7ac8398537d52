// The shared helpers of reference.h.
#include "reference.h"

#include <chrono>
#include <cstdio>

namespace kcheck {

int g_failures = 0;

namespace {

constexpr double kMaskValue = -3.4028234663852886e38;  // torch.finfo(torch.float32).min, HF's mask

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

}  // namespace

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

namespace {

// A problem of shape s with its p table's size and zero row, and its scale; no tensors yet.
Problem positioned(const Shape& s) {
    Problem pb;
    pb.shape = s;
    pb.zero_row = s.q_offset + s.Tq - 1 + s.margin;
    pb.P = s.q_offset + s.Tq - 1 + s.Tk + 2 * s.margin;
    pb.scale = float(1.0 / std::sqrt(double(s.dh)));
    return pb;
}

}  // namespace

Problem make_relpos(const Shape& s, Rng& rng) {
    Problem pb = positioned(s);
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
    Problem pb = positioned(s);
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

Problem argument_relpos(Rng& rng) { return make_relpos(Shape{"args", 2, 2, 5, 5, 8, 8, 0, {5, 2}}, rng); }
Problem argument_latent(Rng& rng) { return make_latent(Shape{"args", 1, 2, 2, 9, 16, 8, 7, {}}, rng); }

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

double ulp(const HalfType& t, double x) {
    const int min_exponent = t.dtype == MLA_BF16 ? -126 : -14;  // of the smallest normal, 2^min_exponent
    int e = 0;
    std::frexp(std::fabs(x), &e);  // |x| in [2^(e-1), 2^e)
    return std::ldexp(1.0, std::max(e - 1, min_exponent) - t.mantissa_bits);
}

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

void report(const char* device, const char* kernel, const char* variant, const std::string& what,
            int status, double err, double ms, double tolerance, bool ulps) {
    const bool ok = status == MLA_OK && err <= tolerance;
    char e[32];
    std::snprintf(e, sizeof e, ulps ? "%.2f ulp" : "%.2e", err);
    std::printf("%-4s %-7s %-9s %-44s max err %-9s %9.3f ms  %s\n", device, kernel, variant, what.c_str(), e,
                ms, ok ? "ok" : (status != MLA_OK ? mla_status_string(status) : "FAIL"));
    if (!ok) ++g_failures;
}

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

}  // namespace kcheck
