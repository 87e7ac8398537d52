// Benchmarks at the flagship sizes (kernel_check --bench, --bench-cache).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cache_streams.h"
#include "checks.h"
#include "cuda_buffers.h"

namespace kcheck {

namespace {

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

}  // namespace

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
            const DeviceWorkspace ws(s, 0);
            auto split_call = [&] { return call_latent(MLA_DEVICE_CUDA, stream, c.pb, dev.x, ws.splits, ws.ptr, ws.bytes); };
            status = time_cuda(stream, split_call, ms, 20);
            if (status == MLA_OK) status = time_cold(split_call, cold);
            BenchCase named{"latent split", c.Tq, c.Tk, Problem(), c.flops, c.bytes};
            print_bench("cuda", named, ms, cold, status);
            std::printf("     (%d key splits)\n", ws.splits);
        }
    }
    cudaFree(junk);
    cudaStreamDestroy(stream);
#else
    std::printf("CUDA benchmarks skipped: built without CUDA\n");
#endif
    return 0;
}

}  // namespace kcheck
