package dev.mha2mla.stream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.RecognizerStream;
import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.StreamOptions;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.mla.ConversionOptions;
import dev.mha2mla.model.LatentAttention;
import dev.mha2mla.mla.MlaConverter;
import dev.mha2mla.model.Chunking;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.ConformerLayer;
import dev.mha2mla.model.StreamState;
import dev.mha2mla.model.StreamingCacheKind;
import dev.mha2mla.kernels.TorchTensors;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The chunk-masked full forward pass (what chunk-aware training computes) against a live stream of the same audio
 * (what inference computes), for the fixture's MHA model over a K/V cache and its MLA conversion over the latent
 * cache in the absorbed form: same logits within 1e-4 for every chunk size and left context, whatever the piece
 * sizes, and for every row of a padded batch. The two are written independently (one [B, 1, T, T] mask and masked
 * convolution taps; per-chunk calls over native caches), so agreement checks both.
 */
class ChunkedForwardTest {
  @TempDir static Path temp;
  private static SpeechRecognizer mha;
  private static SpeechRecognizer mla;
  private static SpeechRecognizer mixed;  // MLA with a different latent size per layer (a cache budget's ranks)
  private static final WaveformStatistics STATS = new WaveformStatistics(0.01, 0.2);

  @BeforeAll
  static void open() throws IOException {
    mha = SpeechRecognizer.open(Fixtures.conformerTiny());
    Path converted = temp.resolve("mla");
    new MlaConverter(ConversionOptions.plain(24, ConversionMethod.JOINT), null).convert(Fixtures.conformerTiny(), converted,
        false);
    mla = SpeechRecognizer.open(converted);
    Path budgeted = temp.resolve("mla-budget");
    new MlaConverter(ConversionOptions.plain(1, ConversionMethod.JOINT).withCacheBudget(0.1), null)
        .convert(Fixtures.conformerTiny(), budgeted, false);
    mixed = SpeechRecognizer.open(budgeted);
    assertThat(mixed.model().config().mla().isUniform()).isFalse();
  }

  @AfterAll
  static void close() {
    mha.close();
    mla.close();
    mixed.close();
  }

