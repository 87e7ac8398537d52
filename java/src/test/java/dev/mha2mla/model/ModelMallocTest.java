package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.Malloc;
import org.bytedeco.pytorch.Device;
import org.junit.jupiter.api.Test;

class ModelMallocTest {
  @Test
  void onlyACpuModelWithNoWeightAsLargeAsAHugePageFixesMallocsThresholds() {
    assertThat(ConformerCtcModel.fixesMalloc(null, (2 << 20) - 4)).isTrue();
    assertThat(ConformerCtcModel.fixesMalloc(new Device("cpu"), 331_776)).isTrue();
    assertThat(ConformerCtcModel.fixesMalloc(null, 2 << 20)).isFalse();
    // the flagship's feed-forward matrices: 4096 x 1024 float32
    assertThat(ConformerCtcModel.fixesMalloc(null, 16L << 20)).isFalse();
    assertThat(ConformerCtcModel.fixesMalloc(new Device("cuda:0"), 4)).isFalse();
  }

  @Test
  void theShippedModelFixesThemWhenItLoads() throws Exception {
    assumeTrue(!Malloc.describe().startsWith("as "), "the environment fixes malloc's thresholds itself");
    assumeTrue(!"adaptive".equals(System.getProperty(Malloc.PROPERTY)), "-Dmha2mla.malloc=adaptive");
    try (ConformerCtcModel m = ConformerCtcModel.load(Fixtures.repoRoot().resolve("models/conformer-small-synthetic"))) {
      ConformerConfig c = m.config();
      // its largest weights are the feed-forward matrices, [intermediate, hidden] float32
      assertThat(m.largestWeightBytes()).isEqualTo(4L * c.intermediateSize() * c.hiddenSize());
      assertThat(Malloc.describe()).isEqualTo("mmap threshold 32 MiB, trim threshold 256 MiB");
    }
  }
}
