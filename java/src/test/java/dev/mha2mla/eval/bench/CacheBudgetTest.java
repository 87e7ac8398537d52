package dev.mha2mla.eval.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Streams within a budget: floor(budget / (layers x window x bytes per frame per layer)). */
class CacheBudgetTest {
  @Test
  void streamsWithinOneGibAtAThirtySecondWindow() {
    // flagship, 24 layers, 1500 frames: K/V 8192 x 24 x 1500 = 294,912,000 B per stream -> 3 streams in 1 GiB;
    // latent (r = 512) 2048 B per frame per layer -> 73,728,000 B, 14 streams
    assertThat(CacheBudget.bytesPerStream(8192, 24, 1500)).isEqualTo(294_912_000L);
    assertThat(CacheBudget.streamsWithin(1L << 30, 8192, 24, 1500)).isEqualTo(3);
    assertThat(CacheBudget.bytesPerStream(2048, 24, 1500)).isEqualTo(73_728_000L);
    assertThat(CacheBudget.streamsWithin(1L << 30, 2048, 24, 1500)).isEqualTo(14);
  }

  @Test
  void emptySizesAreRefused() {
    assertThatThrownBy(() -> CacheBudget.bytesPerStream(0, 24, 1500)).isInstanceOf(IllegalArgumentException.class);
  }
}
