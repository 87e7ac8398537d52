package dev.mha2mla.benchmarks.workload;

import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.mla.CuSolverSvd;
import dev.mha2mla.mla.KvFactorizer;
import dev.mha2mla.mla.LatentFactors;
import dev.mha2mla.mla.SvdBackend;
import dev.mha2mla.mla.TorchSvd;
import org.bytedeco.pytorch.Tensor;

/**
 * The conversion's SVD work (DESIGN.md section 2): factoring one layer's [Wk; Wv] (2d x d) into a joint latent of
 * r, plain SVD, as {@code mha2mla convert} does it, on LibTorch's CPU SVD or cuSOLVER. A whole model is
 * {@code layers} such factorisations back to back (the model's other work, reading and writing files, is
 * left out).
 */
public final class SvdWorkload implements AutoCloseable {
  private final Tensor[] wk;
  private final Tensor[] wv;
  private final int latent;
  private final KvFactorizer factorizer;
  private final String backend;

  private SvdWorkload(AttentionShape shape, int layers, String backend, boolean float64, long seed) {
    this.latent = shape.latent();
    this.backend = backend;
    SvdBackend svd = backend.equals("cusolver") ? CuSolverSvd.open() : new TorchSvd();
    this.factorizer = new KvFactorizer(svd, float64);
    org.bytedeco.pytorch.global.torch.manual_seed(seed);
    wk = new Tensor[layers];
    wv = new Tensor[layers];
    for (int l = 0; l < layers; l++) {
      wk[l] = RandomTensors.normal(1 / Math.sqrt(shape.hidden()), shape.hidden(), shape.hidden());
      wv[l] = RandomTensors.normal(1 / Math.sqrt(shape.hidden()), shape.hidden(), shape.hidden());
    }
  }

  /**
   * @param backend "libtorch" (CPU) or "cusolver" (GPU; see {@link #cusolverAvailable()})
   * @param float64 SVD precision (conversion's default is float64)
   */
  public static SvdWorkload create(AttentionShape shape, int layers, String backend, boolean float64, long seed) {
    if (!backend.equals("libtorch") && !backend.equals("cusolver")) {
      throw new IllegalArgumentException("SVD backend must be libtorch or cusolver, got '" + backend + "'");
    }
    if (layers < 1) throw new IllegalArgumentException("layers must be >= 1, got " + layers);
    return new SvdWorkload(shape, layers, backend, float64, seed);
  }

  /** True where a GPU and cuSOLVER are usable. */
  public static boolean cusolverAvailable() {
    return CuSolverSvd.available();
  }

  /** Factors every layer once. */
  public void convertAll() {
    for (int l = 0; l < wk.length; l++) convertLayer(l);
  }

  /** Factors layer {@code l} (weights-only joint SVD, no balancing). */
  public LatentFactors convertLayer(int l) {
    return factorizer.factor(wk[l], wv[l], latent, ConversionMethod.JOINT, null, 0, 1.0);
  }

  public String backend() {
    return backend;
  }

  public int layers() {
    return wk.length;
  }

  @Override
  public void close() {
    RandomTensors.close(wk);
    RandomTensors.close(wv);
  }
}
