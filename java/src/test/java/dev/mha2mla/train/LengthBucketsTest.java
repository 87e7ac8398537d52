package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Every epoch visits every utterance once, in batches of similar length, in an order fixed by (seed, epoch). */
class LengthBucketsTest {
  private static final long[] LENGTHS = IntStream.range(0, 103).mapToLong(i -> 1000 + (i * 7919L) % 5000).toArray();

  @Test
  void eachEpochCoversEveryUtteranceOnceInTheAnnouncedNumberOfBatches() {
    LengthBuckets buckets = new LengthBuckets(LENGTHS, 8, 4, new SeededStreams(1));
    for (int epoch = 0; epoch < 3; epoch++) {
      List<int[]> batches = buckets.epoch(epoch);
      assertThat(batches).hasSize(buckets.batchesPerEpoch());
      List<Integer> seen = new ArrayList<>();
      for (int[] b : batches) for (int i : b) seen.add(i);
      assertThat(seen).containsExactlyInAnyOrderElementsOf(IntStream.range(0, LENGTHS.length).boxed().toList());
    }
  }

  @Test
  void theLongestUtteranceComesFirstAndBatchesAreSortedByLength() {
    List<int[]> batches = new LengthBuckets(LENGTHS, 8, 4, new SeededStreams(2)).epoch(0);
    long longest = java.util.Arrays.stream(LENGTHS).max().orElseThrow();
    assertThat(LENGTHS[batches.get(0)[0]]).isEqualTo(longest);
    for (int[] b : batches) for (int k = 1; k < b.length; k++) assertThat(LENGTHS[b[k]]).isLessThanOrEqualTo(LENGTHS[b[k - 1]]);
  }

  @Test
  void orderIsAPureFunctionOfSeedAndEpoch() {
    List<int[]> a = new LengthBuckets(LENGTHS, 8, 4, new SeededStreams(5)).epoch(3);
    List<int[]> b = new LengthBuckets(LENGTHS, 8, 4, new SeededStreams(5)).epoch(3);
    List<int[]> c = new LengthBuckets(LENGTHS, 8, 4, new SeededStreams(5)).epoch(4);
    assertThat(a).usingRecursiveComparison().isEqualTo(b);
    assertThat(a).usingRecursiveComparison().isNotEqualTo(c);
  }
}
