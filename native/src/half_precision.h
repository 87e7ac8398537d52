// bfloat16 and float16 <-> float32 conversions, written once: the CPU kernels' 16-bit entry points
// (half_precision.cpp), the CUDA emulation's __float2bfloat16 and friends (kernels/test/emulation) and kernel_check
// use these. Plain scalar C++: runs on any x86-64 (no F16C), and gives the same bits as the GPU's cvt.rn.
//
// bfloat16: sign, 8 exponent bits, 7 mantissa bits: the high 16 bits of a float32.
// float16 (IEEE 754 binary16): sign, 5 exponent bits (bias 15), 10 mantissa bits; subnormals m * 2^-24.
// Widening is exact. Narrowing rounds to nearest, ties to even; values beyond the largest finite 16-bit value
// (plus half an ulp) become infinities; every NaN becomes 0x7fff, the canonical NaN that CUDA's conversions give.
#pragma once

#include <cstdint>
#include <cstring>

namespace mla {

inline uint32_t float_bits(float x) {
    uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    return u;
}

inline float bits_float(uint32_t u) {
    float x;
    std::memcpy(&x, &u, sizeof x);
    return x;
}

constexpr uint16_t kHalfNaN = 0x7fff;

inline float bf16_to_float(uint16_t h) { return bits_float(uint32_t(h) << 16); }

// Adding 0x7fff plus the lowest kept bit carries into the kept bits exactly when the dropped 16 bits are above
// half (0x8000), or equal to it with the kept value odd. A carry out of the mantissa bumps the exponent, which is
// right (up to the next binade, or from the largest finite value to infinity).
inline uint16_t float_to_bf16(float x) {
    const uint32_t u = float_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return kHalfNaN;
    return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline float f16_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return bits_float(sign | 0x7f800000u | (mantissa << 13));  // infinity, NaN
    if (exponent != 0) return bits_float(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
    const float x = float(mantissa) * 5.9604644775390625e-8f;  // zero or subnormal: mantissa * 2^-24, exact
    return sign != 0 ? -x : x;
}

inline uint16_t float_to_f16(float x) {
    const uint32_t u = float_bits(x);
    const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return kHalfNaN;
    if (a >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 = 65504 + half an ulp (a tie, to even): infinity
    if (a >= 0x38800000u) {
        // Normal (>= 2^-14): rebias the exponent (127 -> 15), drop 13 mantissa bits rounding as in float_to_bf16.
        const uint32_t r = a - ((127u - 15u) << 23);
        return sign | uint16_t((r + 0xfffu + ((r >> 13) & 1u)) >> 13);
    }
    if (a <= 0x33000000u) return sign;  // <= 2^-25, half the smallest subnormal (a tie, to even): zero
    // Subnormal: the nearest m * 2^-24. x = s * 2^(e - 150) with the 24-bit significand s, so m = s >> (126 - e)
    // rounded on the bits shifted out (shift 14 .. 24 here).
    const uint32_t e = a >> 23, s = (a & 0x7fffffu) | 0x800000u, shift = 126 - e;
    const uint32_t m = s >> shift, rest = s & ((1u << shift) - 1), half = 1u << (shift - 1);
    return sign | uint16_t(m + (rest > half || (rest == half && (m & 1u)) ? 1u : 0u));
}

}  // namespace mla
