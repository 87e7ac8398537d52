package dev.mha2mla.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.RecognizerStream;
import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.SpeechRecognizer.Transcript;
import dev.mha2mla.StreamOptions;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.WavReader;
import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.mla.ConversionOptions;
import dev.mha2mla.mla.MlaConverter;
import dev.mha2mla.kernels.KeyValueCache;
import dev.mha2mla.kernels.LatentCache;
import dev.mha2mla.kernels.StreamingCache;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.ConvolutionModule;
import dev.mha2mla.model.RelativePositionalEmbedding;
import dev.mha2mla.model.SelfAttention;
import dev.mha2mla.model.StreamingCacheKind;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Streaming recognition against independent expectations, for the fixture's MHA model and its MLA conversion (both
 * with fixed stream statistics recorded in their preprocessor_config.json): one chunk covering the utterance is the
 * full pass (which reproduces HuggingFace's numbers) on the same fixed-normalised samples; attention over the cache is
 * the full attention block on the window; the convolution module over chunks is the full module up to each chunk's
 * end; however the audio is cut, and from however many threads, the logits are the same. (Chunked layers as a whole
 * are checked against the chunk-masked full pass in {@link ChunkedForwardTest}.)
 */
class StreamingRecognitionTest {
  @TempDir static Path temp;
  private static final Map<String, SpeechRecognizer> recognizers = new HashMap<>();
  private static float[] audio;

  private static WaveformStatistics stats;

  @BeforeAll
  static void open() throws IOException {
    audio = WavReader.read(Fixtures.conformerTiny().resolve("audio.wav")).samples();
    WaveformStatistics.Accumulator acc = new WaveformStatistics.Accumulator();
    acc.add(audio);
    stats = acc.result();
    Path mha = temp.resolve("mha");
    copyWithStreamStatistics(Fixtures.conformerTiny(), mha, stats);
    recognizers.put("mha", SpeechRecognizer.open(mha));
    Path mla = temp.resolve("mla");
    new MlaConverter(ConversionOptions.plain(32, ConversionMethod.JOINT), null).convert(mha, mla, false);
    recognizers.put("mla", SpeechRecognizer.open(mla));
  }

  @AfterAll
  static void close() {
    recognizers.values().forEach(SpeechRecognizer::close);
  }

  @ParameterizedTest(name = "{0}, {1} cache")
  @MethodSource("kinds")
  void oneChunkOverTheWholeUtteranceIsTheFullPass(String kind, StreamingCacheKind cache) {
    SpeechRecognizer asr = recognizers.get(kind);
    float[][] full = ChunkedForwardTest.chunkedForward(asr.model(), List.of(stats.apply(audio)), null).get(0);
    try (RecognizerStream stream = asr.openStream(new StreamOptions(full.length, 0, cache))) {
      stream.accept(audio);
      Transcript streamed = stream.finish();
      assertThat(streamed.logits().length).isEqualTo(full.length);
      assertThat(maxDiff(streamed.logits(), full)).isLessThan(1e-4);
    }
  }

  static Stream<Arguments> kinds() {
    return Stream.of(Arguments.of("mha", StreamingCacheKind.KEY_VALUE), Arguments.of("mla", StreamingCacheKind.KEY_VALUE),
        Arguments.of("mla", StreamingCacheKind.LATENT));
  }

  static Stream<Arguments> chunkings() {
    List<Arguments> cases = new ArrayList<>();
    for (Arguments k : kinds().toList()) {
      for (int[] c : new int[][] {{1, 0}, {1, 3}, {5, 3}, {8, 20}, {16, 1000}, {13, 7}}) {
        cases.add(Arguments.of(k.get()[0], k.get()[1], c[0], c[1]));
      }
    }
    return cases.stream();
  }

  /**
   * Attention of a chunk over the cache is the full attention block run on the window alone: the frames
   * [max(0, e - W), e) for a chunk ending at e, W = chunk + left context, rows of the chunk compared.
   */
  @ParameterizedTest(name = "{0}, {1} cache, chunk {2}, left context {3}")
  @MethodSource("chunkings")
  void attentionOverTheCacheIsFullAttentionOverTheWindow(String kind, StreamingCacheKind cacheKind, int chunk, int left) {
    ConformerCtcModel model = recognizers.get(kind).model();
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      long d = model.config().hiddenSize();
      int frames = 41;
      Tensor x = torch.randn(new long[] {1, frames, d}, new TensorOptions(ScalarType.Float));
      for (int l = 0; l < model.config().numHiddenLayers(); l++) {
        SelfAttention attention = model.encoder().layers().get(l).attention();
        int window = chunk + left;
        Tensor p = attention.projectPositions(
            RelativePositionalEmbedding.table(window, d).narrow(0, 0, window + chunk - 1).contiguous());
        double worst = 0;
        try (StreamingCache cache = cacheKind == StreamingCacheKind.LATENT
            ? LatentCache.create(new Device("cpu"), new int[] {(int) attention.cacheFloatsPerFrame()}, window)
            : KeyValueCache.create(new Device("cpu"), 1, model.config().numAttentionHeads(), model.config().headDim(), window)) {
          for (int begin = 0; begin < frames; begin += chunk) {
            int end = Math.min(frames, begin + chunk);
            int start = Math.max(0, end - window);
            Tensor streamed = attention.forwardChunk(x.narrow(1, begin, end - begin), cache, 0, p, window - 1);
            Tensor full = attention.forward(x.narrow(1, start, end - start), RelativePositionalEmbedding.table(end - start, d),
                null).narrow(1, begin - start, end - begin);
            worst = Math.max(worst, streamed.sub(full).abs().max().item_double());
          }
        }
        assertThat(worst).as("layer %d", l).isLessThan(1e-4);
      }
    }
  }

  /**
   * The convolution module over chunks with its carried context is the full module on the frames up to the chunk's
   * end: the past exactly, zeros for the future.
   */
  @ParameterizedTest(name = "chunk {0}")
  @ValueSource(ints = {1, 2, 3, 7, 16, 50})
  void convolutionOverChunksIsTheFullConvolutionUpToEachChunksEnd(int chunk) {
    ConformerCtcModel model = recognizers.get("mha").model();
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      int frames = 37;
      Tensor x = torch.randn(new long[] {1, frames, model.config().hiddenSize()}, new TensorOptions(ScalarType.Float));
      ConvolutionModule conv = model.encoder().layers().get(1).conv();
      Tensor context = conv.initialContext();
      double worst = 0;
      for (int begin = 0; begin < frames; begin += chunk) {
        int end = Math.min(frames, begin + chunk);
        ConvolutionModule.Chunk out = conv.forwardChunk(x.narrow(1, begin, end - begin), context);
        context = out.context();
        Tensor full = conv.forward(x.narrow(1, 0, end)).narrow(1, begin, end - begin);
        worst = Math.max(worst, out.out().sub(full).abs().max().item_double());
      }
      assertThat(worst).isLessThan(1e-5);
    }
  }

  /** Fixed statistics make every step a function of the samples alone: cut points and threads change nothing. */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"mha", "mla"})
  void theWayAudioArrivesChangesNothing(String kind) throws Exception {
    SpeechRecognizer asr = recognizers.get(kind);
    StreamOptions options = new StreamOptions(8, 16, kind.equals("mla") ? StreamingCacheKind.LATENT : StreamingCacheKind.KEY_VALUE);
    Transcript whole = streamInPieces(asr, options, audio.length);
    for (int piece : new int[] {1, 160, 1600}) {
      Transcript pieces = streamInPieces(asr, options, piece);
      assertThat(pieces.text()).as("pieces of %d samples", piece).isEqualTo(whole.text());
      assertThat(maxDiff(pieces.logits(), whole.logits())).as("pieces of %d samples", piece).isLessThan(1e-5);
    }
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      List<java.util.concurrent.Future<Transcript>> runs = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int piece = new int[] {1, 160, 1600, 320, 7, 4000, 999, audio.length}[t];
        runs.add(pool.submit(() -> streamInPieces(asr, options, piece)));
      }
      for (java.util.concurrent.Future<Transcript> r : runs) {
        Transcript t = r.get();
        assertThat(t.text()).isEqualTo(whole.text());
        assertThat(maxDiff(t.logits(), whole.logits())).isLessThan(1e-5);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static Transcript streamInPieces(SpeechRecognizer asr, StreamOptions options, int piece) {
    try (RecognizerStream s = asr.openStream(options)) {
      for (int start = 0; start < audio.length; start += piece) {
        s.accept(Arrays.copyOfRange(audio, start, Math.min(audio.length, start + piece)));
      }
      return s.finish();
    }
  }

  @Test
  void aModelThatNormalisesEachUtteranceNeedsFixedStatisticsToStream() throws IOException {
    try (SpeechRecognizer plain = SpeechRecognizer.open(Fixtures.conformerTiny())) {
      assertThatThrownBy(() -> plain.openStream(StreamOptions.DEFAULT)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(Fixtures.conformerTiny().toString()).hasMessageContaining("do_normalize")
          .hasMessageContaining("--stream-normalization");
      // given statistics are the recorded ones' equal
      try (RecognizerStream given = plain.openStream(new StreamOptions(8, 16).withNormalization(stats))) {
        given.accept(audio);
        Transcript a = given.finish();
        Transcript b = streamInPieces(recognizers.get("mha"), new StreamOptions(8, 16), 1600);
        assertThat(maxDiff(a.logits(), b.logits())).isLessThan(1e-5);
      }
    }
  }

  @Test
  void partialTranscriptsGrowTowardsTheFinalOne() {
    SpeechRecognizer asr = recognizers.get("mha");
    try (RecognizerStream stream = asr.openStream(new StreamOptions(4, 32))) {
      int decoded = 0;
      for (int start = 0; start < audio.length; start += 1600) {
        stream.accept(Arrays.copyOfRange(audio, start, Math.min(audio.length, start + 1600)));
        assertThat(stream.decodedFrames()).isGreaterThanOrEqualTo(decoded);
        decoded = stream.decodedFrames();
      }
      String partial = stream.partial();
      Transcript last = stream.finish();
      assertThat(last.logits().length).isEqualTo(asr.model().featureEncoder().frames(audio.length));
      assertThat(last.text()).startsWith(partial.isEmpty() ? "" : partial.substring(0, partial.length() / 2));
    }
  }

  @Test
  void misuseGivesClearErrors() throws IOException {
    SpeechRecognizer asr = recognizers.get("mha");
    RecognizerStream stream = asr.openStream(StreamOptions.DEFAULT);
    float[] bad = {0f, Float.NaN};
    assertThatThrownBy(() -> stream.accept(bad)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
    stream.finish();
    assertThatThrownBy(() -> stream.accept(new float[10])).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("finished");
    stream.close();
    stream.close();
    assertThatThrownBy(() -> new StreamOptions(0, 10)).hasMessageContaining("at least 1 frame");
    assertThatThrownBy(() -> new StreamOptions(4, -1)).hasMessageContaining("left context");

    SpeechRecognizer other = SpeechRecognizer.open(temp.resolve("mha"));
    RecognizerStream open = other.openStream(StreamOptions.DEFAULT);
    other.close();  // closes its streams too
    assertThatThrownBy(() -> open.accept(audio)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThatThrownBy(() -> other.openStream(StreamOptions.DEFAULT)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void latentCacheIsSmallerThanTheKeyValueCache() {
    StreamOptions options = new StreamOptions(16, 240, StreamingCacheKind.LATENT);
    assertThatThrownBy(() -> recognizers.get("mha").openStream(options)).hasMessageContaining("needs an MLA model");
    try (RecognizerStream mha = recognizers.get("mha").openStream(new StreamOptions(16, 240));
        RecognizerStream mla = recognizers.get("mla").openStream(options);
        RecognizerStream mlaAuto = recognizers.get("mla").openStream(new StreamOptions(16, 240));
        RecognizerStream mlaOneFrame = recognizers.get("mla").openStream(new StreamOptions(1, 255))) {
      // on a CPU the latent cache is the faster one for chunks of 1-2 frames only
      assertThat(mlaAuto.cacheKind()).isEqualTo(StreamingCacheKind.KEY_VALUE);
      assertThat(mlaOneFrame.cacheKind()).isEqualTo(StreamingCacheKind.LATENT);
      // on CUDA (measured on an H200) for chunks up to 32 frames; never for an MHA model
      assertThat(new StreamOptions(32, 224).cacheKind(true, true)).isEqualTo(StreamingCacheKind.LATENT);
      assertThat(new StreamOptions(33, 223).cacheKind(true, true)).isEqualTo(StreamingCacheKind.KEY_VALUE);
      assertThat(new StreamOptions(1, 255).cacheKind(false, true)).isEqualTo(StreamingCacheKind.KEY_VALUE);
      // per frame and layer: 2 * D = 128 floats against r = 32
      assertThat(mha.cacheBytes()).isEqualTo(2L * 256 * 2 * 64 * 4);
      assertThat(mla.cacheBytes()).isEqualTo(2L * 256 * 32 * 4);
    }
  }

  static double maxDiff(float[][] a, float[][] b) {
    double max = 0;
    for (int t = 0; t < a.length; t++) {
      for (int v = 0; v < a[t].length; v++) max = Math.max(max, Math.abs(a[t][v] - b[t][v]));
    }
    return max;
  }

  /** A copy of a model folder whose preprocessor_config.json records fixed stream statistics. */
  static void copyWithStreamStatistics(Path from, Path to, WaveformStatistics s) throws IOException {
    java.nio.file.Files.createDirectories(to);
    try (var files = java.nio.file.Files.list(from)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (java.nio.file.Files.isRegularFile(f)) java.nio.file.Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    java.nio.file.Files.writeString(to.resolve("preprocessor_config.json"), String.format(java.util.Locale.ROOT,
        "{\"sampling_rate\": 16000, \"do_normalize\": true, \"padding_value\": 0.0, "
            + "\"stream_normalization\": {\"mean\": %.9g, \"std\": %.9g}}", s.mean(), s.std()));
  }
}
