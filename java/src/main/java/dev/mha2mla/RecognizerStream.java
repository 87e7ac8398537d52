package dev.mha2mla;

import dev.mha2mla.SpeechRecognizer.Transcript;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.FeatureEncoder;
import dev.mha2mla.model.StreamState;
import dev.mha2mla.model.StreamingCacheKind;
import dev.mha2mla.kernels.TorchTensors;
import dev.mha2mla.model.WaveformStatistics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Live transcription of one audio stream: feed 16 kHz samples as they arrive, read the partial transcript after
 * each piece, call {@link #finish()} at the end for the final one. Made by {@link SpeechRecognizer#openStream}.
 *
 * <pre>{@code
 * try (RecognizerStream stream = asr.openStream(StreamOptions.DEFAULT)) {
 *   for (float[] piece : microphone) System.out.println(stream.accept(piece));   // partial transcripts
 *   System.out.println(stream.finish().text());                                  // final transcript
 * }
 * }</pre>
 *
 * <p>What it computes: the model's forward pass restricted by {@link StreamOptions#chunking()} (see
 * {@link dev.mha2mla.model.Chunking}): each chunk of {@link StreamOptions#chunkFrames()} frames attends only to itself
 * and {@link StreamOptions#leftContextFrames()} earlier frames, through the session's cache (K/V for an MHA model, the
 * r-float latent for an MLA model), and each layer's depthwise convolution sees its (k-1)/2 past frames exactly but
 * zeros in place of the future beyond the chunk. Samples are normalised with fixed statistics (a model that normalises
 * each whole utterance needs them: {@link StreamOptions#normalization()} or its folder's; a model without
 * do_normalize reads raw samples). Every step is a function of the samples alone, so the result does not depend on
 * how the audio is cut into {@code accept} calls, and it equals {@code ConformerCtcModel.forward} with the same
 * chunking on the same normalised samples (the training pass of {@code finetune --streaming}).
 *
 * <p>One thread at a time per stream (calls are synchronised); many streams may share one recognizer. Native
 * memory (the cache) is freed by {@link #finish()} or {@link #close()}, whichever comes first.
 */
public final class RecognizerStream implements AutoCloseable {
  private final SpeechRecognizer recognizer;
  private final ConformerCtcModel model;
  private final StreamState state;
  private final long cacheBytes;
  private final StreamingCacheKind kind;
  private final int hidden;
  private final long receptiveField;
  private final long stride;
  // normalised samples from the start of the next frame's receptive field
  private float[] samples = new float[4096];
  private int sampleCount;
  // projected frames waiting for a full chunk, hidden floats each
  private float[] frames;
  private int frameCount;
  // x' = (x - mean) / std with fixed statistics; identity (mean 0, scale 1) for a model that reads raw samples
  private final WaveformStatistics normalization;
  private final double mean;
  private final double scale;
  private long received;
  private final List<float[]> logits = new ArrayList<>();
  private long[] ids = new long[256];
  private boolean finished;
  private boolean closed;

  RecognizerStream(SpeechRecognizer recognizer, StreamOptions options) {
    this.recognizer = recognizer;
    this.model = recognizer.model();
    this.hidden = (int) model.config().hiddenSize();
    FeatureEncoder fe = model.featureEncoder();
    this.receptiveField = fe.minimumSamples();
    this.stride = fe.totalStride();
    this.frames = new float[options.chunkFrames() * hidden];
    WaveformStatistics stats = recognizer.normalizer().forStream(options.normalization(), recognizer.source());
    this.normalization = stats;
    this.mean = stats == null ? 0 : stats.mean();
    this.scale = stats == null ? 1 : 1 / stats.std();
    this.kind = options.cacheKind(model.hasLatent(), model.device() != null && model.device().is_cuda());
    this.state = model.openStream(options.chunkFrames(), options.leftContextFrames(), kind);
    this.cacheBytes = state.cacheBytes();
  }

  /**
   * Takes the next samples (16 kHz, any count, even 0), runs every chunk that is now complete, and returns the
   * partial transcript of everything decoded so far.
   */
  public synchronized String accept(float[] pcm) {
    checkOpen();
    for (int i = 0; i < pcm.length; i++) {
      if (!Float.isFinite(pcm[i])) throw new IllegalArgumentException("sample " + (received + i) + " is " + pcm[i]);
    }
    recognizer.enter();
    try {
      append(pcm);
      extractFrames();
      while (frameCount >= state.chunkFrames()) runChunk(state.chunkFrames());
      return partial();
    } finally {
      recognizer.exit();
    }
  }

  /** The transcript of the frames decoded so far (CTC greedy: best token per frame, repeats and blanks removed). */
  public synchronized String partial() {
    return recognizer.vocabulary().decode(Arrays.copyOf(ids, logits.size()));
  }

  /** Frames decoded so far (each 20 ms of audio at the usual stride). */
  public synchronized int decodedFrames() {
    return logits.size();
  }

  /**
   * Runs the last, shorter chunk and returns the final transcript with the logits of every frame. Samples left
   * over after the last whole frame are dropped, as the full pass drops them. The stream then accepts nothing more
   * and its cache is freed.
   */
  public synchronized Transcript finish() {
    checkOpen();
    recognizer.enter();
    try {
      if (frameCount > 0) runChunk(frameCount);
      finished = true;
      state.close();
      return new Transcript(partial(), logits.toArray(new float[0][]));
    } finally {
      recognizer.exit();
    }
  }

  /** The fixed statistics this stream normalises samples with; null when the model reads raw samples. */
  public WaveformStatistics normalization() {
    return normalization;
  }

  /** What this stream caches per frame and layer (its options' choice, AUTO resolved). */
  public StreamingCacheKind cacheKind() {
    return kind;
  }

  /** Bytes of attention cache this stream holds: its window (chunk + left context) times all layers. */
  public long cacheBytes() {
    return cacheBytes;
  }

  private void append(float[] pcm) {
    received += pcm.length;
    if (sampleCount + pcm.length > samples.length) {
      samples = Arrays.copyOf(samples, Math.max(samples.length * 2, sampleCount + pcm.length));
    }
    for (float s : pcm) samples[sampleCount++] = (float) ((s - mean) * scale);
  }

  /** Turns every whole frame's worth of samples into projected frames; keeps the samples the next frame needs. */
  private void extractFrames() {
    if (sampleCount < receptiveField) return;
    int count = (int) ((sampleCount - receptiveField) / stride) + 1;
    int used = (int) (receptiveField + (count - 1) * stride);
    float[] projected;
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      projected = TorchTensors.toFloats(model.streamFeatures(TorchTensors.floats(Arrays.copyOf(samples, used), 1, used)));
    }
    if ((frameCount + count) * hidden > frames.length) {
      frames = Arrays.copyOf(frames, (frameCount + count) * hidden);
    }
    System.arraycopy(projected, 0, frames, frameCount * hidden, count * hidden);
    frameCount += count;
    int consumed = (int) (count * stride);
    System.arraycopy(samples, consumed, samples, 0, sampleCount - consumed);
    sampleCount -= consumed;
  }

  private void runChunk(int count) {
    float[] out;
    int vocab;
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor chunk = TorchTensors.floats(Arrays.copyOf(frames, count * hidden), 1, count, hidden);
      Tensor l = model.streamChunk(chunk, state);
      vocab = (int) l.size(2);
      out = TorchTensors.toFloats(l);
    }
    for (int t = 0; t < count; t++) {
      float[] row = Arrays.copyOfRange(out, t * vocab, (t + 1) * vocab);
      if (logits.size() == ids.length) ids = Arrays.copyOf(ids, ids.length * 2);
      ids[logits.size()] = SpeechRecognizer.argmax(row);
      logits.add(row);
    }
    System.arraycopy(frames, count * hidden, frames, 0, (frameCount - count) * hidden);
    frameCount -= count;
  }

  private void checkOpen() {
    if (closed) throw new IllegalStateException("the stream is closed");
    if (finished) throw new IllegalStateException("the stream is finished");
  }

  /** Frees the cache (if finish() has not); later calls throw. Closing twice is fine. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) return;
      closed = true;
      state.close();
    }
    recognizer.forget(this);
  }
}
