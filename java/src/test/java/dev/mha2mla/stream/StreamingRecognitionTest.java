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
import dev.mha2mla.kernels.StreamingCache;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.ConvolutionModule;
import dev.mha2mla.model.RelativePositionalEmbedding;
import dev.mha2mla.model.SelfAttention;
import dev.mha2mla.model.StreamingCacheKind;
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
 * Streaming recognition against independent expectations, for the fixture's MHA model and its MLA conversion:
 * one chunk covering the utterance is the full pass (which reproduces HuggingFace's numbers); attention over the
 * cache is the full attention block on the window; the convolution module over chunks is the full module up to
 * each chunk's end; cutting the audio differently changes nothing once the normalisation is fixed. (Chunked
 * layers as a whole have no such reference: a chunk's convolution sees earlier frames as they were computed when
 * those frames were the newest, with less attention context, which is the point of a cache.)
 */
class StreamingRecognitionTest {
  @TempDir static Path temp;
  private static final Map<String, SpeechRecognizer> recognizers = new HashMap<>();
  private static float[] audio;

  @BeforeAll
  static void open() throws IOException {
    audio = WavReader.read(Fixtures.conformerTiny().resolve("audio.wav")).samples();
    recognizers.put("mha", SpeechRecognizer.open(Fixtures.conformerTiny()));
    Path mla = temp.resolve("mla");
    new MlaConverter(ConversionOptions.plain(32, ConversionMethod.JOINT), null).convert(Fixtures.conformerTiny(), mla, false);
    recognizers.put("mla", SpeechRecognizer.open(mla));
  }

  @AfterAll
  static void close() {
    recognizers.values().forEach(SpeechRecognizer::close);
  }

  @ParameterizedTest(name = "{0}, {1} cache")
  @MethodSource("kinds")
  void oneChunkOverTheWholeUtteranceIsTheFullPass(String kind, StreamOptions.Cache cache) {
    SpeechRecognizer asr = recognizers.get(kind);
    Transcript full = asr.transcribeAll(List.of(audio), 1).get(0);
    try (RecognizerStream stream = asr.openStream(new StreamOptions(full.logits().length, 0, cache))) {
      stream.accept(audio);
      Transcript streamed = stream.finish();
      assertThat(streamed.logits().length).isEqualTo(full.logits().length);
      assertThat(maxDiff(streamed.logits(), full.logits())).isLessThan(1e-4);
      assertThat(streamed.text()).isEqualTo(full.text());
    }
  }

  static Stream<Arguments> kinds() {
    return Stream.of(Arguments.of("mha", StreamOptions.Cache.KEY_VALUE), Arguments.of("mla", StreamOptions.Cache.KEY_VALUE),
        Arguments.of("mla", StreamOptions.Cache.LATENT));
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
  void attentionOverTheCacheIsFullAttentionOverTheWindow(String kind, StreamOptions.Cache cacheKind, int chunk, int left) {
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
        try (StreamingCache cache = attention.newStreamingCache(StreamingCacheKind.valueOf(cacheKind.name()),
            new Device("cpu"), 1, window)) {
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

  @Test
  void piecesOfAnySizeGiveTheSameFramesOnceTheNormalisationIsFixed() throws IOException {
    // a model without waveform normalisation streams the same logits however the audio is cut
    SpeechRecognizer asr = recognizers.get("mla");
    float[] normalised = asr.normalizer().normalize(audio);
    Path raw = temp.resolve("raw");
    copyWithoutNormalisation(temp.resolve("mla"), raw);
    try (SpeechRecognizer plain = SpeechRecognizer.open(raw)) {
      float[][] whole;
      try (RecognizerStream s = plain.openStream(new StreamOptions(8, 16, StreamOptions.Cache.LATENT))) {
        s.accept(normalised);
        whole = s.finish().logits();
      }
      for (int piece : new int[] {1, 159, 320, 401, 4000}) {
        try (RecognizerStream s = plain.openStream(new StreamOptions(8, 16, StreamOptions.Cache.LATENT))) {
          List<String> partials = new ArrayList<>();
          for (int start = 0; start < normalised.length; start += piece) {
            partials.add(s.accept(Arrays.copyOfRange(normalised, start, Math.min(normalised.length, start + piece))));
          }
          float[][] pieces = s.finish().logits();
          assertThat(maxDiff(pieces, whole)).as("pieces of %d samples", piece).isLessThan(1e-5);
          assertThat(partials.get(partials.size() - 1)).isNotNull();
        }
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

    SpeechRecognizer other = SpeechRecognizer.open(Fixtures.conformerTiny());
    RecognizerStream open = other.openStream(StreamOptions.DEFAULT);
    other.close();  // closes its streams too
    assertThatThrownBy(() -> open.accept(audio)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    assertThatThrownBy(() -> other.openStream(StreamOptions.DEFAULT)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void latentCacheIsSmallerThanTheKeyValueCache() {
    StreamOptions options = new StreamOptions(16, 240, StreamOptions.Cache.LATENT);
    assertThatThrownBy(() -> recognizers.get("mha").openStream(options)).hasMessageContaining("needs an MLA model");
    try (RecognizerStream mha = recognizers.get("mha").openStream(new StreamOptions(16, 240));
        RecognizerStream mla = recognizers.get("mla").openStream(options);
        RecognizerStream mlaAuto = recognizers.get("mla").openStream(new StreamOptions(16, 240));
        RecognizerStream mlaOneFrame = recognizers.get("mla").openStream(new StreamOptions(1, 255))) {
      // on a CPU the latent cache is the faster one for chunks of 1-2 frames only
      assertThat(mlaAuto.cacheKind()).isEqualTo(StreamingCacheKind.KEY_VALUE);
      assertThat(mlaOneFrame.cacheKind()).isEqualTo(StreamingCacheKind.LATENT);
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

  private static void copyWithoutNormalisation(Path from, Path to) throws IOException {
    java.nio.file.Files.createDirectories(to);
    try (var files = java.nio.file.Files.list(from)) {
      for (Path f : (Iterable<Path>) files::iterator) java.nio.file.Files.copy(f, to.resolve(f.getFileName()));
    }
    java.nio.file.Files.writeString(to.resolve("preprocessor_config.json"),
        "{\"sampling_rate\": 16000, \"do_normalize\": false, \"padding_value\": 0.0}");
  }
}
