// The C entry points of fused attention (1 and 2 of mha2mla.h, and 2's plan) in every element type: argument checks, then
// the CPU kernel (relpos_attention.cpp, latent_attention.cpp; their 16-bit forms in half_precision.cpp) or the
// CUDA one (kernels/). One set of rules for float32, bfloat16 and float16: E is float, Bf16 or F16.
#include <cmath>

#include "common.h"

namespace mla {
namespace {

// f(E{}) for the element type E that `dtype` names (MLA_F32: float, MLA_BF16: Bf16, MLA_F16: F16).
template <class F>
int with_dtype(int dtype, F f) {
    switch (dtype) {
        case MLA_F32: return f(float{});
        case MLA_BF16: return f(Bf16{});
        case MLA_F16: return f(F16{});
        default: return MLA_ERR_INVALID_ARGUMENT;
    }
}

// MLA_ERR_INVALID_ARGUMENT for an unknown device, MLA_ERR_UNSUPPORTED for CUDA in a CPU-only build.
int check_device(int device) {
    if (device != MLA_DEVICE_CPU && device != MLA_DEVICE_CUDA) return MLA_ERR_INVALID_ARGUMENT;
#ifndef MHA2MLA_WITH_CUDA
    if (device == MLA_DEVICE_CUDA) return MLA_ERR_UNSUPPORTED;
#endif
    return MLA_OK;
}

// Checks shared by entry points 1 and 2: device, sizes, scale, lengths and the p rows every valid pair uses.
int check_common(int device, int B, int H, int Tq, int Tk, int P, int zero_row, int q_offset, float scale,
                 const int32_t* lengths) {
    const int status = check_device(device);
    if (status != MLA_OK) return status;
    if (B < 1 || H < 1 || Tq < 1 || Tk < 1 || P < 1 || !std::isfinite(scale)) return MLA_ERR_INVALID_ARGUMENT;
    // Device lengths cannot be read here: on CUDA p must cover every key below Tk.
    const int max_len = device == MLA_DEVICE_CPU ? max_length(lengths, B, Tk) : Tk;
    if (max_len < 1 || !rows_in_range(P, zero_row, q_offset, Tq, max_len)) return MLA_ERR_INVALID_ARGUMENT;
    return MLA_OK;
}

template <class E>
int run(const RelposArgsOf<E>& a, int device, void* stream) {
    if (device == MLA_DEVICE_CPU) return relpos_attention_cpu(a);
#ifdef MHA2MLA_WITH_CUDA
    return relpos_attention_cuda(a, stream);
#else
    (void)stream;
    return MLA_ERR_UNSUPPORTED;
#endif
}

template <class E>
int run(const LatentArgsOf<E>& a, int device, void* stream, int splits, void* workspace) {
    if (device == MLA_DEVICE_CPU) return latent_attention_cpu(a);
#ifdef MHA2MLA_WITH_CUDA
    return latent_attention_cuda(a, stream, splits, workspace);
#else
    (void)stream; (void)splits; (void)workspace;
    return MLA_ERR_UNSUPPORTED;
#endif
}

}  // namespace
}  // namespace mla

