package dev.mha2mla.benchmarks.workload;

import dev.mha2mla.kernels.FusedAttention;
import dev.mha2mla.model.Linear;
import dev.mha2mla.model.RelativeAttention;
import dev.mha2mla.model.RelativePositionalEmbedding;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * One self-attention layer of a streaming recognizer in steady state: a chunk of s new frames x [B, s, d] arrives
 * with {@code cache} past frames already kept; the chunk's queries sit at positions cache .. cache + s - 1 and
 * attend over all cache + s frames (qOffset = cache). Each {@link #step()} writes the chunk into the slot after
 * the cache (the same slot every time, so the cache neither grows nor moves) and returns the layer's output
 * [B, s, d]. Caches are contiguous tensors; positions use the HF table for cache + s frames, projected once
 * (it depends on no input), zero row cache + s - 1.
 *
 * <pre>
 *   kv_cache:     q, k, v = x Wq, x Wk, x Wv;  K[cache..] = k, V[cache..] = v;  o = relpos(q, K, V);  out = o Wo
 *   input_cache:  X[cache..] = x;  K = X Wk, V = X Wv (all cache + s frames, every chunk);  o = relpos(q, K, V)
 *   latent_cache: C[cache..] = x W_down;  qa_h = (q_h + u_h) W_uk,h;  z = latent(qa, C, q + w);
 *                 o_h = z_h W_uv,h^T + bv_h;  out = o Wo   (the per-head products as one bmm over heads)
 * </pre>
 *
 * {@link #attend()} is the kernel call alone (inputs prepared once), for the roofline.
 */
public final class StreamingWorkload implements AutoCloseable {
  private final AttentionShape shape;
  private final CacheDesign design;
  private final int batch;
  private final int cacheFrames;
  private final int chunk;
  private final int zeroRow;
  private final double scale;
  private final Linear query;
  private final Linear key;
  private final Linear value;
  private final Linear out;
  private final Linear kvDown;
  private final Linear kUp;
  private final Linear vUp;
  private final Tensor u;
  private final Tensor w;
  private final Tensor p;
  private final Tensor x;
  // latent design: W_uk as [H, dh, r] and W_uv^T as [H, r, dh], per head, contiguous
  private Tensor wuk;
  private Tensor wuvT;
  private Tensor cacheK;
  private Tensor cacheV;
  private Tensor cacheX;
  private Tensor cacheC;
  // inputs of attend(): the chunk's queries, prepared once
  private Tensor q0;
  private Tensor qa0;
  private Tensor qw0;

  private StreamingWorkload(AttentionShape shape, CacheDesign design, int batch, int cacheFrames, int chunk, long seed) {
    this.shape = shape;
    this.design = design;
    this.batch = batch;
    this.cacheFrames = cacheFrames;
    this.chunk = chunk;
    long d = shape.hidden();
    long h = shape.heads();
    long dh = shape.headDim();
    long r = shape.latent();
    long total = (long) cacheFrames + chunk;
    this.zeroRow = Math.toIntExact(total - 1);
    this.scale = 1.0 / Math.sqrt(dh);
    torch.manual_seed(seed);
    query = RandomTensors.linear(d, d, true);
    out = RandomTensors.linear(d, d, true);
    u = RandomTensors.normal(0.1, h, dh);
    w = RandomTensors.normal(0.1, h, dh);
    boolean latent = design == CacheDesign.LATENT_CACHE;
    key = latent ? null : RandomTensors.linear(d, d, true);
    value = latent ? null : RandomTensors.linear(d, d, true);
    kvDown = latent ? RandomTensors.linear(r, d, false) : null;
    kUp = latent ? RandomTensors.linear(d, r, true) : null;
    vUp = latent ? RandomTensors.linear(d, r, true) : null;
    Linear position = RandomTensors.linear(d, d, false);
    try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
      Tensor projected = position.forward(RelativePositionalEmbedding.table(total, d)).contiguous();
      projected.retainReference();
      p = projected;
    }
    RandomTensors.close(position);
    x = RandomTensors.normal(1.0, batch, chunk, d);
    switch (design) {
      case KV_CACHE -> {
        cacheK = RandomTensors.normal(0.5, batch, h, total, dh);
        cacheV = RandomTensors.normal(1.0, batch, h, total, dh);
        q0 = RandomTensors.normal(0.5, batch, h, chunk, dh);
      }
      case INPUT_CACHE -> cacheX = RandomTensors.normal(1.0, batch, total, d);
      case LATENT_CACHE -> {
        cacheC = RandomTensors.normal(1.0, batch, total, r);
        wuk = kUp.weight().view(h, dh, r);
        wuvT = vUp.weight().view(h, dh, r).transpose(1, 2).contiguous();
        qa0 = RandomTensors.normal(0.5 * Math.sqrt((double) dh / r), batch, h, chunk, r);
        qw0 = RandomTensors.normal(0.5, batch, h, chunk, dh);
      }
    }
  }

  public static StreamingWorkload create(AttentionShape shape, CacheDesign design, int batch, int cacheFrames, int chunk,
      long seed) {
    if (batch < 1 || cacheFrames < 0 || chunk < 1) {
      throw new IllegalArgumentException("batch >= 1, cache >= 0 and chunk >= 1 frames, got " + batch + ", " + cacheFrames + ", " + chunk);
    }
    if (!FusedAttention.available()) {
      throw new IllegalStateException("streaming benchmarks need the native kernels (libmha2mla), which did not load here");
    }
    return new StreamingWorkload(shape, design, batch, cacheFrames, chunk, seed);
  }

  /** One chunk through the layer's attention; the cache slot after the kept frames is overwritten. */
  public Tensor step() {
    long h = shape.heads();
    long dh = shape.headDim();
    long r = shape.latent();
    Tensor q = RelativeAttention.heads(query.forward(x), h);                    // [B, H, s, dh]
    Tensor o;
    switch (design) {
      case KV_CACHE -> {
        cacheK.narrow(2, cacheFrames, chunk).copy_(RelativeAttention.heads(key.forward(x), h));
        cacheV.narrow(2, cacheFrames, chunk).copy_(RelativeAttention.heads(value.forward(x), h));
        o = FusedAttention.relposAttention(q, cacheK, cacheV, p, u, w, null, zeroRow, cacheFrames, scale);
      }
      case INPUT_CACHE -> {
        cacheX.narrow(1, cacheFrames, chunk).copy_(x);
        Tensor k = RelativeAttention.heads(key.forward(cacheX), h);            // recomputed over the whole cache
        Tensor v = RelativeAttention.heads(value.forward(cacheX), h);
        o = FusedAttention.relposAttention(q, k, v, p, u, w, null, zeroRow, cacheFrames, scale);
      }
      case LATENT_CACHE -> {
        cacheC.narrow(1, cacheFrames, chunk).copy_(kvDown.forward(x));
        // absorption per head as one batched product over the heads, batch and chunk folded into rows: a broadcast
        // matmul of [B, H, s, dh] by [H, dh, r] would copy W_uk B times per chunk, more bytes than the cache itself
        Tensor rows = q.add(u.unsqueeze(1)).permute(1, 0, 2, 3).reshape(h, (long) batch * chunk, dh);
        Tensor qa = torch.bmm(rows, wuk).view(h, batch, chunk, r).permute(1, 0, 2, 3);    // [B, H, s, r], strided
        Tensor qw = q.add(w.unsqueeze(1));
        Tensor z = FusedAttention.latentAttention(qa, cacheC, qw, p, null, zeroRow, cacheFrames, scale);
        Tensor zRows = z.permute(1, 0, 2, 3).reshape(h, (long) batch * chunk, r);
        o = torch.bmm(zRows, wuvT).view(h, batch, chunk, dh).permute(1, 0, 2, 3).add(vUp.bias().view(h, 1, dh));
      }
      default -> throw new IllegalStateException(design.toString());
    }
    return out.forward(RelativeAttention.mergeHeads(o));
  }

  /**
   * For tests, latent design only: the layer output for the current cache (after a {@link #step()}) in expanded form,
   * K = C W_uk^T + bk and V = C W_uv^T + bv rebuilt for every kept frame, then rel-pos attention of the chunk.
   */
  Tensor expandedReference() {
    if (design != CacheDesign.LATENT_CACHE) throw new IllegalStateException("only the latent cache has an expanded form");
    long h = shape.heads();
    Tensor q = RelativeAttention.heads(query.forward(x), h);
    Tensor k = RelativeAttention.heads(kUp.forward(cacheC), h);
    Tensor v = RelativeAttention.heads(vUp.forward(cacheC), h);
    Tensor o = FusedAttention.relposAttention(q, k, v, p, u, w, null, zeroRow, cacheFrames, scale);
    return out.forward(RelativeAttention.mergeHeads(o));
  }

  /** The attention kernel call alone over cache + chunk (kv_cache: rel-pos kernel; latent_cache: latent kernel). */
  public Tensor attend() {
    return switch (design) {
      case KV_CACHE -> FusedAttention.relposAttention(q0, cacheK, cacheV, p, u, w, null, zeroRow, cacheFrames, scale);
      case LATENT_CACHE -> FusedAttention.latentAttention(qa0, cacheC, qw0, p, null, zeroRow, cacheFrames, scale);
      case INPUT_CACHE -> throw new IllegalArgumentException(
          "input_cache has no kernel of its own: it recomputes K/V, then calls the kv_cache kernel; time step() instead");
    };
  }

  /** The floor of {@link #attend()}. */
  public Roofline.Cost attendCost() {
    return attendCost(shape, design, batch, cacheFrames, chunk);
  }

  public static Roofline.Cost attendCost(AttentionShape shape, CacheDesign design, int batch, int cacheFrames, int chunk) {
    long keys = (long) cacheFrames + chunk;
    return design == CacheDesign.LATENT_CACHE
        ? Roofline.latentAttention(batch, shape.heads(), chunk, keys, shape.latent(), shape.headDim())
        : Roofline.relposAttention(batch, shape.heads(), chunk, keys, shape.headDim());
  }

  /** Bytes of the cache tensors this layer holds for the batch (cache + one chunk of frames). */
  public long cacheBytes() {
    return (long) batch * ((long) cacheFrames + chunk) * design.bytesPerFrame(shape);
  }

  public CacheDesign design() {
    return design;
  }

  @Override
  public void close() {
    for (Linear l : new Linear[] {query, key, value, out, kvDown, kUp, vUp}) RandomTensors.close(l);
    RandomTensors.close(u, w, p, x, cacheK, cacheV, cacheX, cacheC, q0, qa0, qw0, wuk, wuvT);
  }
}
