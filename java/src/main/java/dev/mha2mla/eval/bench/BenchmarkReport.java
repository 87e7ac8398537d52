package dev.mha2mla.eval.bench;

import dev.mha2mla.io.RunInfo;
import java.util.List;

/**
 * What {@code mha2mla benchmark} and the pipeline write ({@code <model>_benchmark.json}): speed and memory of one
 * model folder on one device, timed with {@link TimingHarness} on random audio of several lengths or on the
 * utterances of a dataset (see {@link ModelBenchmark}).
 *
 * @param model the model folder
 * @param dataset the dataset whose utterances were timed, null for random audio
 * @param attentionType "mha" or "mla"
 * @param latentDim r for an MLA model, null for MHA
 * @param attentionBackend "native" (fused kernels) or "torch" (LibTorch operations)
 * @param latentForm "expanded" or "absorbed" for an MLA model, null for MHA
 * @param batchSize utterances per forward pass
 * @param warmup untimed forward passes per length
 * @param repeats timed forward passes per length
 * @param summary the headline numbers, in the shape the pipeline's comparison report reads
 * @param cache what a streaming decoder of this model must keep
 * @param machine this machine's measured ceilings (CPU runs), for reading the numbers against
 * @param threads the configured CPU thread count (the most a pass may use)
 * @param adaptiveThreads whether each pass used the cores free at its start (the default) rather than {@code threads}
 * @param lengths one entry per audio length or utterance
 */
public record BenchmarkReport(
    String model,
    String dataset,
    String attentionType,
    List<Integer> latentDims,
    int hiddenSize,
    int layers,
    int heads,
    String device,
    int threads,
    boolean adaptiveThreads,
    String attentionBackend,
    String latentForm,
    int batchSize,
    int warmup,
    int repeats,
    Summary summary,
    Cache cache,
    Machine machine,
    List<Length> lengths,
    RunInfo run) {

  /**
   * The headline numbers (the pipeline's comparison report reads this node).
   *
   * @param realTimeFactor median over the lengths of (median forward time / seconds of audio in the batch); below 1
   *     is faster than real time
   * @param realTimeFactorIqr interquartile range of those per-length real-time factors
   * @param peakNativeBytes the largest peak resident memory increase during one forward pass (-1 when not measured)
   * @param cacheBytesPerFramePerLayer what a streaming decoder keeps per frame and layer (from the model's blocks)
   * @param utteranceSeconds audio seconds of each length
   * @param latencySeconds median forward time of each length
   * @param latencyMsPerAudioSecond 1000 x realTimeFactor
   * @param peakResidentBytes the most resident memory of the process during a pass, weights included (-1 when not
   *     measured)
   * @param loadAverageBefore the system's one-minute load average before the timed passes (-1 where unknown): other
   *     work on the machine slows the passes down
   * @param loadAverageAfter the same after them
   */
  public record Summary(double realTimeFactor, double realTimeFactorIqr, long peakNativeBytes,
      long cacheBytesPerFramePerLayer, double[] utteranceSeconds, double[] latencySeconds, double latencyMsPerAudioSecond,
      long peakResidentBytes, double loadAverageBefore, double loadAverageAfter) {}

  /**
   * Streaming cache sizes, from the model's own attention blocks ({@code cacheFloatsPerFrame() x 4}).
   *
   * @param bytesPerFramePerLayer this model: 2d x 4 for MHA, r x 4 for MLA
   * @param bytesPerFrame summed over layers
   * @param mhaBytesPerFramePerLayer what the MHA original keeps (2d x 4), for comparison
   * @param reductionVsMha mhaBytesPerFramePerLayer / bytesPerFramePerLayer
   * @param windowFrames the attention window a stream keeps (1500 frames = 30 s)
   * @param budgetBytes memory set aside for caches (1 GiB)
   * @param streamsWithinBudget concurrent streams whose caches fit the budget, this model
   * @param mhaStreamsWithinBudget the same for the MHA original
   */
  public record Cache(long bytesPerFramePerLayer, long bytesPerFrame, long mhaBytesPerFramePerLayer, double reductionVsMha,
      long windowFrames, long budgetBytes, long streamsWithinBudget, long mhaStreamsWithinBudget) {}

  /** Measured ceilings: copy bandwidth (read + write) and LibTorch 1024^3 matmul rate. */
  public record Machine(double copyGbytesPerSecond, double gemmGflopsPerSecond) {}

  /**
   * One timed input: an audio length, or one utterance.
   *
   * @param utterance the utterance's id, null for random audio
   * @param audioSeconds seconds of audio per utterance
   * @param frames encoder frames per utterance
   * @param medianSeconds median wall time of one forward pass of the batch (audio to logits)
   * @param realTimeFactor medianSeconds / (batch x audioSeconds)
   * @param latencyMsPerAudioSecond 1000 x realTimeFactor
   * @param peakMemoryBytes most resident memory during one forward pass (null on a GPU)
   * @param peakMemoryIncreaseBytes that peak above the resident memory just before the pass
   * @param memoryMethod how the peak was read (see {@link NativeMemory})
   * @param threadsUsed CPU threads of the last timed pass: the configured count, or with the adaptive default the
   *     cores other processes left free then (see {@code CpuThreads})
   */
  public record Length(String utterance, double audioSeconds, long samples, long frames, double medianSeconds, double q1Seconds,
      double q3Seconds, double iqrSeconds, int timedPasses, double realTimeFactor, double latencyMsPerAudioSecond,
      Long peakMemoryBytes, Long peakMemoryIncreaseBytes, String memoryMethod, int threadsUsed) {}
}
