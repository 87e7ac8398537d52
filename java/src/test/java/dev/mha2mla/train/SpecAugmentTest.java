package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Span masks follow HuggingFace's _compute_mask_indices; draws are a pure function of (seed, step). */
class SpecAugmentTest {
  private static int spansOf(boolean[] row) {
    int n = 0;
    for (int t = 0; t < row.length; t++) if (row[t] && (t == 0 || !row[t - 1])) n++;
    return n;
  }

  private static int count(boolean[] row) {
    int n = 0;
    for (boolean b : row) if (b) n++;
    return n;
  }

  @Test
  void minMasksSpansOfTheConfiguredLengthStayInsideEachRow() {
    // prob 0.05, length 10, min 2 (the fixture config): 0.05 * 64 / 10 + eps < 2, so every row gets 2 spans
    long[] lengths = {64, 44};
    boolean[][] m = SpecAugment.spans(2, 64, lengths, 0.05, 10, 2, new SplittableRandom(1));
    for (int b = 0; b < 2; b++) {
      assertThat(count(m[b])).isBetween(10, 20);
      assertThat(spansOf(m[b])).isBetween(1, 2);
    }
    for (int t = 44; t < 64; t++) assertThat(m[1][t]).as("frame %d of the 44-frame row", t).isFalse();
  }

  @Test
  void spanCountFollowsProbabilityTimesLength() {
    // prob 0.5, length 10, 1000 frames: floor(0.5 * 1000 / 10 + eps) = 50 spans drawn without replacement
    boolean[][] m = SpecAugment.spans(1, 1000, null, 0.5, 10, 2, new SplittableRandom(3));
    assertThat(count(m[0])).isBetween(200, 500); // overlaps merge spans
  }

  @Test
  void aRowTooShortForAnySpanGetsHfsDummyLastFrame() {
    // the second row has 5 real frames < length 10: no span fits, HF masks index sequence-1 as a dummy
    boolean[][] m = SpecAugment.spans(2, 30, new long[] {30, 5}, 0.05, 10, 2, new SplittableRandom(5));
    assertThat(count(m[1])).isEqualTo(1);
    assertThat(m[1][29]).isTrue();
  }

  @Test
  void theSameSeedAndStepGiveTheSameMasksAndOtherStepsDiffer() {
    SeededStreams streams = new SeededStreams(11);
    SpecAugment aug = new SpecAugment(true, 0.3, 4, 1, 0, 10, 0);
    long[] lengths = {100, 80, 60};
    boolean[][] a = aug.timeMask(lengths, 100, streams.stepMasks(7));
    boolean[][] b = aug.timeMask(lengths, 100, new SeededStreams(11).stepMasks(7));
    boolean[][] c = aug.timeMask(lengths, 100, streams.stepMasks(8));
    assertThat(a).isDeepEqualTo(b);
    assertThat(a).isNotEqualTo(c);
  }

  @Test
  void disabledOrShortBatchesAreNotMasked() {
    assertThat(SpecAugment.off().timeMask(new long[] {50}, 50, new SplittableRandom(1))).isNull();
    SpecAugment aug = new SpecAugment(true, 0.05, 10, 2, 0, 10, 0);
    assertThat(aug.timeMask(new long[] {8}, 8, new SplittableRandom(1))).isNull();
  }
}
