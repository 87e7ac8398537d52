// kernel_check: checks and times the mha2mla kernels, without Java.
//
//   kernel_check            CPU checks, then CUDA checks
//   kernel_check --cpu      every fused CPU kernel, in every CPU variant this machine runs (baseline,
//                           avx2, avx512f), against a naive reference that materialises the scores the
//                           HF way: AC + BD through the relative shift, times 1/sqrt(dh), additive mask
//                           of float32 min on padded keys, softmax, probs . V; the bfloat16 / float16 calls
//                           against the float32 kernel on the same 16-bit values, its output rounded;
//                           the 16-bit conversions against a search of all 16-bit values; the dense layer
//                           (entry point 4) against a double-precision sum
//   kernel_check --cuda     every CUDA entry point, float32 and 16-bit, against its CPU twin on the same inputs
//                           (one "skipped" line and exit 77, CTest's skip, when there is no GPU)
//   kernel_check --bench    timings at the flagship sizes (d = 1024, H = 16, dh = 64, r = 512;
//                           T = 250, 750, 1500), CPU and, when present, CUDA (float32 and bfloat16); then the
//                           streaming caches
//   kernel_check --bench-cache   only the streaming caches: latent vs K/V, B = 1 and 8 sessions per call
// Exit status 0 when every check passes: max abs error <= 1e-4 (16-bit outputs: the ulp bounds of check_half_cpu
// and check_half_cuda) and the expected status codes.
//
// The sources: reference.h/.cpp (naive reference, problems, calls, tolerances, timing), cache_streams.h/.cpp (streams
// through caches), cuda_buffers.h (device memory), one check_*.cpp per operation (relpos, latent, cache, half) and
// bench.cpp; this file runs them.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cache_streams.h"
#include "checks.h"
#include "reference.h"

