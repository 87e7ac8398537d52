package dev.mha2mla.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.benchmarks.workload.CacheDesign;
import dev.mha2mla.benchmarks.workload.StreamingWorkload;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Cache bytes per frame per layer come from the blocks' API: 2d x 4 for K/V, r x 4 for the latent. */
class CacheMemoryTest {
  @Test
  void bytesPerFrameAreTwoDAgainstR() {
    for (AttentionShape s : new AttentionShape[] {AttentionShape.FLAGSHIP, AttentionShape.SMALL}) {
      MemoryReport.CachePerFrame c = MemoryReport.cachePerFrame(s);
      assertThat(c.kvCacheBytes()).isEqualTo(4L * 2 * s.hidden());
      assertThat(c.inputCacheBytes()).isEqualTo(4L * s.hidden());
      assertThat(c.latentCacheBytes()).isEqualTo(4L * s.latent());
      assertThat(c.kvOverLatent()).isEqualTo(4.0); // r = d / 2: exactly 4x
    }
    assertThat(CacheDesign.KV_CACHE.bytesPerFrame(AttentionShape.FLAGSHIP)).isEqualTo(8192);
    assertThat(CacheDesign.LATENT_CACHE.bytesPerFrame(AttentionShape.FLAGSHIP)).isEqualTo(2048);
  }

  @Test
  void streamsWithinOneGibAtAThirtySecondWindow() {
    // flagship, 24 layers, 1500 frames: K/V 8192 x 24 x 1500 = 294,912,000 B per stream -> 3 streams in 1 GiB
    List<MemoryReport.Budget> rows = MemoryReport.budget(MemoryReport.cachePerFrame(AttentionShape.FLAGSHIP), 24, 1500, 1L << 30);
    assertThat(rows).extracting(MemoryReport.Budget::design).containsExactly("kv_cache", "input_cache", "latent_cache");
    assertThat(rows).extracting(MemoryReport.Budget::bytesPerStream).containsExactly(294_912_000L, 147_456_000L, 73_728_000L);
    assertThat(rows).extracting(MemoryReport.Budget::streams).containsExactly(3L, 7L, 14L);
  }

  @Test
  void aStreamingWorkloadHoldsExactlyItsCache() {
    try (StreamingWorkload w = StreamingWorkload.create(AttentionShape.SMALL, CacheDesign.LATENT_CACHE, 3, 40, 2, 1)) {
      assertThat(w.cacheBytes()).isEqualTo(3L * 42 * AttentionShape.SMALL.latent() * 4);
    }
  }
}
