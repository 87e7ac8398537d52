package dev.mha2mla.eval.bench;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The two calls that measure this machine's ceilings, the rates a kernel's time is read against (time >= max(bytes /
 * bandwidth, flops / rate)): a large array copy (bytes read plus written per second; 2 x 256 MB by default, far
 * beyond any cache) and a LibTorch float32 matrix product of 1024 x 1024 matrices (2 n^3 flops per call). Both run
 * with the threads set for the kernels.
 */
public final class MachineCeilings implements AutoCloseable {
  public static final long DEFAULT_COPY_FLOATS = 64L << 20;
  public static final int DEFAULT_GEMM_SIZE = 1024;

  private final Tensor source;
  private final Tensor target;
  private final Tensor a;
  private final Tensor b;
  private final long copyFloats;
  private final int gemmSize;

  public MachineCeilings(long copyFloats, int gemmSize) {
    this.copyFloats = copyFloats;
    this.gemmSize = gemmSize;
    torch.manual_seed(11);
    // random data, never zeros: a product of zeros can run faster than real data
    this.source = torch.randn(copyFloats);
    this.target = torch.randn(copyFloats);
    this.a = torch.randn(gemmSize, gemmSize);
    this.b = torch.randn(gemmSize, gemmSize);
  }

  public MachineCeilings() {
    this(DEFAULT_COPY_FLOATS, DEFAULT_GEMM_SIZE);
  }

  public void copy() {
    target.copy_(source);
  }

  public Tensor gemm() {
    return torch.matmul(a, b);
  }

  /** Bytes one {@link #copy()} moves: read once, written once. */
  public double copyBytes() {
    return 2.0 * 4 * copyFloats;
  }

  /** Flops of one {@link #gemm()}: 2 n^3. */
  public double gemmFlops() {
    return 2.0 * gemmSize * gemmSize * (double) gemmSize;
  }

  /** Measures both ceilings with the plain harness (median over the timed calls), in GB/s and GFLOP/s. */
  public BenchmarkReport.Machine measure(TimingHarness harness) {
    Timing copy = harness.time(this::copy);
    Timing gemm = harness.time(this::gemm);
    return new BenchmarkReport.Machine(copyBytes() / copy.medianSeconds() / 1e9, gemmFlops() / gemm.medianSeconds() / 1e9);
  }

  @Override
  public void close() {
    source.close();
    target.close();
    a.close();
    b.close();
  }
}
