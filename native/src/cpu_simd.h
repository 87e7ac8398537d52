// Portable SIMD for the CPU kernels: GCC vector extensions, so one kernel body compiles to SSE2,
// AVX2 or AVX-512 depending on the target attribute of the function it is inlined into.
//
// Each kernel writes its body as `template <class V> MLA_INLINE ...` and instantiates it three times:
// a plain function (baseline x86-64: SSE2, V = vf4), an MLA_TARGET_AVX2 one (V = vf8) and an
// MLA_TARGET_AVX512 one (V = vf16). Only those wrappers carry target attributes, and runtime dispatch
// (cpu_isa()) calls the one this CPU supports, so an old x86-64 never meets an AVX instruction.
#pragma once

#include <cstdint>

#define MLA_INLINE inline __attribute__((always_inline))
#define MLA_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define MLA_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))

namespace mla {

typedef float vf4 __attribute__((vector_size(16)));
typedef float vf8 __attribute__((vector_size(32)));
typedef float vf16 __attribute__((vector_size(64)));
typedef int32_t vi4 __attribute__((vector_size(16)));
typedef int32_t vi8 __attribute__((vector_size(32)));
typedef int32_t vi16 __attribute__((vector_size(64)));

template <class V> struct VecInt;
template <> struct VecInt<vf4> { typedef vi4 type; };
template <> struct VecInt<vf8> { typedef vi8 type; };
template <> struct VecInt<vf16> { typedef vi16 type; };

template <class V> constexpr int lanes() { return int(sizeof(V) / sizeof(float)); }

template <class V> MLA_INLINE V vload(const float* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof(V));
    return v;
}

template <class V> MLA_INLINE void vstore(float* p, V v) { __builtin_memcpy(p, &v, sizeof(V)); }

template <class V> MLA_INLINE V vsplat(float x) { return V{} + x; }

template <class V> MLA_INLINE float vsum(V v) {
    float s = 0.0f;
    for (int i = 0; i < lanes<V>(); ++i) s += v[i];
    return s;
}

template <class V> MLA_INLINE float vmax(V v) {
    float m = v[0];
    for (int i = 1; i < lanes<V>(); ++i) m = v[i] > m ? v[i] : m;
    return m;
}

// exp(x) to about 2 ulp for x in [-87.3, 88.3], clamped outside (so exp(-inf) gives ~1e-38, not 0).
// Cephes' method: x = n ln2 + t with |t| <= ln2/2, exp(t) by a degree-6 polynomial, 2^n by
// building the float exponent.
template <class V> MLA_INLINE V vexp(V x) {
    typedef typename VecInt<V>::type I;
    const V lo = vsplat<V>(-87.3f), hi = vsplat<V>(88.3f);
    x = x < lo ? lo : x;
    x = x > hi ? hi : x;
    // n = round(x / ln2): adding 1.5 * 2^23 rounds to an integer in the low mantissa bits.
    const V n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    V t = x - n * 0.693359375f;
    t = t - n * -2.12194440e-4f;
    V poly = vsplat<V>(1.9875691500e-4f);
    poly = poly * t + 1.3981999507e-3f;
    poly = poly * t + 8.3334519073e-3f;
    poly = poly * t + 4.1665795894e-2f;
    poly = poly * t + 1.6666665459e-1f;
    poly = poly * t + 5.0000001201e-1f;
    const V et = poly * t * t + t + 1.0f;
    const I bits = (__builtin_convertvector(n, I) + 127) << 23;  // 2^n as a float's bit pattern
    return et * (V)bits;  // a vector cast between equal sizes reinterprets the bits
}

// out[j] += the lane sum of acc[j], j < 8: a transpose-and-add tree, ~3 vector ops per sum instead
// of a lane-by-lane sum for each. Level by level, each vector holds partial sums of twice as many
// accumulators in half as many lanes each.
MLA_INLINE void add_lane_sums8(const vf4* acc, float* out) {
    const vi4 lo = {0, 1, 4, 5}, hi = {2, 3, 6, 7};
    vf4 x[4];  // x[k]: lanes 0-1 acc[2k], lanes 2-3 acc[2k+1]
    for (int k = 0; k < 4; ++k)
        x[k] = __builtin_shuffle(acc[2 * k], acc[2 * k + 1], lo) + __builtin_shuffle(acc[2 * k], acc[2 * k + 1], hi);
    const vi4 ev = {0, 2, 4, 6}, od = {1, 3, 5, 7};
    for (int k = 0; k < 2; ++k) {  // lane t: acc[4k + t]
        const vf4 y = __builtin_shuffle(x[2 * k], x[2 * k + 1], ev) + __builtin_shuffle(x[2 * k], x[2 * k + 1], od);
        for (int t = 0; t < 4; ++t) out[4 * k + t] += y[t];
    }
}

