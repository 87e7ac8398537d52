// Entry points 1 and 2 over bfloat16 and float16 tensors, CPU (the twins of the CUDA kernels' 16-bit forms):
//
//   out = round16(kernel32(widen(q), widen(k), ...))
//
// Widening to float32 is exact, so the float32 kernel (relpos_attention.cpp, latent_attention.cpp) works on exactly
// the 16-bit values: dot products, online softmax and sums in float32 as in the float32 entry points, then the
// output is rounded once to the 16-bit type, to nearest even (half_precision.h). The float32 copies are dense and
// live in the calling thread's grow-only scratch (slot kWidenedSlot, which the kernels never touch), so a call
// allocates only when it is larger than every earlier one on that thread. The price is one pass over the inputs
// and the output, split across the threads like the kernels.
#include <initializer_list>

#include "common.h"
#include "half_precision.h"

namespace mla {
namespace {

inline float widen(Bf16 x) { return bf16_to_float(x.bits); }
inline float widen(F16 x) { return f16_to_float(x.bits); }
inline void narrow(float x, Bf16* y) { y->bits = float_to_bf16(x); }
inline void narrow(float x, F16* y) { y->bits = float_to_f16(x); }

// Copies smaller than this stay on one thread.
constexpr int64_t kParallelElements = int64_t(1) << 15;

// A strided tensor as n[0] x n[1] x n[2] rows of `width` contiguous elements, row (i, j, k) at
// i s[0] + j s[1] + k s[2]; its dense float32 copy holds the rows in that order.
struct Rows {
    int64_t n[3];
    int64_t width;
    int64_t s[3];
    int64_t count() const { return n[0] * n[1] * n[2]; }
    int64_t size() const { return count() * width; }
    int64_t padded() const { return (size() + 15) / 16 * 16; }  // keeps each copy 64-byte aligned
    int64_t offset(int64_t row) const {
        return row / (n[1] * n[2]) * s[0] + row / n[2] % n[1] * s[1] + row % n[2] * s[2];
    }
    // Strides of the dense copy, outermost first.
    int64_t dense(int level) const { return level == 0 ? n[1] * n[2] * width : level == 1 ? n[2] * width : width; }
};

template <class E>
void widen_rows(const E* src, const Rows& r, float* dst) {
#pragma omp parallel for schedule(static) num_threads(cpu_threads()) if (r.size() >= kParallelElements)
    for (int64_t row = 0; row < r.count(); ++row) {
        const E* x = src + r.offset(row);
        float* y = dst + row * r.width;
        for (int64_t d = 0; d < r.width; ++d) y[d] = widen(x[d]);
    }
}

template <class E>
void narrow_rows(const float* src, const Rows& r, E* dst) {
#pragma omp parallel for schedule(static) num_threads(cpu_threads()) if (r.size() >= kParallelElements)
    for (int64_t row = 0; row < r.count(); ++row) {
        const float* x = src + row * r.width;
        E* y = dst + r.offset(row);
        for (int64_t d = 0; d < r.width; ++d) narrow(x[d], y + d);
    }
}

// An input and the float32 argument that is to point at its dense copy.
template <class E>
struct Input {
    const E* src;
    Rows rows;
    const float** copy;
};

// Widens every input into one block of the thread's scratch, the output's float32 copy after them; returns that
// (for the float32 kernel to write), nullptr when out of memory.
template <class E>
float* widen_inputs(std::initializer_list<Input<E>> inputs, const Rows& out) {
    int64_t floats = out.padded();
    for (const Input<E>& x : inputs) floats += x.rows.padded();
    float* next = thread_scratch(kWidenedSlot, size_t(floats));
    if (next == nullptr) return nullptr;
    for (const Input<E>& x : inputs) {
        widen_rows(x.src, x.rows, next);
        *x.copy = next;
        next += x.rows.padded();
    }
    return next;
}

template <class E>
int relpos_attention_16(const RelposArgsOf<E>& a) {
    const Rows q{{a.B, a.H, a.Tq}, a.dh, {a.qs[0], a.qs[1], a.qs[2]}};
    const Rows k{{a.B, a.H, a.Tk}, a.dh, {a.ks[0], a.ks[1], a.ks[2]}};
    const Rows v{{a.B, a.H, a.Tk}, a.dh, {a.vs[0], a.vs[1], a.vs[2]}};
    const Rows p{{a.P, a.H, 1}, a.dh, {a.ps[0], a.ps[1], 0}};
    const Rows uw{{1, 1, a.H}, a.dh, {0, 0, a.dh}};  // u and w: [H, dh] contiguous
    const Rows out{{a.B, a.H, a.Tq}, a.dh, {a.os[0], a.os[1], a.os[2]}};
    RelposArgs f{};
    f.B = a.B; f.H = a.H; f.Tq = a.Tq; f.Tk = a.Tk; f.dh = a.dh; f.P = a.P;
    f.zero_row = a.zero_row; f.q_offset = a.q_offset; f.scale = a.scale; f.lengths = a.lengths;
    f.out = widen_inputs<E>({{a.q, q, &f.q}, {a.k, k, &f.k}, {a.v, v, &f.v}, {a.p, p, &f.p}, {a.u, uw, &f.u},
                             {a.w, uw, &f.w}}, out);
    if (f.out == nullptr) return MLA_ERR_OUT_OF_MEMORY;
    for (int i = 0; i < 3; ++i) {
        f.qs[i] = q.dense(i); f.ks[i] = k.dense(i); f.vs[i] = v.dense(i); f.os[i] = out.dense(i);
    }
    f.ps[0] = p.dense(0); f.ps[1] = p.dense(1);
    const int status = relpos_attention_cpu(f);
    if (status == MLA_OK) narrow_rows(f.out, out, a.out);
    return status;
}

template <class E>
int latent_attention_16(const LatentArgsOf<E>& a) {
    const Rows qa{{a.B, a.H, a.Tq}, a.r, {a.qas[0], a.qas[1], a.qas[2]}};
    const Rows c{{a.B, a.Tk, 1}, a.r, {a.cs[0], a.cs[1], 0}};
    const Rows qw{{a.B, a.H, a.Tq}, a.dh, {a.qws[0], a.qws[1], a.qws[2]}};
    const Rows p{{a.P, a.H, 1}, a.dh, {a.ps[0], a.ps[1], 0}};
    const Rows z{{a.B, a.H, a.Tq}, a.r, {a.zs[0], a.zs[1], a.zs[2]}};
    LatentArgs f{};
    f.B = a.B; f.H = a.H; f.Tq = a.Tq; f.Tk = a.Tk; f.r = a.r; f.dh = a.dh; f.P = a.P;
    f.zero_row = a.zero_row; f.q_offset = a.q_offset; f.scale = a.scale; f.lengths = a.lengths;
    f.z = widen_inputs<E>({{a.qa, qa, &f.qa}, {a.c, c, &f.c}, {a.qw, qw, &f.qw}, {a.p, p, &f.p}}, z);
    if (f.z == nullptr) return MLA_ERR_OUT_OF_MEMORY;
    for (int i = 0; i < 3; ++i) { f.qas[i] = qa.dense(i); f.qws[i] = qw.dense(i); f.zs[i] = z.dense(i); }
    f.cs[0] = c.dense(0); f.cs[1] = c.dense(1);
    f.ps[0] = p.dense(0); f.ps[1] = p.dense(1);
    const int status = latent_attention_cpu(f);
    if (status == MLA_OK) narrow_rows(f.z, z, a.z);
    return status;
}

}  // namespace

int relpos_attention_cpu(const RelposArgsOf<Bf16>& a) { return relpos_attention_16(a); }
int relpos_attention_cpu(const RelposArgsOf<F16>& a) { return relpos_attention_16(a); }
int latent_attention_cpu(const LatentArgsOf<Bf16>& a) { return latent_attention_16(a); }
int latent_attention_cpu(const LatentArgsOf<F16>& a) { return latent_attention_16(a); }

}  // namespace mla
