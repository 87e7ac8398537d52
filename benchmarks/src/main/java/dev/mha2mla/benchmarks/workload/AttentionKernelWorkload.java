package dev.mha2mla.benchmarks.workload;

import dev.mha2mla.kernels.FusedAttention;
import dev.mha2mla.model.RelativeAttention;
import org.bytedeco.pytorch.Tensor;

/**
 * The attention core alone on a full utterance (projections done beforehand), the level the roofline speaks of:
 *
 * <ul>
 *   <li>{@code hf_math}: {@link RelativeAttention#attend}, HF-style LibTorch (AC, raw BD, relative shift, softmax,
 *       probs . V all materialised);
 *   <li>{@code relpos_kernel}: {@link FusedAttention#relposAttention}, the same function by the fused kernel
 *       (MHA, and MLA in expanded form);
 *   <li>{@code latent_kernel}: {@link FusedAttention#latentAttention} over the latent c (MLA, absorbed form).
 * </ul>
 *
 * Only the inputs the chosen kernel reads are allocated (at T = 3000, B = 8 the absorbed queries alone are 0.8 GB).
 */
public final class AttentionKernelWorkload implements AutoCloseable {
  /** Which implementation of the attention core. */
  public enum Kernel {
    HF_MATH("hf_math"), RELPOS("relpos_kernel"), LATENT("latent_kernel");

    private final String id;

    Kernel(String id) {
      this.id = id;
    }

    public String id() {
      return id;
    }

    public static Kernel parse(String id) {
      for (Kernel k : values()) if (k.id.equals(id)) return k;
      throw new IllegalArgumentException("unknown attention kernel '" + id + "': use hf_math, relpos_kernel or latent_kernel");
    }
  }

  private final AttentionShape shape;
  private final Kernel kernel;
  private final int batch;
  private final int frames;
  private final double scale;
  private Tensor q;
  private Tensor k;
  private Tensor v;
  private Tensor u;
  private Tensor w;
  private Tensor qa;
  private Tensor c;
  private Tensor qw;
  private final Tensor p;

  private AttentionKernelWorkload(AttentionShape shape, Kernel kernel, int batch, int frames, long seed) {
    this.shape = shape;
    this.kernel = kernel;
    this.batch = batch;
    this.frames = frames;
    long h = shape.heads();
    long dh = shape.headDim();
    long r = shape.latent();
    this.scale = 1.0 / Math.sqrt(dh);
    org.bytedeco.pytorch.global.torch.manual_seed(seed);
    p = RandomTensors.normal(1.0, 2L * frames - 1, h * dh);
    if (kernel == Kernel.LATENT) {
      // qa . c has variance r sigma_a^2: sigma_a = 0.5 sqrt(dh / r) gives scores of a trained model's size
      qa = RandomTensors.normal(0.5 * Math.sqrt((double) dh / r), batch, h, frames, r);
      c = RandomTensors.normal(1.0, batch, frames, r);
      qw = RandomTensors.normal(0.5, batch, h, frames, dh);
    } else {
      q = RandomTensors.normal(0.5, batch, h, frames, dh);
      k = RandomTensors.normal(0.5, batch, h, frames, dh);
      v = RandomTensors.normal(1.0, batch, h, frames, dh);
      u = RandomTensors.normal(0.1, h, dh);
      w = RandomTensors.normal(0.1, h, dh);
    }
  }

  public static AttentionKernelWorkload create(AttentionShape shape, Kernel kernel, int batch, int frames, long seed) {
    if (batch < 1 || frames < 1) throw new IllegalArgumentException("batch and frames must be >= 1, got " + batch + ", " + frames);
    if (kernel != Kernel.HF_MATH && !FusedAttention.available()) {
      throw new IllegalStateException(kernel.id() + " needs the native kernels (libmha2mla), which did not load here");
    }
    return new AttentionKernelWorkload(shape, kernel, batch, frames, seed);
  }

  /** One call of the kernel over the whole utterance. */
  public Tensor run() {
    int t = frames;
    return switch (kernel) {
      case HF_MATH -> RelativeAttention.attend(q, k, v, p, u, w, null);
      case RELPOS -> FusedAttention.relposAttention(q, k, v, p, u, w, null, t - 1, 0, scale);
      case LATENT -> FusedAttention.latentAttention(qa, c, qw, p, null, t - 1, 0, scale);
    };
  }

  /** The call's floor: flops and fewest bytes (HF math computes the rel-pos function, so it shares that floor). */
  public Roofline.Cost cost() {
    return cost(shape, kernel, batch, frames);
  }

  public static Roofline.Cost cost(AttentionShape shape, Kernel kernel, int batch, int frames) {
    return kernel == Kernel.LATENT
        ? Roofline.latentAttention(batch, shape.heads(), frames, frames, shape.latent(), shape.headDim())
        : Roofline.relposAttention(batch, shape.heads(), frames, frames, shape.headDim());
  }

  /**
   * Bytes the HF-style math materialises at once for one call: AC, raw BD (2T - 1 columns), the padded shift
   * buffer, BD, scores and probabilities, B H T x T floats each. Used to skip shapes that would not fit.
   */
  public static double hfMathScoreBytes(AttentionShape shape, int batch, int frames) {
    double square = (double) batch * shape.heads() * frames * frames * 4;
    return square * 7;
  }

  @Override
  public void close() {
    RandomTensors.close(q, k, v, u, w, qa, c, qw, p);
  }
}
