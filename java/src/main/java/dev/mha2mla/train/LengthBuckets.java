package dev.mha2mla.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Length-bucketed batches, so that a batch pads little: each epoch shuffles the utterances, cuts the order into
 * windows of {@code bucket x batchSize}, sorts each window by length (longest first) and cuts it into batches; the
 * batches are then shuffled, and the one holding the longest utterance goes first (an out-of-memory shows at once,
 * as HuggingFace's LengthGroupedSampler arranges). The order of epoch e is a pure function of (seed, e).
 */
public final class LengthBuckets {
  private final long[] lengths;
  private final int batchSize;
  private final int bucket;
  private final SeededStreams streams;

  public LengthBuckets(long[] lengths, int batchSize, int bucket, SeededStreams streams) {
    if (lengths.length == 0) throw new IllegalArgumentException("no utterances to batch");
    this.lengths = lengths.clone();
    this.batchSize = batchSize;
    this.bucket = bucket;
    this.streams = streams;
  }

  /** Batches per epoch: the same every epoch (each window of w utterances gives ceil(w / batchSize)). */
  public int batchesPerEpoch() {
    int window = batchSize * bucket;
    int full = lengths.length / window;
    int rest = lengths.length % window;
    return full * ((window + batchSize - 1) / batchSize) + (rest + batchSize - 1) / batchSize;
  }

  /** The batches of {@code epoch}, as indices into the data. */
  public List<int[]> epoch(long epoch) {
    SplittableRandom random = streams.epochOrder(epoch);
    Integer[] order = new Integer[lengths.length];
    for (int i = 0; i < order.length; i++) order[i] = i;
    for (int i = order.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      Integer t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    List<int[]> batches = new ArrayList<>();
    int window = batchSize * bucket;
    for (int start = 0; start < order.length; start += window) {
      Integer[] w = Arrays.copyOfRange(order, start, Math.min(order.length, start + window));
      Arrays.sort(w, (a, b) -> Long.compare(lengths[b], lengths[a])); // stable: ties keep the shuffled order
      for (int s = 0; s < w.length; s += batchSize) {
        int[] batch = new int[Math.min(batchSize, w.length - s)];
        for (int k = 0; k < batch.length; k++) batch[k] = w[s + k];
        batches.add(batch);
      }
    }
    for (int i = batches.size() - 1; i > 0; i--) Collections.swap(batches, i, random.nextInt(i + 1));
    int longest = 0;
    for (int i = 1; i < batches.size(); i++) if (lengths[batches.get(i)[0]] > lengths[batches.get(longest)[0]]) longest = i;
    Collections.swap(batches, 0, longest);
    return batches;
  }
}