namespace kcheck {
namespace {

// --cuda with nothing to run (no GPU, or a build without CUDA): exit kExitSkipped, which CTest counts as skipped
// (SKIP_RETURN_CODE), so a missing GPU never reads as a passed check.
bool g_cuda_skipped = false;
constexpr int kExitSkipped = 77;

// Bad arguments come back as status codes: each operation's, then the process-wide settings'.
void check_arguments() {
    check_relpos_arguments();
    check_latent_arguments();
    check_half_arguments();
    check_linear_arguments();
    expect(mla_set_num_threads(-1) == MLA_ERR_INVALID_ARGUMENT, "negative thread count is rejected");
    expect(mla_set_cpu_isa("sse9") == MLA_ERR_INVALID_ARGUMENT, "unknown CPU variant is rejected");
    expect(std::strcmp(mla_status_string(12345), "unknown status") == 0, "unknown status has a string");
    std::printf("cpu  api     checked status codes of bad arguments: %s\n", g_failures == 0 ? "ok" : "FAIL");
}

int run_cpu_checks() {
    std::printf("CPU kernels: best variant %s, each variant this CPU runs in turn; tolerance %.0e\n",
                mla_cpu_isa(), kTolerance);
    std::printf("(times: one warm call, all threads; the naive reference is not timed)\n");
    check_arguments();
    Rng rng(1234);
    std::vector<Shape> rel_shapes = relpos_shapes(), lat_shapes = latent_shapes();
    for (const Shape& s : random_shapes(rng, 40, false)) rel_shapes.push_back(s);
    for (const Shape& s : random_shapes(rng, 40, true)) lat_shapes.push_back(s);
    std::vector<Problem> rel, lat;
    std::vector<std::vector<float>> rel_ref, lat_ref;
    for (const Shape& s : rel_shapes) {
        rel.push_back(make_relpos(s, rng));
        rel_ref.push_back(reference_relpos(rel.back()));
    }
    for (const Shape& s : lat_shapes) {
        lat.push_back(make_latent(s, rng));
        lat_ref.push_back(reference_latent(lat.back()));
    }
    for (const char* isa : {"avx512f", "avx2", "baseline"}) {
        if (mla_set_cpu_isa(isa) != MLA_OK) {
            std::printf("cpu  (variant %s not supported by this CPU, skipped)\n", isa);
            continue;
        }
        for (size_t n = 0; n < rel.size(); ++n) check_relpos_cpu(rel[n], rel_ref[n], isa);
        for (size_t n = 0; n < lat.size(); ++n) check_latent_cpu(lat[n], lat_ref[n], isa);
    }
    mla_set_cpu_isa(nullptr);
    check_conversions();
    check_half_cpu(rel, lat);
    // Thread counts change the work split (the latent kernel splits keys when tasks < threads).
    for (int threads : {1, 3}) {
        mla_set_num_threads(threads);
        const std::string tag = "threads=" + std::to_string(threads);
        check_latent_cpu(lat[1], lat_ref[1], tag.c_str());
        check_latent_cpu(lat[3], lat_ref[3], tag.c_str());
        check_relpos_cpu(rel[6], rel_ref[6], tag.c_str());
    }
    mla_set_num_threads(0);
    check_absorption(rng);
    check_linear_cpu();

    check_cache_arguments();
    check_cache_lifecycle();
    check_cache_mixed_sizes();
    for (const char* isa : {"avx512f", "avx2", "baseline"})
        if (mla_set_cpu_isa(isa) == MLA_OK) check_streaming_cpu(isa);
    mla_set_cpu_isa(nullptr);
    for (int threads : {1, 3}) {
        mla_set_num_threads(threads);
        check_streaming_cpu(("threads=" + std::to_string(threads)).c_str());
    }
    mla_set_num_threads(0);
    return g_failures;
}

#ifdef MHA2MLA_WITH_CUDA

// Each CUDA entry point against its CPU twin.
int run_cuda_checks() {
    const int devices = mla_cuda_device_count();
    if (devices == 0) {
        std::printf("CUDA checks skipped: built with CUDA, but no GPU or driver is present\n");
        g_cuda_skipped = true;
        return 0;
    }
    cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    std::printf("CUDA kernels on %s (sm_%d%d), against the CPU kernels (%s)\n", prop.name, prop.major, prop.minor,
                mla_cpu_isa());
    cudaStream_t stream;
    cudaStreamCreate(&stream);
    Rng rng(99);
    check_relpos_cuda(stream, rng);
    check_latent_cuda(stream, rng);
    check_half_cuda(stream, rng);
    check_streaming_cuda(stream);
    // Limits and bad arguments on the device path.
    check_relpos_cuda_limits(stream, rng);
    check_latent_cuda_limits(stream, rng);
    cudaStreamSynchronize(stream);
    cudaStreamDestroy(stream);
    return g_failures;
}

#else

int run_cuda_checks() {
    std::printf("CUDA checks skipped: built without CUDA (no nvcc found, or MHA2MLA_CUDA=OFF)\n");
    g_cuda_skipped = true;
    Rng rng(5);
    Shape s{"no cuda", 1, 1, 2, 2, 8, 8, 0, {}};
    const Problem pb = make_relpos(s, rng);
    std::vector<float> out;
    expect(mla_cuda_compiled() == 0 && mla_cuda_device_count() == 0, "CPU-only build reports no CUDA");
    expect(call_relpos(MLA_DEVICE_CUDA, nullptr, pb, host_buffers(pb, out)) == MLA_ERR_UNSUPPORTED,
           "device = CUDA without CUDA is MLA_ERR_UNSUPPORTED");
    int splits = 0;
    int64_t bytes = 0;
    expect(mla_latent_attention_plan(MLA_DEVICE_CUDA, 1, 1, 2, 8, 2, &splits, &bytes) == MLA_ERR_UNSUPPORTED,
           "a CUDA plan without CUDA is MLA_ERR_UNSUPPORTED");
    mla_cache* cache = nullptr;
    expect(mla_latent_cache_create(&cache, MLA_DEVICE_CUDA, 1, same_r(1, 8).data(), 4) == MLA_ERR_UNSUPPORTED &&
               cache == nullptr,
           "a CUDA cache without CUDA is MLA_ERR_UNSUPPORTED");
    return g_failures;
}

#endif

}  // namespace
}  // namespace kcheck

int main(int argc, char** argv) {
    using namespace kcheck;
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "--bench") return run_bench() + run_cache_bench();
    if (mode == "--bench-cache") return run_cache_bench();
    if (mode != "" && mode != "--cpu" && mode != "--cuda") {
        std::fprintf(stderr, "usage: kernel_check [--cpu | --cuda | --bench | --bench-cache]\n");
        return 2;
    }
    const double t0 = now_ms();
    if (mode != "--cuda") run_cpu_checks();
    if (mode != "--cpu") run_cuda_checks();
    std::printf("%s: %d failure(s), %.1f s\n", g_failures == 0 ? "PASS" : "FAIL", g_failures, (now_ms() - t0) / 1000.0);
    if (g_failures == 0 && mode == "--cuda" && g_cuda_skipped) return kExitSkipped;  // CTest reports it as skipped
    return g_failures == 0 ? 0 : 1;
}
