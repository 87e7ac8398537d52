// Shared by the kernel_check sources: the naive reference attention (float64), random problems, calls
// through the C API in float32 and the 16-bit types, comparison and tolerance helpers, the test shapes and timing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "half_precision.h"
#include "mha2mla.h"

namespace kcheck {

constexpr double kTolerance = 1e-4;

extern int g_failures;

// Counts a failure (and prints `what`) unless ok.
void expect(bool ok, const char* what);

double now_ms();

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
std::vector<float> densify(const std::vector<float>& x, const Layout& l, int B, int H, int T, int D);

// Largest |a_i - b_i|; infinite for a NaN (an unwritten output) or different lengths.
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

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

Problem make_relpos(const Shape& s, Rng& rng);
Problem make_latent(const Shape& s, Rng& rng);

// The naive references, in double, scores materialised [Tq, Tk] per (b, h) and BD through HF's relative shift:
// dense [B, H, Tq, dh] output of entry point 1, dense [B, H, Tq, r] output of entry point 2.
std::vector<float> reference_relpos(const Problem& pb);
std::vector<float> reference_latent(const Problem& pb);

// The small problems of the argument checks: rel-pos B = 2, H = 2, T = 5, dh = 8, padded; latent B = 1, H = 2,
// Tq = 2, Tk = 9, r = 16, dh = 8.
Problem argument_relpos(Rng& rng);
Problem argument_latent(Rng& rng);

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
inline float poison<float>() { return NAN; }
template <>
inline uint16_t poison<uint16_t>() { return 0xffff; }  // NaN in bfloat16 and float16

// Problem or Problem16: vectors q .. w of the elements the calls read.
template <class Inputs, class T>
BuffersOf<T> host_buffers(const Inputs& pb, std::vector<T>& out) {
    out.assign(pb.out_size, poison<T>());
    return {pb.q.data(), pb.k.data(), pb.v.data(), pb.p.data(), pb.u.data(), pb.w.data(), pb.lengths(),
            out.data()};
}

// Entry point 1 in element type dtype.
template <class T>
int call_relpos_as(int dtype, int device, void* stream, const Problem& pb, const BuffersOf<T>& x) {
    const Shape& s = pb.shape;
    const int64_t ps[2] = {int64_t(s.H) * s.dh, s.dh};
    return mla_relpos_attention(device, stream, dtype, s.B, s.H, s.Tq, s.Tk, s.dh, pb.P, pb.zero_row, s.q_offset,
                                pb.scale, x.q, pb.lq.s, x.k, pb.lk.s, x.v, pb.lk.s, x.p, ps, x.u, x.w, x.lengths, x.out,
                                pb.lo.s);
}

// Entry point 2 in element type dtype, with `splits` key splits.
template <class T>
int call_latent_as(int dtype, int device, void* stream, const Problem& pb, const BuffersOf<T>& x, int splits,
                   void* workspace, int64_t workspace_bytes) {
    const Shape& s = pb.shape;
    const int64_t ps[2] = {int64_t(s.H) * s.dh, s.dh};
    const int64_t qws[3] = {int64_t(s.H) * s.Tq * s.dh, int64_t(s.Tq) * s.dh, s.dh};
    return mla_latent_attention(device, stream, dtype, splits, workspace, workspace_bytes, s.B, s.H, s.Tq, s.Tk,
                                s.dim, s.dh, pb.P, pb.zero_row, s.q_offset, pb.scale, x.q, pb.lq.s, x.k, pb.lk.s, x.v,
                                qws, x.p, ps, x.lengths, x.out, pb.lo.s);
}

inline int call_relpos(int device, void* stream, const Problem& pb, const Buffers& x) {
    return call_relpos_as(MLA_F32, device, stream, pb, x);
}

inline int call_latent(int device, void* stream, const Problem& pb, const Buffers& x, int splits = 1,
                       void* workspace = nullptr, int64_t workspace_bytes = 0) {
    return call_latent_as(MLA_F32, device, stream, pb, x, splits, workspace, workspace_bytes);
}

// The 16-bit element types, and the same calls in them.
struct HalfType {
    const char* name;
    int dtype;
    int mantissa_bits;
    float (*widen)(uint16_t);
    uint16_t (*narrow)(float);
};
inline const HalfType kHalfTypes[] = {
    {"bf16", MLA_BF16, 7, mla::bf16_to_float, mla::float_to_bf16},
    {"f16", MLA_F16, 10, mla::f16_to_float, mla::float_to_f16},
};

inline int call_relpos(const HalfType& t, int device, void* stream, const Problem& pb, const Buffers16& x) {
    return call_relpos_as(t.dtype, device, stream, pb, x);
}

inline int call_latent(const HalfType& t, int device, void* stream, const Problem& pb, const Buffers16& x,
                       int splits = 1, void* workspace = nullptr, int64_t workspace_bytes = 0) {
    return call_latent_as(t.dtype, device, stream, pb, x, splits, workspace, workspace_bytes);
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

Problem16 to_half(const HalfType& t, const Problem& pb);
std::vector<uint16_t> narrow_all(const HalfType& t, const std::vector<float>& x);

// Spacing of the 16-bit type's values at magnitude |x| (its subnormal spacing below the normal range).
double ulp(const HalfType& t, double x);

// Largest |a_i - b_i| in ulps of the 16-bit type at max(|a_i|, |b_i|, floor); infinite for a NaN (an unwritten
// output) or different lengths.
double ulps_apart(const HalfType& t, const std::vector<uint16_t>& a, const std::vector<uint16_t>& b, double floor);

std::string describe(const Shape& s, bool latent);

// One result line. err: max abs error, or with ulps = true the max error in ulps of a 16-bit type; fails above
// tolerance.
void report(const char* device, const char* kernel, const char* variant, const std::string& what,
            int status, double err, double ms, double tolerance = kTolerance, bool ulps = false);

// ---------------------------------------------------------------------------------------------
// Test shapes: odd lengths, padding (lengths < Tk), T from 1 to 600, r up to 512.
std::vector<Shape> relpos_shapes();
std::vector<Shape> latent_shapes();

// Random shapes on top of the fixed ones: full utterances, streaming chunks and unrelated Tq / Tk /
// q_offset, random padding and storage, sizes capped so the naive reference stays fast.
std::vector<Shape> random_shapes(Rng& rng, int count, bool latent);

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

}  // namespace kcheck
