package dev.mha2mla.eval;

import dev.mha2mla.RecognizerStream;
import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.StreamOptions;
import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.TextNormalizer;
import dev.mha2mla.data.TrainingWords;
import dev.mha2mla.data.Utterance;
import dev.mha2mla.distributed.Group;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RunInfo;
import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Transcribes a dataset batch by batch and scores it. Only one batch of audio is in memory at a time;
 * transcripts and scores of all utterances are kept for the report.
 *
 * <pre>{@code
 * try (SpeechRecognizer asr = SpeechRecognizer.open(modelDir)) {
 *   EvaluationReport r = Evaluator.of(asr, 8).evaluate(Datasets.open(testSet), modelDir.toString(), "cpu", null);
 *   System.out.printf("WER %.2f%%%n", 100 * r.wer());
 * }
 * }</pre>
 */
public final class Evaluator {
  /** Turns a batch of 16-bit-range float samples into one text per utterance, in order. */
  @FunctionalInterface
  public interface Transcriber {
    List<String> transcribe(List<float[]> batch);
  }

  /** Called after each batch with the utterances done so far and their summed word counts. */
  @FunctionalInterface
  public interface Progress {
    void batchDone(int utterancesDone, EditCounts wordsSoFar);
  }

  private final Transcriber transcriber;
  private final int sampleRate;
  private final int batchSize;
  private final int worstCount;
  private final String decoding;
  // checks one utterance's samples before it is transcribed, so that a refusal can name the file; may be null
  private final java.util.function.Consumer<float[]> inputCheck;
  // the model folder whose training words the references are checked against; may be null
  private final Path modelFolder;

  /**
   * @param sampleRate the rate the transcriber expects; audio at any other rate is an error naming the file
   * @param worstCount how many utterances the report lists as worst
   */
  public Evaluator(Transcriber transcriber, int sampleRate, int batchSize, int worstCount) {
    this(transcriber, sampleRate, batchSize, worstCount, FULL_UTTERANCE);
  }

  /** @param decoding how the transcriber decodes, in words, for the report */
  public Evaluator(Transcriber transcriber, int sampleRate, int batchSize, int worstCount, String decoding) {
    this(transcriber, sampleRate, batchSize, worstCount, decoding, null, null);
  }

  private Evaluator(Transcriber transcriber, int sampleRate, int batchSize, int worstCount, String decoding,
      java.util.function.Consumer<float[]> inputCheck, Path modelFolder) {
    this.inputCheck = inputCheck;
    this.modelFolder = modelFolder;
    if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    if (worstCount < 0) throw new IllegalArgumentException("worst count must be >= 0, got " + worstCount);
    this.transcriber = transcriber;
    this.sampleRate = sampleRate;
    this.batchSize = batchSize;
    this.worstCount = worstCount;
    this.decoding = decoding;
  }

  /** The report's decoding field for whole-utterance transcription. */
  public static final String FULL_UTTERANCE = "full utterance";

  /** Greedy CTC transcription with {@code asr}, {@code batchSize} utterances per forward pass, the 10 worst listed. */
  public static Evaluator of(SpeechRecognizer asr, int batchSize) {
    return new Evaluator(batch -> asr.transcribeAll(batch, batch.size()).stream().map(SpeechRecognizer.Transcript::text)
        .toList(), asr.normalizer().samplingRate(), batchSize, 10, FULL_UTTERANCE, asr::checkInput, asr.source());
  }

  /**
   * Streaming decoding with {@code asr}: each utterance fed to its own {@link RecognizerStream} one chunk of audio
   * at a time (chunkFrames x the model's stride in samples), as a live source would deliver it.
   */
  public static Evaluator streaming(SpeechRecognizer asr, StreamOptions options) {
    int piece = Math.toIntExact(options.chunkFrames() * asr.model().featureEncoder().totalStride());
    Transcriber t = batch -> batch.stream().map(samples -> {
      try (RecognizerStream stream = asr.openStream(options)) {
        for (int start = 0; start < samples.length; start += piece) {
          stream.accept(java.util.Arrays.copyOfRange(samples, start, Math.min(samples.length, start + piece)));
        }
        return stream.finish().text();
      }
    }).toList();
    String decoding;
    try (RecognizerStream probe = asr.openStream(options)) {
      WaveformStatistics n = probe.normalization();
      decoding = describe(options, asr) + (n == null ? ", raw samples" : String.format(java.util.Locale.ROOT,
          ", samples normalised with fixed mean %.6g and std %.6g", n.mean(), n.std()))
          + ", " + probe.cacheKind().name().toLowerCase(java.util.Locale.ROOT) + " cache";
    }
    return new Evaluator(t, asr.normalizer().samplingRate(), 1, 10, decoding, null, asr.source());
  }

  /** "streaming: chunks of 16 frames (320 ms), left context 512 frames (10.24 s)". */
  public static String describe(StreamOptions options, SpeechRecognizer asr) {
    double frameMs = 1000.0 * asr.model().featureEncoder().totalStride() / asr.normalizer().samplingRate();
    return String.format(java.util.Locale.ROOT, "streaming: chunks of %d frames (%.0f ms), left context %d frames (%.2f s)",
        options.chunkFrames(), options.chunkFrames() * frameMs, options.leftContextFrames(),
        options.leftContextFrames() * frameMs / 1000);
  }

  public Evaluator withWorstCount(int n) {
    return new Evaluator(transcriber, sampleRate, batchSize, n, decoding, inputCheck, modelFolder);
  }