MLA_INLINE void add_lane_sums8(const vf8* acc, float* out) {
    const vi8 lo = {0, 1, 2, 3, 8, 9, 10, 11}, hi = {4, 5, 6, 7, 12, 13, 14, 15};
    vf8 x[4];  // x[k]: lanes 0-3 acc[2k], lanes 4-7 acc[2k+1]
    for (int k = 0; k < 4; ++k)
        x[k] = __builtin_shuffle(acc[2 * k], acc[2 * k + 1], lo) + __builtin_shuffle(acc[2 * k], acc[2 * k + 1], hi);
    const vi8 lo2 = {0, 1, 4, 5, 8, 9, 12, 13}, hi2 = {2, 3, 6, 7, 10, 11, 14, 15};
    vf8 y[2];  // y[k]: lane pairs acc[4k], acc[4k+1], acc[4k+2], acc[4k+3]
    for (int k = 0; k < 2; ++k)
        y[k] = __builtin_shuffle(x[2 * k], x[2 * k + 1], lo2) + __builtin_shuffle(x[2 * k], x[2 * k + 1], hi2);
    const vi8 ev = {0, 2, 4, 6, 8, 10, 12, 14}, od = {1, 3, 5, 7, 9, 11, 13, 15};
    const vf8 z = __builtin_shuffle(y[0], y[1], ev) + __builtin_shuffle(y[0], y[1], od);  // lane j: acc[j]
    for (int j = 0; j < 8; ++j) out[j] += z[j];
}

MLA_INLINE void add_lane_sums8(const vf16* acc, float* out) {
    const vi16 lo = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
    const vi16 hi = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
    vf16 x[4];  // x[k]: lanes 0-7 acc[2k], lanes 8-15 acc[2k+1]
    for (int k = 0; k < 4; ++k)
        x[k] = __builtin_shuffle(acc[2 * k], acc[2 * k + 1], lo) + __builtin_shuffle(acc[2 * k], acc[2 * k + 1], hi);
    const vi16 lo2 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
    const vi16 hi2 = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
    vf16 y[2];  // y[k]: lane quads acc[4k] .. acc[4k+3]
    for (int k = 0; k < 2; ++k)
        y[k] = __builtin_shuffle(x[2 * k], x[2 * k + 1], lo2) + __builtin_shuffle(x[2 * k], x[2 * k + 1], hi2);
    const vi16 lo3 = {0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29};
    const vi16 hi3 = {2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31};
    const vf16 z = __builtin_shuffle(y[0], y[1], lo3) + __builtin_shuffle(y[0], y[1], hi3);  // lane pairs acc[j]
    for (int j = 0; j < 8; ++j) out[j] += z[2 * j] + z[2 * j + 1];
}

// acc[j] += x . y[j] for j < N over the first n values, whole vectors only; tail[j] gets the rest.
// One loaded x vector serves N rows: N independent FMA chains.
template <class V, int N>
MLA_INLINE void dot_rows(const float* x, const float* const* y, int n, V* acc, float* tail) {
    constexpr int W = lanes<V>();
    int d = 0;
    for (; d + W <= n; d += W) {
        const V xv = vload<V>(x + d);
        for (int j = 0; j < N; ++j) acc[j] += xv * vload<V>(y[j] + d);
    }
    for (; d < n; ++d)
        for (int j = 0; j < N; ++j) tail[j] += x[d] * y[j][d];
}

