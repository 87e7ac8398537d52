// Entry point 2, latent attention (absorbed MLA), and its plan: argument checks, the CPU kernel against the naive
// reference and against expanded attention (absorption), the CUDA kernel against its CPU twin, with key splits.
#include <cmath>
#include <string>

#include "checks.h"
#include "cuda_buffers.h"

namespace kcheck {

namespace {

// mla_latent_attention_plan for B batches of H = 2, Tq = 2, r = 16, Tk = 9, asking for `requested` splits.
struct Plan {
    int status, splits;
    int64_t bytes;
};
Plan plan(int device, int B, int requested) {
    Plan p{MLA_OK, requested, -1};
    p.status = mla_latent_attention_plan(device, B, 2, 2, 16, 9, &p.splits, &p.bytes);
    return p;
}

}  // namespace

// Bad arguments come back as status codes.
void check_latent_arguments() {
    Rng rng(7);
    const Problem la = argument_latent(rng);
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
    const Plan none = plan(MLA_DEVICE_CPU, 1, 0), four = plan(MLA_DEVICE_CPU, 1, 4);
    expect(none.status == MLA_OK && none.splits == 1 && none.bytes == 0, "no splits planned on CPU");
    expect(four.status == MLA_OK && four.splits == 1 && four.bytes == 0, "a CPU plan is one split, whatever the count asked");
    expect(plan(MLA_DEVICE_CPU, 0, 0).status == MLA_ERR_INVALID_ARGUMENT, "plan of B = 0 is rejected");
    expect(plan(MLA_DEVICE_CPU, 1, -1).status == MLA_ERR_INVALID_ARGUMENT, "plan of a negative split count is rejected");
}

void check_latent_cpu(const Problem& pb, const std::vector<float>& ref, const char* variant) {
    const auto& s = pb.shape;
    std::vector<float> out;
    const Buffers x = host_buffers(pb, out);
    double ms = 0.0;
    const int status = warm_then_time([&] { return call_latent(MLA_DEVICE_CPU, nullptr, pb, x); }, out, ms);
    report("cpu", "latent", variant, std::string(s.name) + ": " + describe(s, true), status,
           max_abs_diff(densify(out, pb.lo, s.B, s.H, s.Tq, s.dim), ref), ms);
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

#ifdef MHA2MLA_WITH_CUDA

// Emulated threads are slow: there, small shapes that still reach every kernel instantiation (dh <= 64 and
// <= 128; r <= 128, 256, 512, 1024), several query blocks and key tiles, padding, strides and key splits.
std::vector<Shape> cuda_latent_shapes() {
#ifdef MHA2MLA_CUDA_EMULATION
    return {
        {"s=1 Tk=1", 1, 1, 1, 1, 8, 8, 0, {}},
        {"s=1 Tk=150 r=512", 1, 4, 1, 150, 512, 64, 149, {}},
        {"s=3 Tk=50 r=100 strided", 2, 3, 3, 50, 100, 48, 47, {50, 45}, true, 2},
        {"s=2 Tk=40 r=1000 dh=100", 1, 2, 2, 40, 1000, 100, 38, {33}},
        {"full T=12 r=200", 2, 2, 12, 12, 200, 20, 0, {12, 7}},
    };
#else
    return latent_shapes();
#endif
}

void check_latent_cuda(cudaStream_t stream, Rng& rng) {
    std::vector<float> cpu;
    for (const Shape& s : cuda_latent_shapes()) {
        const Problem pb = make_latent(s, rng);
        int status = call_latent(MLA_DEVICE_CPU, nullptr, pb, host_buffers(pb, cpu));
        const DeviceProblem dev(pb);
        double ms = 0.0;
        if (status == MLA_OK)
            status = time_cuda(stream, [&] { return call_latent(MLA_DEVICE_CUDA, stream, pb, dev.x); }, ms);
        report("cuda", "latent", "", std::string(s.name) + ": " + describe(s, true), status,
               max_abs_diff(dev.output(pb.out_size), cpu), ms);
        // Key splits, with the planned split count and with 3 splits.
        for (int requested : {0, 3}) {
            const DeviceWorkspace ws(s, requested);
            cudaMemset(dev.x.out, 0xff, pb.out_size * sizeof(float));  // NaN until written
            int st = call_latent(MLA_DEVICE_CPU, nullptr, pb, host_buffers(pb, cpu));
            if (st == MLA_OK)
                st = time_cuda(stream, [&] {
                    return call_latent(MLA_DEVICE_CUDA, stream, pb, dev.x, ws.splits, ws.ptr, ws.bytes);
                }, ms);
            const std::string tag = "splits=" + std::to_string(ws.splits);
            report("cuda", "latent", tag.c_str(), std::string(s.name) + ": " + describe(s, true), st,
                   max_abs_diff(dev.output(pb.out_size), cpu), ms);
        }
    }
}

void check_latent_cuda_limits(cudaStream_t stream, Rng& rng) {
    const Shape l{"split ws", 1, 4, 1, 300, 64, 64, 299, {}};
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
    const Plan one = plan(MLA_DEVICE_CUDA, 1, 1), four = plan(MLA_DEVICE_CUDA, 1, 4);
    expect(one.status == MLA_OK && one.splits == 1 && one.bytes == 0, "one split needs no workspace");
    expect(four.status == MLA_OK && four.splits == 4 && four.bytes > 4 * 2 * 2 * 16 * 4, "workspace holds the splits");
    expect(plan(MLA_DEVICE_CUDA, 1, 300).status == MLA_ERR_UNSUPPORTED, "a plan of more than 256 splits is unsupported");
}

#endif

}  // namespace kcheck
