package dev.mha2mla;

import dev.mha2mla.io.AudioLimits;
import dev.mha2mla.model.AudioNormalizer;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.CtcVocabulary;
import dev.mha2mla.model.Devices;
import dev.mha2mla.kernels.TorchTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Speech to text with a Wav2Vec2-Conformer CTC model folder (original MHA or converted MLA): whole utterances
 * ({@link #transcribe}, {@link #transcribeAll}) or live streams ({@link #openStream}).
 * Thread-safe: every call runs under its own no-grad guard and native-memory scope over one shared,
 * read-only set of weights. {@link #close()} waits for calls in progress, closes open streams and frees the
 * weights; later calls throw {@link IllegalStateException}.
 *
 * <pre>{@code
 * try (SpeechRecognizer asr = SpeechRecognizer.open(Path.of("model"))) {
 *   String text = asr.transcribe(samples16k);
 * }
 * }</pre>
 */
public final class SpeechRecognizer implements AutoCloseable {
  private final ConformerCtcModel model;
  private final CtcVocabulary vocabulary;
  private final AudioNormalizer normalizer;
  private final Path source;
  // calls in progress; close() waits for them to end (guarded by `this`)
  private int activeCalls;
  private boolean closed;
  private final Set<RecognizerStream> openStreams = new HashSet<>();

  /** One utterance's result: the text and the per-frame logits [frames][vocab] it was decoded from. */
  public record Transcript(String text, float[][] logits) {}

  private SpeechRecognizer(ConformerCtcModel model, CtcVocabulary vocabulary, AudioNormalizer normalizer, Path source) {
    this.model = model;
    this.source = source;
    this.vocabulary = vocabulary;
    this.normalizer = normalizer;
  }

  public static SpeechRecognizer open(Path modelDir) throws IOException {
    return open(modelDir, "cpu");
  }

  /** @param device "cpu" or "cuda" (or "cuda:N") */
  public static SpeechRecognizer open(Path modelDir, String device) throws IOException {
    Device d = Devices.parse(device);
    ConformerCtcModel model = ConformerCtcModel.load(modelDir, d);
    try {
      CtcVocabulary vocab = CtcVocabulary.read(modelDir.resolve("vocab.json"), model.config().padTokenId(),
          model.config().vocabSize());
      AudioNormalizer norm = AudioNormalizer.read(modelDir.resolve("preprocessor_config.json"));
      return new SpeechRecognizer(model, vocab, norm, modelDir);
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
  }

  /**
   * @throws IllegalArgumentException for a NaN or infinite sample, audio shorter than the model's receptive field,
   *     or longer than {@link AudioLimits#MAX_SECONDS}
   */
  public String transcribe(float[] samples) {
    return transcribeAll(List.of(samples), 1).get(0).text();
  }

  /**
   * Transcribes utterances in order, {@code batchSize} at a time. Batched rows are right-padded and masked
   * exactly as HuggingFace does, which (as there) changes the logits of shorter rows slightly. Every utterance is
   * checked before any runs: a NaN or infinite sample (it would spread through normalisation and attention to
   * every frame and decode to ""), fewer samples than the receptive field, or more than
   * {@link AudioLimits#MAX_SECONDS} is an {@link IllegalArgumentException} naming the utterance and the sample.
   */
  public List<Transcript> transcribeAll(List<float[]> utterances, int batchSize) {
    if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    for (int i = 0; i < utterances.size(); i++) checkSamples(utterances.get(i), utterances.size() == 1 ? "" : "utterance " + i + ": ");
    enter();
    try {
      List<Transcript> out = new ArrayList<>(utterances.size());
      for (int start = 0; start < utterances.size(); start += batchSize) {
        out.addAll(runBatch(utterances.subList(start, Math.min(utterances.size(), start + batchSize))));
      }
      return out;
    } finally {
      exit();
    }
  }

  /**
   * A live transcription session (see {@link RecognizerStream}): its own attention cache and convolution
   * contexts, this recognizer's weights. Close it when done; closing the recognizer closes it too.
   */
  public RecognizerStream openStream(StreamOptions options) {
    enter();
    try {
      RecognizerStream stream = new RecognizerStream(this, options);
      synchronized (this) {
        openStreams.add(stream);
      }
      return stream;
    } finally {
      exit();
    }
  }

  /** Marks a call in progress; refuses when closed. */
  synchronized void enter() {
    if (closed) throw new IllegalStateException("the SpeechRecognizer is closed");
    activeCalls++;
  }

  synchronized void exit() {
    if (--activeCalls == 0) notifyAll();
  }

  synchronized void forget(RecognizerStream stream) {
    openStreams.remove(stream);
  }

  /**
   * The checks {@link #transcribeAll} makes of each utterance, for callers that want to name the file first.
   *
   * @throws IllegalArgumentException saying what is wrong with {@code samples}
   */
  public void checkInput(float[] samples) {
    checkSamples(samples, "");
  }

  private void checkSamples(float[] u, String which) {
    int rate = normalizer.samplingRate();
    if (u.length > AudioLimits.maxSamples(rate)) {
      throw new IllegalArgumentException(which + AudioLimits.describe(u.length, rate) + " is longer than the "
          + AudioLimits.MAX_SECONDS + " s that one call transcribes; cut it into pieces");
    }
    long minimum = model.featureEncoder().minimumSamples();
    if (u.length < minimum) {
      throw new IllegalArgumentException(which + "utterance of " + u.length + " samples is shorter than the model's "
          + minimum + "-sample receptive field (" + (minimum * 1000 / rate) + " ms)");
    }
    for (int t = 0; t < u.length; t++) {
      if (!Float.isFinite(u[t])) {
        throw new IllegalArgumentException(which + "sample " + t + " of " + u.length + " is " + u[t]
            + "; audio samples must be finite");
      }
    }
  }

  private List<Transcript> runBatch(List<float[]> batch) {
    int longest = 0;
    for (float[] u : batch) longest = Math.max(longest, u.length);
    float[] flat = new float[batch.size() * longest];
    long[] lengths = new long[batch.size()];
    for (int b = 0; b < batch.size(); b++) {
      float[] x = normalizer.normalize(batch.get(b));
      System.arraycopy(x, 0, flat, b * longest, x.length);
      java.util.Arrays.fill(flat, b * longest + x.length, (b + 1) * longest, normalizer.paddingValue());
      lengths[b] = x.length;
    }
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor input = TorchTensors.floats(flat, batch.size(), longest);
      ConformerCtcModel.Output output = model.forward(input, batch.size() == 1 ? null : lengths, null);
      float[] all = TorchTensors.toFloats(output.logits());
      int frames = (int) output.logits().size(1);
      int vocab = (int) output.logits().size(2);
      List<Transcript> result = new ArrayList<>();
      for (int b = 0; b < batch.size(); b++) {
        int valid = (int) output.frameLengths()[b];
        float[][] logits = new float[valid][vocab];
        long[] best = new long[valid];
        for (int t = 0; t < valid; t++) {
          System.arraycopy(all, (b * frames + t) * vocab, logits[t], 0, vocab);
          best[t] = argmax(logits[t]);
        }
        result.add(new Transcript(vocabulary.decode(best), logits));
      }
      return result;
    }
  }

  static int argmax(float[] row) {
    int best = 0;
    for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
    return best;
  }

  public ConformerCtcModel model() {
    return model;
  }

  public CtcVocabulary vocabulary() {
    return vocabulary;
  }

  /** The model folder this recognizer was opened from. */
  public Path source() {
    return source;
  }

  public AudioNormalizer normalizer() {
    return normalizer;
  }

  /**
   * Waits for calls in progress to return, closes every open stream, frees the weights. Calls made after close()
   * began throw {@link IllegalStateException}. Closing twice is fine.
   */
  @Override
  public void close() {
    List<RecognizerStream> streams;
    synchronized (this) {
      if (closed) return;
      closed = true;
      boolean interrupted = false;
      while (activeCalls > 0) {
        try {
          wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) Thread.currentThread().interrupt();
      streams = new ArrayList<>(openStreams);
    }
    streams.forEach(RecognizerStream::close);
    model.close();
  }
}