  /**
   * @param progress may be null
   * @throws IllegalArgumentException if the dataset is empty
   */
  public EvaluationReport evaluate(Dataset dataset, String model, String device, Progress progress) throws IOException {
    return evaluate(dataset, model, device, progress, Group.SINGLE);
  }

  /**
   * One rank's part of an evaluation over several processes: rank r transcribes batches r, r + W, ... (the batches
   * one process would form), the transcripts and timings are gathered, and every rank returns the report one process
   * would write, error counts and WER exactly equal; the recognition time is summed over the ranks.
   *
   * @param progress may be null; told this rank's utterances and counts
   */
  public EvaluationReport evaluate(Dataset dataset, String model, String device, Progress progress, Group group)
      throws IOException {
    try (CpuThreads.Pinned pinned = CpuThreads.pin()) {
      return evaluatePinned(dataset, model, device, progress, group);
    } catch (IOException | RuntimeException e) {
      group.failed(e);
      throw e;
    }
  }

  /** This rank's results: utterance positions, sample counts and scores, and the time spent recognising. */
  record Part(int[] positions, int[] samples, UtteranceScore[] scores, long recognitionNanos) {}

  private EvaluationReport evaluatePinned(Dataset dataset, String model, String device, Progress progress, Group group)
      throws IOException {
    List<Utterance> all = dataset.utterances();
    if (all.isEmpty()) throw new IllegalArgumentException(dataset.name() + ": the dataset has no utterances to evaluate");
    TrainingWords known = modelFolder == null ? null : TrainingWords.read(modelFolder);
    OutOfVocabulary outside = known == null ? null : OutOfVocabulary.of(known, all);
    long start = System.nanoTime();
    List<Part> parts = new ArrayList<>();
    EditCounts wordsSoFar = EditCounts.ZERO;
    int done = 0;
    int batches = (all.size() + batchSize - 1) / batchSize;
    for (int k = group.rank(); k < batches; k += group.worldSize()) {
      int from = k * batchSize;
      List<Utterance> batch = all.subList(from, Math.min(all.size(), from + batchSize));
      List<float[]> samples = new ArrayList<>(batch.size());
      for (Utterance u : batch) {
        float[] x = u.readSamples(sampleRate);
        if (inputCheck != null) {
          try {
            inputCheck.accept(x);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(u.audio() + ": " + e.getMessage(), e);
          }
        }
        samples.add(x);
      }
      long t0 = System.nanoTime();
      List<String> texts = transcriber.transcribe(samples);
      long nanos = System.nanoTime() - t0;
      if (texts.size() != batch.size()) {
        throw new IllegalStateException("transcriber returned " + texts.size() + " texts for " + batch.size() + " utterances");
      }
      int[] positions = new int[batch.size()];
      int[] lengths = new int[batch.size()];
      UtteranceScore[] scored = new UtteranceScore[batch.size()];
      for (int j = 0; j < batch.size(); j++) {
        Utterance u = batch.get(j);
        positions[j] = from + j;
        lengths[j] = samples.get(j).length;
        String hypothesis = String.join(" ", TextNormalizer.words(texts.get(j)));
        scored[j] = UtteranceScore.of(u.id(), u.transcript(), hypothesis, (double) lengths[j] / sampleRate);
        wordsSoFar = wordsSoFar.plus(scored[j].words());
      }
      parts.add(new Part(positions, lengths, scored, nanos));
      done += batch.size();
      if (progress != null) progress.batchDone(done, wordsSoFar);
    }
    if (!group.isSingle()) {
      List<Part> gathered = new ArrayList<>();
      for (byte[] b : group.allGather("gathering the transcripts", Json.MAPPER.writeValueAsBytes(parts))) {
        gathered.addAll(List.of(Json.MAPPER.readValue(b, Part[].class)));
      }
      parts = gathered;
    }
    UtteranceScore[] byPosition = new UtteranceScore[all.size()];
    long audioSamples = 0;
    long recognitionNanos = 0;
    for (Part p : parts) {
      for (int j = 0; j < p.positions().length; j++) {
        byPosition[p.positions()[j]] = p.scores()[j];
        audioSamples += p.samples()[j];
      }
      recognitionNanos += p.recognitionNanos();
    }
    List<UtteranceScore> scores = List.of(byPosition);
    EditCounts words = EditCounts.ZERO;
    EditCounts chars = EditCounts.ZERO;
    for (UtteranceScore s : scores) {
      words = words.plus(s.words());
      chars = chars.plus(s.characters());
    }
    double wall = (System.nanoTime() - start) / 1e9;
    double recognition = recognitionNanos / 1e9;
    double audio = (double) audioSamples / sampleRate;
    List<UtteranceScore> worst = scores.stream()
        .filter(s -> s.words().errors() > 0)
        .sorted(Comparator.comparingLong((UtteranceScore s) -> s.words().errors()).reversed()
            .thenComparing(Comparator.comparingDouble(UtteranceScore::wer).reversed())
            .thenComparing(UtteranceScore::id))
        .limit(worstCount).toList();
    return new EvaluationReport(model, dataset.name(), device, batchSize, decoding, scores.size(), words.rate(),
        scores.isEmpty() ? null : Bootstrap.corpusRate(scores.stream().map(UtteranceScore::words).toList()), chars.rate(),
        words, chars, audio, recognition, wall, audio > 0 ? recognition / audio : 0, outside, worst, scores, RunInfo.capture(device));
  }
}
