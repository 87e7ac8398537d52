package dev.mha2mla.model;

import dev.mha2mla.kernels.FusedAttention;
import dev.mha2mla.kernels.NativeKernels;
import org.bytedeco.openblas.presets.openblas_nolapack;
import org.bytedeco.pytorch.global.torch;

/**
 * The three CPU thread pools a forward or backward pass uses: LibTorch's OpenMP pool, the native kernels'
 * (the same OpenMP runtime) and OpenBLAS's own pthreads, which LibTorch's matrix products run on and which
 * {@code torch.set_num_threads} leaves alone. Left at their defaults, the OpenMP and OpenBLAS pools each
 * start one thread per core and wait for each other's cores; giving all three the same count is what every
 * entry point (recognizer, trainer, benchmarks) does before its first tensor operation.
 */
public final class CpuThreads {
  private CpuThreads() {}

  /** Sets all three pools to {@code n} threads ({@code n <= 0}: every core this JVM may use); returns the count. */
  public static int configure(int n) {
    int threads = n > 0 ? n : Runtime.getRuntime().availableProcessors();
    torch.set_num_threads(threads);
    openblas_nolapack.blas_set_num_threads(threads);
    if (FusedAttention.available()) NativeKernels.mla_set_num_threads(threads);
    return threads;
  }
}