// o[0..n) = o * corr + sum_{j < N} e[j] y[j][0..n)
template <class V, int N>
MLA_INLINE void scale_add_rows(float* o, float corr, const float* e, const float* const* y, int n) {
    constexpr int W = lanes<V>();
    const V cv = vsplat<V>(corr);
    int d = 0;
    for (; d + W <= n; d += W) {
        V x0 = vload<V>(o + d) * cv, x1 = V{};  // two partial sums: shorter FMA chains
        for (int j = 0; j < N; j += 2) {
            x0 += e[j] * vload<V>(y[j] + d);
            if (j + 1 < N) x1 += e[j + 1] * vload<V>(y[j + 1] + d);
        }
        vstore<V>(o + d, x0 + x1);
    }
    for (; d < n; ++d) {
        float x = o[d] * corr;
        for (int j = 0; j < N; ++j) x += e[j] * y[j][d];
        o[d] = x;
    }
}

// Keeps v in a register: without it the compiler may fold a load shared by several FMAs into each of them as
// a memory operand, loading the same vector once per row.
template <class V> MLA_INLINE V in_register(V v) {
    asm("" : "+v"(v));
    return v;
}

// acc[r][j] += x[r] . y[j] for rows r < NR and keys j < N over the first n values, whole vectors only;
// tail[r][j] gets the rest. Each loaded y vector serves NR rows, each x vector N keys.
template <class V, int NR, int N>
MLA_INLINE void dot_rows_shared(const float* const* x, const float* const* y, int n, V (*acc)[N],
                                float (*tail)[N]) {
    constexpr int W = lanes<V>();
    int d = 0;
    for (; d + W <= n; d += W) {
        V xv[NR];
        for (int r = 0; r < NR; ++r) xv[r] = vload<V>(x[r] + d);
        for (int j = 0; j < N; ++j) {
            const V yv = in_register(vload<V>(y[j] + d));
            for (int r = 0; r < NR; ++r) acc[r][j] += xv[r] * yv;
        }
    }
    for (; d < n; ++d)
        for (int r = 0; r < NR; ++r)
            for (int j = 0; j < N; ++j) tail[r][j] += x[r][d] * y[j][d];
}

// o[r][0..n) = o[r] * corr[r] + sum_{j < N} e[r][j] y[j][0..n) for rows r < NR, sharing the y loads.
template <class V, int NR, int N>
MLA_INLINE void scale_add_rows_shared(float* const* o, const float* corr, const float (*e)[N],
                                      const float* const* y, int n) {
    constexpr int W = lanes<V>();
    int d = 0;
    for (; d + W <= n; d += W) {
        V x[NR][2];  // two partial sums per row: shorter FMA chains
        for (int r = 0; r < NR; ++r) {
            x[r][0] = vload<V>(o[r] + d) * corr[r];
            x[r][1] = V{};
        }
        for (int j = 0; j < N; ++j) {
            const V yv = in_register(vload<V>(y[j] + d));
            for (int r = 0; r < NR; ++r) x[r][j & 1] += e[r][j] * yv;
        }
        for (int r = 0; r < NR; ++r) vstore<V>(o[r] + d, x[r][0] + x[r][1]);
    }
    for (; d < n; ++d)
        for (int r = 0; r < NR; ++r) {
            float x = o[r][d] * corr[r];
            for (int j = 0; j < N; ++j) x += e[r][j] * y[j][d];
            o[r][d] = x;
        }
}

// Online-softmax step over 8 scores s (already -inf where masked): updates the running max m and
// sum l, writes e[j] = e^(s[j] - m') (exactly 0 where masked) and returns e^(m - m'), the factor
// for the old output.
MLA_INLINE float online_softmax8(const float* s, float* e, float& m, float& l) {
    float tmax = s[0];
    for (int j = 1; j < 8; ++j) tmax = s[j] > tmax ? s[j] : tmax;
    const float m_new = m > tmax ? m : tmax;
    const float corr = m_new > m ? __builtin_expf(m - m_new) : 1.0f;  // exp(-inf) = 0 on the first tile
    const vf8 sv = vload<vf8>(s);
    vf8 ev = vexp(sv - m_new);
    ev = sv > vsplat<vf8>(-__builtin_inff()) ? ev : vf8{};
    vstore<vf8>(e, ev);
    l = l * corr + vsum(ev);
    m = m_new;
    return corr;
}

MLA_INLINE int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

}  // namespace mla
