package dev.mha2mla.benchmarks.workload;

/**
 * What a streaming recognizer keeps per past frame and layer (DESIGN.md section 2), in floats:
 *
 * <ul>
 *   <li>{@code kv_cache}: projected K and V, 2d (WeNet's design); a chunk attends over them directly;
 *   <li>{@code input_cache}: the attention input, d (NeMo's design); every chunk recomputes K = x Wk^T, V = x Wv^T
 *       over the whole cache, then attends;
 *   <li>{@code latent_cache}: the MLA latent, r (ours); a chunk's absorbed queries attend over it directly.
 * </ul>
 */
public enum CacheDesign {
  KV_CACHE("kv_cache"), INPUT_CACHE("input_cache"), LATENT_CACHE("latent_cache");

  private final String id;

  CacheDesign(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }

  public static CacheDesign parse(String id) {
    for (CacheDesign d : values()) if (d.id.equals(id)) return d;
    throw new IllegalArgumentException("unknown cache design '" + id + "': use kv_cache, input_cache or latent_cache");
  }

  /** Floats kept per frame per layer: 2d, d or r. */
  public long floatsPerFrame(AttentionShape shape) {
    return switch (this) {
      case KV_CACHE -> 2L * shape.hidden();
      case INPUT_CACHE -> shape.hidden();
      case LATENT_CACHE -> shape.latent();
    };
  }

  /** Bytes kept per frame per layer (float32). */
  public long bytesPerFrame(AttentionShape shape) {
    return 4 * floatsPerFrame(shape);
  }
}
