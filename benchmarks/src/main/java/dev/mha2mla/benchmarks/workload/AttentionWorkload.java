package dev.mha2mla.benchmarks.workload;

import dev.mha2mla.kernels.FusedAttention;
import dev.mha2mla.model.LatentAttention;
import dev.mha2mla.model.AttentionBackend;
import dev.mha2mla.model.Linear;
import dev.mha2mla.model.MultiHeadAttention;
import dev.mha2mla.model.RelativePositionalEmbedding;
import dev.mha2mla.model.SelfAttention;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * One self-attention block on a full utterance, x [B, T, d] in, [B, T, d] out (projections, relative
 * positions, attention, output projection), in the four ways the product can run it:
 *
 * <ul>
 *   <li>{@code mha_torch}: the checkpoint's MHA, HF-style LibTorch math (scores materialised, relative shift);
 *   <li>{@code mha_fused}: the same MHA with the native fused rel-pos kernel;
 *   <li>{@code mla_expanded}: MLA with r = latent, K and V rebuilt from the latent, fused rel-pos kernel;
 *   <li>{@code mla_absorbed}: MLA with W_uk folded into the queries, the native latent kernel over c.
 * </ul>
 *
 * The MHA and MLA blocks share their query, output and position projections and biases u, w; weights are
 * random (speed does not depend on their values).
 */
public final class AttentionWorkload implements AutoCloseable {
  /** How the block is computed. */
  public enum Variant {
    MHA_TORCH("mha_torch"), MHA_FUSED("mha_fused"), MLA_EXPANDED("mla_expanded"), MLA_ABSORBED("mla_absorbed");

    private final String id;

    Variant(String id) {
      this.id = id;
    }

    public String id() {
      return id;
    }

    public boolean latent() {
      return this == MLA_EXPANDED || this == MLA_ABSORBED;
    }

    public static Variant parse(String id) {
      for (Variant v : values()) if (v.id.equals(id)) return v;
      throw new IllegalArgumentException("unknown attention variant '" + id + "': use mha_torch, mha_fused, mla_expanded or mla_absorbed");
    }
  }

  private final AttentionShape shape;
  private final int batch;
  private final int frames;
  private final Linear query;
  private final Linear key;
  private final Linear value;
  private final Linear out;
  private final Linear position;
  private final Linear kvDown;
  private final Linear kUp;
  private final Linear vUp;
  private final Tensor u;
  private final Tensor w;
  private final MultiHeadAttention mha;
  private final LatentAttention mla;
  private final Tensor x;
  private final Tensor relPos;

  private AttentionWorkload(AttentionShape shape, int batch, int frames, long seed) {
    this.shape = shape;
    this.batch = batch;
    this.frames = frames;
    long d = shape.hidden();
    long r = shape.latent();
    torch.manual_seed(seed);
    query = RandomTensors.linear(d, d, true);
    key = RandomTensors.linear(d, d, true);
    value = RandomTensors.linear(d, d, true);
    out = RandomTensors.linear(d, d, true);
    position = RandomTensors.linear(d, d, false);
    kvDown = RandomTensors.linear(r, d, false);
    kUp = RandomTensors.linear(d, r, true);
    vUp = RandomTensors.linear(d, r, true);
    u = RandomTensors.normal(0.1, shape.heads(), shape.headDim());
    w = RandomTensors.normal(0.1, shape.heads(), shape.headDim());
    mha = new MultiHeadAttention(query, key, value, out, position, u, w, shape.heads());
    mla = new LatentAttention(query, kvDown, kUp, vUp, out, position, u, w, shape.heads());
    x = RandomTensors.normal(1.0, batch, frames, d);
    relPos = RelativePositionalEmbedding.table(frames, d);
  }

  /** Random block and input for {@code shape}, B = {@code batch}, T = {@code frames}. */
  public static AttentionWorkload create(AttentionShape shape, int batch, int frames, long seed) {
    if (batch < 1 || frames < 1) throw new IllegalArgumentException("batch and frames must be >= 1, got " + batch + ", " + frames);
    return new AttentionWorkload(shape, batch, frames, seed);
  }

  /** Checks that {@code v} can run here as asked (the fused variants need the native kernels). */
  public static void requireRunnable(Variant v) {
    if (v != Variant.MHA_TORCH && !FusedAttention.available()) {
      throw new IllegalStateException(v.id() + " needs the native kernels (libmha2mla), which did not load here");
    }
  }

  /** One forward pass of the block, computed as {@code v} says. */
  public Tensor run(Variant v) {
    requireRunnable(v);
    return switch (v) {
      case MHA_TORCH -> {
        mha.setBackend(AttentionBackend.TORCH);
        yield mha.forward(x, relPos, null);
      }
      case MHA_FUSED -> {
        mha.setBackend(AttentionBackend.NATIVE);
        yield mha.forward(x, relPos, null);
      }
      case MLA_EXPANDED -> {
        mla.setBackend(AttentionBackend.NATIVE);
        mla.setForm(LatentAttention.Form.EXPANDED);
        yield mla.forward(x, relPos, null);
      }
      case MLA_ABSORBED -> {
        mla.setBackend(AttentionBackend.NATIVE);
        mla.setForm(LatentAttention.Form.ABSORBED);
        yield mla.forward(x, relPos, null);
      }
    };
  }

  /** The block {@code v} runs (its {@link SelfAttention#cacheFloatsPerFrame()} is the cache it needs). */
  public SelfAttention block(Variant v) {
    return v.latent() ? mla : mha;
  }

  public AttentionShape shape() {
    return shape;
  }

  public int batch() {
    return batch;
  }

  public int frames() {
    return frames;
  }

  @Override
  public void close() {
    for (Linear l : new Linear[] {query, key, value, out, position, kvDown, kUp, vUp}) RandomTensors.close(l);
    RandomTensors.close(u, w, x, relPos);
  }
}
