// The 16-bit element types (MLA_BF16, MLA_F16): the conversions, the argument checks, the CPU's 16-bit forms of
// entry points 1 and 2 against the float32 kernel on the widened inputs, the CUDA forms against their CPU twins.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "checks.h"
#include "cuda_buffers.h"
#if defined(MHA2MLA_WITH_CUDA) && !defined(MHA2MLA_CUDA_EMULATION)
#include <cuda_bf16.h>  // host versions of the GPU's conversions, to check half_precision.h against
#include <cuda_fp16.h>
#endif

namespace kcheck {

namespace {

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

}  // namespace

// Bad arguments of the 16-bit forms come back as status codes, as in float32, and so does an unknown dtype.
void check_half_arguments() {
    Rng rng(7);
    const Problem pb = argument_relpos(rng);
    const Problem la = argument_latent(rng);
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
    Problem q = pb;
    q.shape.lengths = {5, 0};
    const Problem16 hz = to_half(bf16, q);
    expect(call_relpos(bf16, MLA_DEVICE_CPU, nullptr, hz.wide, host_buffers(hz, out16)) == MLA_ERR_INVALID_ARGUMENT,
           "length 0 in a bf16 call is rejected");
    const Problem16 lh = to_half(bf16, la);
    const Buffers16 y16 = host_buffers(lh, out16);
    expect(call_latent(bf16, MLA_DEVICE_CPU, nullptr, lh.wide, y16, 2) == MLA_OK, "bf16 split call on the CPU returns MLA_OK");
    expect(call_latent(bf16, MLA_DEVICE_CPU, nullptr, lh.wide, y16, -1) == MLA_ERR_INVALID_ARGUMENT,
           "bf16 num_splits < 1 is rejected");
    Problem lb = lh.wide;
    lb.zero_row = -1;
    expect(call_latent(kHalfTypes[1], MLA_DEVICE_CPU, nullptr, lb, y16) == MLA_ERR_INVALID_ARGUMENT,
           "f16 p rows out of range are rejected");
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

// The CPU's 16-bit forms of entry points 1 and 2 are, by definition (mha2mla.h), the float32 kernel on the 16-bit
// values widened, its output rounded once: checked against exactly that, through the float32 calls on the widened
// inputs and the test's own rounding. The twin runs the same float32 kernel on dense copies, so 0 ulp is expected;
// 1 ulp (of the 16-bit type at the element's magnitude) is allowed. Entry point 2 on the CPU ignores num_splits.
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
        const std::string tag = std::string(t.name) + (splits == 1 ? "" : " split");
        report("cpu", latent ? "latent" : "relpos", tag.c_str(), std::string(pb.shape.name) + ": " + describe(pb.shape, latent),
               status, ulps_apart(t, out, narrow_all(t, wide), 0.0), ms, 1.0, true);
    };
    for (const HalfType& t : kHalfTypes) {
        for (const Problem& pb : rel) check(t, pb, false, 1);
        for (const Problem& pb : lat)
            for (int splits : {1, 3}) check(t, pb, true, splits);
    }
}

#ifdef MHA2MLA_WITH_CUDA

// Each CUDA 16-bit form against its CPU twin on the same 16-bit inputs. Both widen the same values exactly,
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
            for (int splits : {1, 3}) {  // one split, and 3 whose merge writes the 16-bit z
                const DeviceWorkspace ws(s, splits);
                cudaMemset(dev.x.out, 0xff, h.out_size * sizeof(uint16_t));  // NaN until written
                double ms = 0.0;
                int st = status;
                if (st == MLA_OK)
                    st = time_cuda(stream, [&] {
                        return call_latent(t, MLA_DEVICE_CUDA, stream, h.wide, dev.x, splits, ws.ptr, ws.bytes);
                    }, ms);
                const std::string tag = std::string(t.name) + (splits == 1 ? "" : " splits=3");
                report("cuda", "latent", tag.c_str(), std::string(s.name) + ": " + describe(s, true), st,
                       ulps_apart(t, dev.output(h.out_size), cpu, kHalfFloor), ms, kHalfCudaUlps, true);
            }
        }
    }
}

#endif

}  // namespace kcheck