extern "C" {

int mla_relpos_attention(int device, void* stream, int dtype,
    int B, int H, int Tq, int Tk, int dh, int P, int zero_row, int q_offset, float scale,
    const void* q, const int64_t* q_strides,
    const void* k, const int64_t* k_strides,
    const void* v, const int64_t* v_strides,
    const void* p, const int64_t* p_strides,
    const void* u, const void* w,
    const int32_t* lengths,
    void* out, const int64_t* out_strides) {
    using namespace mla;
    const int status = check_common(device, B, H, Tq, Tk, P, zero_row, q_offset, scale, lengths);
    if (status != MLA_OK) return status;
    if (dh < 1 || q == nullptr || k == nullptr || v == nullptr || p == nullptr || u == nullptr || w == nullptr ||
        out == nullptr)
        return MLA_ERR_INVALID_ARGUMENT;
    if (!strides_ok(q_strides, 3, false) || !strides_ok(k_strides, 3, false) ||
        !strides_ok(v_strides, 3, false) || !strides_ok(p_strides, 2, false) ||
        !strides_ok(out_strides, 3, true))
        return MLA_ERR_INVALID_ARGUMENT;
    return with_dtype(dtype, [&](auto element) {
        typedef decltype(element) E;
        RelposArgsOf<E> a;
        a.B = B; a.H = H; a.Tq = Tq; a.Tk = Tk; a.dh = dh; a.P = P;
        a.zero_row = zero_row; a.q_offset = q_offset; a.scale = scale;
        a.q = static_cast<const E*>(q); a.k = static_cast<const E*>(k); a.v = static_cast<const E*>(v);
        a.p = static_cast<const E*>(p); a.u = static_cast<const E*>(u); a.w = static_cast<const E*>(w);
        a.lengths = lengths;
        a.out = static_cast<E*>(out);
        for (int i = 0; i < 3; ++i) {
            a.qs[i] = q_strides[i]; a.ks[i] = k_strides[i]; a.vs[i] = v_strides[i]; a.os[i] = out_strides[i];
        }
        a.ps[0] = p_strides[0]; a.ps[1] = p_strides[1];
        return run(a, device, stream);
    });
}

int mla_latent_attention(int device, void* stream, int dtype, int num_splits, void* workspace, int64_t workspace_bytes,
    int B, int H, int Tq, int Tk, int r, int dh, int P, int zero_row, int q_offset, float scale,
    const void* qa, const int64_t* qa_strides,
    const void* c, const int64_t* c_strides,
    const void* qw, const int64_t* qw_strides,
    const void* p, const int64_t* p_strides,
    const int32_t* lengths,
    void* z, const int64_t* z_strides) {
    using namespace mla;
    const int status = check_common(device, B, H, Tq, Tk, P, zero_row, q_offset, scale, lengths);
    if (status != MLA_OK) return status;
    if (r < 1 || dh < 1 || qa == nullptr || c == nullptr || qw == nullptr || p == nullptr || z == nullptr)
        return MLA_ERR_INVALID_ARGUMENT;
    if (!strides_ok(qa_strides, 3, false) || !strides_ok(c_strides, 2, false) ||
        !strides_ok(qw_strides, 3, false) || !strides_ok(p_strides, 2, false) ||
        !strides_ok(z_strides, 3, true))
        return MLA_ERR_INVALID_ARGUMENT;
    if (num_splits < 1) return MLA_ERR_INVALID_ARGUMENT;
    if (device == MLA_DEVICE_CUDA && num_splits > 1) {
        if (num_splits > kCudaMaxSplits) return MLA_ERR_UNSUPPORTED;
        if (workspace == nullptr || workspace_bytes < LatentWorkspace(B, H, Tq, r, num_splits).bytes)
            return MLA_ERR_INVALID_ARGUMENT;
    }
    return with_dtype(dtype, [&](auto element) {
        typedef decltype(element) E;
        LatentArgsOf<E> a;
        a.B = B; a.H = H; a.Tq = Tq; a.Tk = Tk; a.r = r; a.dh = dh; a.P = P;
        a.zero_row = zero_row; a.q_offset = q_offset; a.scale = scale;
        a.qa = static_cast<const E*>(qa); a.c = static_cast<const E*>(c); a.qw = static_cast<const E*>(qw);
        a.p = static_cast<const E*>(p); a.lengths = lengths; a.z = static_cast<E*>(z);
        for (int i = 0; i < 3; ++i) { a.qas[i] = qa_strides[i]; a.qws[i] = qw_strides[i]; a.zs[i] = z_strides[i]; }
        for (int i = 0; i < 2; ++i) { a.cs[i] = c_strides[i]; a.ps[i] = p_strides[i]; }
        return run(a, device, stream, num_splits, workspace);
    });
}

int mla_latent_attention_plan(int device, int B, int H, int Tq, int r, int Tk, int* num_splits,
    int64_t* workspace_bytes) {
    const int status = mla::check_device(device);
    if (status != MLA_OK) return status;
    if (B < 1 || H < 1 || Tq < 1 || r < 1 || Tk < 1 || num_splits == nullptr || workspace_bytes == nullptr ||
        *num_splits < 0)
        return MLA_ERR_INVALID_ARGUMENT;
    if (device == MLA_DEVICE_CPU) {
        *num_splits = 1;
        *workspace_bytes = 0;
        return MLA_OK;
    }
    int splits = *num_splits;
#ifdef MHA2MLA_WITH_CUDA
    if (splits == 0) splits = mla::latent_cuda_splits(B, H, Tq, r, Tk);
#endif
    return mla::set_plan(splits, B, H, Tq, r, num_splits, workspace_bytes);
}

}  // extern "C"