  /** Random "audio": seeded Gaussian noise with a slow amplitude envelope, so frames differ in loudness. */
  static float[] audio(int samples, long seed) {
    Random r = new Random(seed);
    float[] x = new float[samples];
    for (int i = 0; i < samples; i++) x[i] = (float) (0.3 * (1.2 + Math.sin(i / 900.0)) * r.nextGaussian());
    return x;
  }

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (String kind : List.of("mha", "mla")) {
      for (int[] c : new int[][] {{1, 0}, {1, 6}, {2, 3}, {3, 512}, {4, 10}, {7, 0}, {16, 512}, {64, 8}, {160, 8}}) {
        out.add(Arguments.of(kind, c[0], c[1]));
      }
    }
    for (int[] c : new int[][] {{1, 0}, {3, 512}, {16, 8}}) out.add(Arguments.of("mixed", c[0], c[1]));
    return out.stream();
  }

  @ParameterizedTest(name = "{0}, chunk {1}, left context {2}")
  @MethodSource("cases")
  void chunkMaskedForwardEqualsTheStream(String kind, int chunk, int left) {
    SpeechRecognizer asr = kind.equals("mha") ? mha : kind.equals("mla") ? mla : mixed;
    float[] x = audio(16000 + 1234, 7 + chunk);
    StreamingCacheKind cache = kind.equals("mha") ? StreamingCacheKind.KEY_VALUE : StreamingCacheKind.LATENT;
    float[][] streamed = stream(asr, x, new StreamOptions(chunk, left, cache).withNormalization(STATS), 777);
    float[][] full = chunkedForward(asr.model(), List.of(STATS.apply(x)), new Chunking(chunk, left)).get(0);
    assertThat(streamed.length).isEqualTo(full.length).isEqualTo((int) asr.model().featureEncoder().frames(x.length));
    assertThat(maxDiff(streamed, full)).isLessThan(1e-4);
  }

  /**
   * 7 s (349 frames) is past the 128 frames a stream's cache and position tables start with: they grow mid-stream
   * (128 -> 205 rows, then evicting; 128 -> 256 -> 512 rows) and the logits still equal the chunk-masked pass.
   */
  @ParameterizedTest(name = "{0}, chunk {1}, left context {2}")
  @MethodSource("growingCases")
  void windowsThatGrowMidStreamEqualTheChunkMaskedForward(String kind, int chunk, int left) {
    SpeechRecognizer asr = kind.equals("mha") ? mha : kind.equals("mla") ? mla : mixed;
    float[] x = audio(7 * 16000, 11 + chunk);
    StreamingCacheKind cache = kind.equals("mha") ? StreamingCacheKind.KEY_VALUE : StreamingCacheKind.LATENT;
    float[][] streamed = stream(asr, x, new StreamOptions(chunk, left, cache).withNormalization(STATS), 3200);
    float[][] full = chunkedForward(asr.model(), List.of(STATS.apply(x)), new Chunking(chunk, left)).get(0);
    assertThat(streamed.length).isEqualTo(full.length).isGreaterThan(300);
    assertThat(maxDiff(streamed, full)).isLessThan(1e-4);
  }

  static Stream<Arguments> growingCases() {
    return Stream.of(Arguments.of("mha", 5, 200), Arguments.of("mla", 5, 200), Arguments.of("mha", 4, 512),
        Arguments.of("mla", 4, 512), Arguments.of("mixed", 5, 200));
  }

  /**
   * A left context of 2^20 - 1 frames costs a short stream nothing: its cache and position tables hold the 128
   * frames they start with (not 2^20 frames of every layer), and its logits are those of a 512-frame left context,
   * which the audio never reaches either.
   */
  @Test
  void aHugeLeftContextOnShortAudioHoldsOnlyWhatTheAudioNeeds() {
    float[] x = audio(1600 * 8, 9);  // 0.8 s, 39 frames
    for (SpeechRecognizer asr : List.of(mha, mla)) {
      StreamingCacheKind cache = asr == mha ? StreamingCacheKind.KEY_VALUE : StreamingCacheKind.LATENT;
      ConformerCtcModel model = asr.model();
      try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard();
          StreamState state = model.openStream(1, Chunking.MAX_WINDOW - 1, asr == mha ? StreamingCacheKind.KEY_VALUE
              : StreamingCacheKind.LATENT)) {
        Tensor frames = model.streamFeatures(TorchTensors.floats(STATS.apply(x), 1, x.length));
        for (long t = 0; t < frames.size(1); t++) model.streamChunk(frames.narrow(1, t, 1), state);
        assertThat(state.framesSeen()).isEqualTo(frames.size(1));
        assertThat(state.cache().bytes()).isEqualTo(StreamState.INITIAL_SPAN * state.cache().bytesPerFrame());
        assertThat(state.span()).isEqualTo(StreamState.INITIAL_SPAN);
        assertThat(state.positions(0).size(0)).isEqualTo(StreamState.INITIAL_SPAN);
        assertThat(state.cacheBytes()).as("what the full window would hold").isEqualTo(
            (long) Chunking.MAX_WINDOW * state.cache().bytesPerFrame());
      }
      float[][] huge = stream(asr, x, new StreamOptions(1, Chunking.MAX_WINDOW - 1, cache).withNormalization(STATS), 160);
      float[][] usual = stream(asr, x, new StreamOptions(1, 512, cache).withNormalization(STATS), 160);
      assertThat(maxDiff(huge, usual)).isEqualTo(0.0);
    }
  }

  @Test
  void absorbedFullPassAgreesToo() {
    LatentAttention first = (LatentAttention) mla.model().encoder().layers().get(0).attention();
    float[] x = audio(9000, 3);
    float[][] streamed = stream(mla, x, new StreamOptions(4, 20, StreamingCacheKind.LATENT).withNormalization(STATS), 160);
    try {
      for (ConformerLayer l : mla.model().encoder().layers()) ((LatentAttention) l.attention()).setForm(LatentAttention.Form.ABSORBED);
      float[][] full = chunkedForward(mla.model(), List.of(STATS.apply(x)), new Chunking(4, 20)).get(0);
      assertThat(maxDiff(streamed, full)).isLessThan(1e-4);
    } finally {
      for (ConformerLayer l : mla.model().encoder().layers()) ((LatentAttention) l.attention()).setForm(LatentAttention.Form.EXPANDED);
    }
    assertThat(first.form()).isEqualTo(LatentAttention.Form.EXPANDED);
  }

  /** Rows of a padded batch see neither padding nor their future: each equals its own stream. */
  @Test
  void everyRowOfAPaddedBatchEqualsItsOwnStream() {
    List<float[]> utterances = List.of(audio(12000, 1), audio(5321, 2), audio(9000, 4));
    Chunking chunking = new Chunking(3, 5);
    for (SpeechRecognizer asr : List.of(mha, mla)) {
      List<float[]> normalised = utterances.stream().map(STATS::apply).toList();
      List<float[][]> batch = chunkedForward(asr.model(), normalised, chunking);
      StreamingCacheKind cache = asr == mha ? StreamingCacheKind.KEY_VALUE : StreamingCacheKind.LATENT;
      for (int b = 0; b < utterances.size(); b++) {
        float[][] own = stream(asr, utterances.get(b), new StreamOptions(3, 5, cache).withNormalization(STATS), 4000);
        assertThat(batch.get(b).length).isEqualTo(own.length);
        assertThat(maxDiff(batch.get(b), own)).as("row %d", b).isLessThan(1e-4);
      }
    }
  }

  /** A chunk as long as the utterance with no left context limit is the ordinary full pass. */
  @Test
  void oneChunkIsTheUnrestrictedPass() {
    float[] x = STATS.apply(audio(8000, 5));
    int frames = (int) mha.model().featureEncoder().frames(x.length);
    float[][] chunked = chunkedForward(mha.model(), List.of(x), new Chunking(frames, 0)).get(0);
    float[][] plain = chunkedForward(mha.model(), List.of(x), null).get(0);
    assertThat(maxDiff(chunked, plain)).isLessThan(1e-5);
    float[][] small = chunkedForward(mha.model(), List.of(x), new Chunking(2, 0)).get(0);
    assertThat(maxDiff(small, plain)).as("a real restriction changes the logits").isGreaterThan(1e-3);
  }

  static float[][] stream(SpeechRecognizer asr, float[] x, StreamOptions options, int piece) {
    try (RecognizerStream s = asr.openStream(options)) {
      for (int start = 0; start < x.length; start += piece) s.accept(Arrays.copyOfRange(x, start, Math.min(x.length, start + piece)));
      return s.finish().logits();
    }
  }

  /** model.forward with the chunking over a right-padded batch; each row's valid frames. */
  static List<float[][]> chunkedForward(ConformerCtcModel model, List<float[]> rows, Chunking chunking) {
    int longest = rows.stream().mapToInt(r -> r.length).max().orElseThrow();
    float[] flat = new float[rows.size() * longest];
    long[] lengths = new long[rows.size()];
    for (int b = 0; b < rows.size(); b++) {
      System.arraycopy(rows.get(b), 0, flat, b * longest, rows.get(b).length);
      lengths[b] = rows.get(b).length;
    }
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Tensor input = TorchTensors.floats(flat, rows.size(), longest);
      ConformerCtcModel.Output out = model.forward(input, rows.size() == 1 ? null : lengths, chunking, null, null, null);
      float[] all = TorchTensors.toFloats(out.logits());
      int frames = (int) out.logits().size(1);
      int vocab = (int) out.logits().size(2);
      List<float[][]> result = new ArrayList<>();
      for (int b = 0; b < rows.size(); b++) {
        float[][] l = new float[(int) out.frameLengths()[b]][];
        for (int t = 0; t < l.length; t++) l[t] = Arrays.copyOfRange(all, (b * frames + t) * vocab, (b * frames + t + 1) * vocab);
        result.add(l);
      }
      return result;
    }
  }

  static double maxDiff(float[][] a, float[][] b) {
    double max = 0;
    for (int t = 0; t < Math.min(a.length, b.length); t++) {
      for (int v = 0; v < a[t].length; v++) max = Math.max(max, Math.abs(a[t][v] - b[t][v]));
    }
    return max;
  }
}
