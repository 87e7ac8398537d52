// The checks of kernel_check, one source per operation; kernel_check.cpp runs them in order. Each adds its failures
// to g_failures (reference.h) and prints one line per checked result.
#pragma once

#include <vector>

#ifdef MHA2MLA_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#include "reference.h"

namespace kcheck {

// check_relpos.cpp: entry point 1.
void check_relpos_arguments();
// The CPU kernel on pb against ref, its naive reference.
void check_relpos_cpu(const Problem& pb, const std::vector<float>& ref, const char* variant);

// check_latent.cpp: entry point 2 and its plan.
void check_latent_arguments();
void check_latent_cpu(const Problem& pb, const std::vector<float>& ref, const char* variant);
// Latent attention equals expanded attention over the up-projected latent.
void check_absorption(Rng& rng);

// check_half.cpp: the 16-bit element types.
void check_half_arguments();
// half_precision.h's conversions against a search of all 16-bit values.
void check_conversions();
// The CPU's 16-bit forms of entry points 1 and 2 on these problems.
void check_half_cpu(const std::vector<Problem>& rel, const std::vector<Problem>& lat);

// check_cache.cpp: entry point 3, the streaming caches.
void check_cache_arguments();
void check_cache_lifecycle();
void check_cache_mixed_sizes();
// Streaming through CPU caches equals entry points 1 / 2 over the same windows.
void check_streaming_cpu(const char* variant);

// check_linear.cpp: entry point 4, the dense layer, against a double-precision sum.
void check_linear_arguments();
void check_linear_cpu();

#ifdef MHA2MLA_WITH_CUDA
// Shapes for the CUDA checks (check_relpos.cpp, check_latent.cpp).
std::vector<Shape> cuda_relpos_shapes();
std::vector<Shape> cuda_latent_shapes();
// Each CUDA kernel against its CPU twin on the same inputs, then its limits and bad arguments.
void check_relpos_cuda(cudaStream_t stream, Rng& rng);
void check_relpos_cuda_limits(cudaStream_t stream, Rng& rng);
void check_latent_cuda(cudaStream_t stream, Rng& rng);
void check_latent_cuda_limits(cudaStream_t stream, Rng& rng);
void check_half_cuda(cudaStream_t stream, Rng& rng);
void check_streaming_cuda(cudaStream_t stream);
#endif

// bench.cpp: timings at the flagship sizes (kernel_check --bench), and of the streaming caches alone.
int run_bench();
int run_cache_bench();

}  // namespace kcheck
