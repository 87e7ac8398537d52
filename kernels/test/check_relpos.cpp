// Entry point 1, rel-pos attention over K/V: argument checks, the CPU kernel against the naive reference, the
// CUDA kernel against its CPU twin.
#include <cmath>
#include <string>

#include "checks.h"
#include "cuda_buffers.h"

namespace kcheck {

// Bad arguments come back as status codes.
void check_relpos_arguments() {
    Rng rng(7);
    const Problem pb = argument_relpos(rng);
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
}

void check_relpos_cpu(const Problem& pb, const std::vector<float>& ref, const char* variant) {
    const auto& s = pb.shape;
    std::vector<float> out;
    const Buffers x = host_buffers(pb, out);
    double ms = 0.0;
    const int status = warm_then_time([&] { return call_relpos(MLA_DEVICE_CPU, nullptr, pb, x); }, out, ms);
    report("cpu", "relpos", variant, std::string(s.name) + ": " + describe(s, false), status,
           max_abs_diff(densify(out, pb.lo, s.B, s.H, s.Tq, s.dh), ref), ms);
}

#ifdef MHA2MLA_WITH_CUDA

// Emulated threads (kernels/test/emulation) are slow: there, small shapes that still reach every kernel
// instantiation (dh <= 64 and <= 128), several query blocks and key tiles, padding and strides.
std::vector<Shape> cuda_relpos_shapes() {
#ifdef MHA2MLA_CUDA_EMULATION
    return {
        {"T=1", 1, 1, 1, 1, 8, 8, 0, {}},
        {"T=70 padded", 2, 2, 70, 70, 24, 24, 0, {70, 33}},
        {"stream s=3 dh=100 margin", 1, 2, 3, 100, 100, 100, 97, {}, true, 2},
        {"Tq=40 Tk=45 dh=128", 1, 1, 40, 45, 128, 128, 5, {45}},
    };
#else
    return relpos_shapes();
#endif
}

void check_relpos_cuda(cudaStream_t stream, Rng& rng) {
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
}

void check_relpos_cuda_limits(cudaStream_t stream, Rng& rng) {
    const Shape s{"dh=200", 1, 1, 3, 3, 200, 200, 0, {}};
    const Problem pb = make_relpos(s, rng);
    const DeviceProblem dev(pb);
    expect(call_relpos(MLA_DEVICE_CUDA, stream, pb, dev.x) == MLA_ERR_UNSUPPORTED, "CUDA relpos dh > 128 is unsupported");
    const Problem16 h = to_half(kHalfTypes[0], pb);
    const DeviceProblemOf<uint16_t> dh(h);
    expect(call_relpos(kHalfTypes[0], MLA_DEVICE_CUDA, stream, h.wide, dh.x) == MLA_ERR_UNSUPPORTED,
           "CUDA bf16 relpos dh > 128 is unsupported");
}

#endif

}  // namespace kcheck
