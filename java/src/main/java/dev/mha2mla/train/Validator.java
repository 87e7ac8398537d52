package dev.mha2mla.train;

import dev.mha2mla.distributed.Group;
import dev.mha2mla.eval.EditCounts;
import dev.mha2mla.eval.ErrorRate;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.CtcVocabulary;
import dev.mha2mla.io.Json;
import dev.mha2mla.kernels.TorchTensors;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Validation: the CTC loss and the word error rate of greedy transcripts on a held-out set, in eval form (no
 * SpecAugment), in batches of utterances of similar length (a fixed order, so the numbers are reproducible). In
 * chunk-aware training batch k is decoded at chunk size k mod n of the set, as a stream of that chunk would decode it,
 * so every size is scored on about 1/n of the set and the loss is the one model's loss over all of them.
 */
final class Validator {
  private final ConformerCtcModel model;
  private final TrainingData data;
  private final CtcLoss loss;
  private final CtcVocabulary vocabulary;
  private final int[][] batches;
  private final StreamingTraining streaming;
  private final Group group;

  /** What one rank found for one validation batch: each utterance's loss share and transcript. */
  record BatchResult(int batch, double[] shares, String[] hypotheses) {}

  Validator(ConformerCtcModel model, TrainingData data, CtcLoss loss, CtcVocabulary vocabulary, int batchSize,
      StreamingTraining streaming, Group group) {
    this.group = group;
    this.model = model;
    this.streaming = streaming;
    this.data = data;
    this.loss = loss;
    this.vocabulary = vocabulary;
    Integer[] order = IntStream.range(0, data.size()).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.comparingLong((Integer i) -> data.item(i).samples()).reversed());
    int n = (data.size() + batchSize - 1) / batchSize;
    batches = new int[n][];
    for (int b = 0; b < n; b++) {
      int from = b * batchSize;
      batches[b] = Arrays.stream(order, from, Math.min(order.length, from + batchSize)).mapToInt(Integer::intValue).toArray();
    }
  }

  /**
   * Scores the set. In a data-parallel run rank r decodes batches r, r + W, ...; the results are gathered and every
   * rank sums them in batch order, so every rank reaches the decision one process would, from the same numbers.
   */
  Evaluation run(long step, long epoch, double bestSoFar) throws IOException {
    long start = System.nanoTime();
    List<BatchResult> mine = new ArrayList<>();
    for (int k = group.rank(); k < batches.length; k += group.worldSize()) mine.add(decode(k));
    BatchResult[] all = new BatchResult[batches.length];
    if (group.isSingle()) {
      for (BatchResult r : mine) all[r.batch()] = r;
    } else {
      byte[] payload = Json.MAPPER.writeValueAsBytes(mine);
      for (byte[] part : group.allGather("validation at update " + step, payload)) {
        for (BatchResult r : Json.MAPPER.readValue(part, BatchResult[].class)) all[r.batch()] = r;
      }
    }
    double lossSum = 0;
    EditCounts words = EditCounts.ZERO;
    Map<String, EditCounts> byChunk = new LinkedHashMap<>();
    for (int k = 0; k < batches.length; k++) {
      int size = chunkOf(k);
      for (int b = 0; b < batches[k].length; b++) {
        lossSum += all[k].shares()[b];
        String reference = data.item(batches[k][b]).utterance().transcript();
        EditCounts e = ErrorRate.words(reference, all[k].hypotheses()[b]);
        words = words.plus(e);
        byChunk.merge(StreamingTraining.name(size), e, EditCounts::plus);
      }
    }
    double mean = lossSum / data.size();
    Map<String, Double> rates = null;
    if (streaming != null) {
      rates = new LinkedHashMap<>();
      for (int c : streaming.chunkSizes()) {
        EditCounts e = byChunk.get(StreamingTraining.name(c));
        if (e != null) rates.put(StreamingTraining.name(c), e.rate());
      }
    }
    return new Evaluation(step, epoch, mean, words.rate(), words.errors(), words.referenceLength(), data.size(),
        (System.nanoTime() - start) / 1e9, mean < bestSoFar, rates);
  }

  private int chunkOf(int k) {
    return streaming == null ? StreamingTraining.FULL : streaming.chunkSizes().get(k % streaming.chunkSizes().size());
  }

  private BatchResult decode(int k) throws IOException {
    int[] indices = batches[k];
    TrainingData.Batch batch = data.batch(indices);
    double[] shares = new double[indices.length];
    String[] hypotheses = new String[indices.length];
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor input = TorchTensors.floats(batch.audio(), batch.size(), batch.paddedSamples());
      ConformerCtcModel.Output out = model.forward(input, Trainer.padded(batch) ? batch.sampleLengths() : null,
          streaming == null ? null : streaming.chunking(chunkOf(k)), null, null, null);
      float[] nll = TorchTensors.toFloats(loss.perUtterance(out.logits(), out.frameLengths(), batch.labels()));
      long[] best = TorchTensors.toLongs(out.logits().argmax(new LongOptional(-1), false));
      int frames = (int) out.logits().size(1);
      for (int b = 0; b < batch.size(); b++) {
        shares[b] = loss.perUtteranceShare(nll[b], batch.labels().get(b).length);
        hypotheses[b] = vocabulary.decode(Arrays.copyOfRange(best, b * frames, b * frames + (int) out.frameLengths()[b]));
      }
    }
    return new BatchResult(k, shares, hypotheses);
  }
}
