package dev.mha2mla.benchmarks;

import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.benchmarks.workload.AttentionWorkload;
import dev.mha2mla.benchmarks.workload.CacheDesign;
import dev.mha2mla.eval.bench.CacheBudget;
import dev.mha2mla.eval.bench.NativeMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The memory half of a benchmark run: cache bytes per frame per layer from the attention blocks' own API, the
 * streams that fit a cache budget, and peak resident memory measured around calls ({@link NativeMemory}).
 */
public record MemoryReport(List<CachePerFrame> cachePerFrame, List<Budget> budget, List<PeakRow> peaks) {

  /**
   * Bytes one frame costs one layer, per cache design.
   *
   * @param kvCacheBytes MHA's K and V: {@code MultiHeadAttention.cacheFloatsPerFrame() x 4} (= 2d x 4)
   * @param inputCacheBytes the attention input: d x 4 (NeMo; no block keeps it, so by definition)
   * @param latentCacheBytes MLA's latent: {@code LatentAttention.cacheFloatsPerFrame() x 4} (= r x 4)
   * @param kvOverLatent kvCacheBytes / latentCacheBytes (4 exactly at r = d / 2)
   */
  public record CachePerFrame(String shape, int hidden, int latent, long kvCacheBytes, long inputCacheBytes,
      long latentCacheBytes, double kvOverLatent) {}

  /**
   * Concurrent streams whose caches fit {@code budgetBytes}, each keeping {@code windowFrames} frames in every layer.
   */
  public record Budget(String shape, int layers, long windowFrames, long budgetBytes, String design, long bytesPerFrameLayer,
      long bytesPerStream, long streams) {}

  /**
   * Peak resident memory around one call.
   *
   * @param group which benchmark's workload ("attention.forward", "streaming.step", ...)
   * @param params its parameters, as in the JMH results
   * @param increaseBytes peak above the resident memory just before the call
   * @param cacheBytes for streaming: the cache tensors the workload holds (allocated before the call)
   */
  public record PeakRow(String group, Map<String, String> params, long baselineBytes, long peakBytes, long increaseBytes,
      String method, Long cacheBytes) {}

  /** Cache rows for {@code shape}, read from real MHA and MLA blocks of that size. */
  public static CachePerFrame cachePerFrame(AttentionShape shape) {
    try (AttentionWorkload w = AttentionWorkload.create(shape, 1, 1, 1)) {
      long kv = CacheBudget.bytesPerFrame(w.block(AttentionWorkload.Variant.MHA_FUSED));
      long latent = CacheBudget.bytesPerFrame(w.block(AttentionWorkload.Variant.MLA_ABSORBED));
      return new CachePerFrame(shape.name(), shape.hidden(), shape.latent(), kv, CacheDesign.INPUT_CACHE.bytesPerFrame(shape),
          latent, (double) kv / latent);
    }
  }

  /** One budget row per cache design for a model of {@code layers} layers. */
  public static List<Budget> budget(CachePerFrame c, int layers, long windowFrames, long budgetBytes) {
    List<Budget> out = new ArrayList<>();
    long[] perFrame = {c.kvCacheBytes(), c.inputCacheBytes(), c.latentCacheBytes()};
    CacheDesign[] designs = {CacheDesign.KV_CACHE, CacheDesign.INPUT_CACHE, CacheDesign.LATENT_CACHE};
    for (int i = 0; i < designs.length; i++) {
      out.add(new Budget(c.shape(), layers, windowFrames, budgetBytes, designs[i].id(), perFrame[i],
          CacheBudget.bytesPerStream(perFrame[i], layers, windowFrames),
          CacheBudget.streamsWithin(budgetBytes, perFrame[i], layers, windowFrames)));
    }
    return out;
  }
}
