package dev.mha2mla.benchmarks.workload;


/**
 * The attention sizes a benchmark runs at: hidden size d, heads H (head size d / H) and latent size r.
 *
 * @param name how results name it ("flagship", "small", or a model folder's name)
 */
public record AttentionShape(String name, int hidden, int heads, int latent) {
  /** facebook/wav2vec2-conformer-rel-pos-large-960h-ft: d = 1024, 16 heads of 64, r = d / 2. */
  public static final AttentionShape FLAGSHIP = new AttentionShape("flagship", 1024, 16, 512);
  /** The shipped model (models/conformer-small-synthetic): d = 144, 4 heads of 36, r = d / 2. */
  public static final AttentionShape SMALL = new AttentionShape("small", 144, 4, 72);

  public AttentionShape {
    if (hidden < 1 || heads < 1 || hidden % heads != 0) {
      throw new IllegalArgumentException("hidden size " + hidden + " must be a positive multiple of heads " + heads);
    }
    if (latent < 1) throw new IllegalArgumentException("latent size must be positive, got " + latent);
  }

  public int headDim() {
    return hidden / heads;
  }

  /** "flagship" or "small". */
  public static AttentionShape named(String name) {
    return switch (name) {
      case "flagship" -> FLAGSHIP;
      case "small" -> SMALL;
      default -> throw new IllegalArgumentException("unknown attention shape '" + name + "': use flagship or small");
    };
  }

}
