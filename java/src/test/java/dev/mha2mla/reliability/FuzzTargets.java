package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mha2mla.data.FlacReader;
import dev.mha2mla.io.AudioLimits;
import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.UnsupportedAudioException;
import dev.mha2mla.io.SafeTensorsFile;
import dev.mha2mla.io.SafeTensorsReader;
import dev.mha2mla.io.TorchPickleReader;
import dev.mha2mla.io.WavAudio;
import dev.mha2mla.io.WavReader;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.UnsupportedModelException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The property every file reader must keep on any input whatsoever: it returns a well-formed result, or it
 * fails with the exception its API declares (an {@link IOException}; for config.json a
 * {@link MalformedFileException} or {@link UnsupportedModelException}); each target returns whether the input was
 * accepted. Anything else
 * escapes and fails the caller: an unchecked exception (a parser bug such as IndexOutOfBounds), an
 * {@link Error} (OutOfMemoryError, StackOverflowError), or an assertion about the result. Used by both the
 * Jazzer fuzz tests and the seeded mutation campaign.
 *
 * <p>Every target writes its input to a fresh file, because the readers' API takes paths (and the
 * safetensors reader memory-maps, which is part of what is being tested).
 */
final class FuzzTargets {
  private static final Path DIR = createScratch();
  private static final AtomicLong COUNTER = new AtomicLong();
  private static final ObjectMapper JSON = new ObjectMapper();

  private FuzzTargets() {}

  /** {@code SafeTensorsReader.open} on a whole file; on success every tensor's bytes are really there. */
  static boolean safetensors(byte[] file) throws IOException {
    Path path = write(file, ".safetensors");
    try {
      SafeTensorsFile st = SafeTensorsReader.open(path);
      for (Map.Entry<String, RawTensor> e : st.tensors().entrySet()) {
        RawTensor t = e.getValue();
        assertThat(t.data().remaining()).as(e.getKey()).isEqualTo(t.byteSize());
        assertThat(t.toByteArray()).as(e.getKey()).hasSize((int) t.byteSize());
      }
      return true;
    } catch (IOException expected) {
      return false;
    } finally {
      Files.deleteIfExists(path);
    }
  }

  /** {@code TorchPickleReader.read} on an archive of {@code pickle} as data.pkl and the fixture's storages. */
  static boolean torchPickle(byte[] pickle) throws IOException {
    return torchArchive(TorchArchive.withFixtureStorages(pickle));
  }

  /** {@code TorchPickleReader.read} on a whole file (zip damage as well as pickle damage). */
  static boolean torchArchive(byte[] file) throws IOException {
    Path path = write(file, ".bin");
    try {
      for (Map.Entry<String, RawTensor> e : TorchPickleReader.read(path).entrySet()) {
        RawTensor t = e.getValue();
        assertThat(t.data().remaining()).as(e.getKey()).isEqualTo(t.byteSize());
      }
      return true;
    } catch (IOException expected) {
      return false;
    } finally {
      Files.deleteIfExists(path);
    }
  }

  static boolean wav(byte[] file) throws IOException {
    Path path = write(file, ".wav");
    try {
      WavAudio audio = WavReader.read(path);
      assertThat(audio.channels()).isEqualTo(1);
      assertThat(audio.samples().length).isLessThanOrEqualTo(file.length / 2);
      return true;
    } catch (IOException expected) {
      return false;
    } finally {
      Files.deleteIfExists(path);
    }
  }

  static boolean flac(byte[] file) throws IOException {
    Path path = write(file, ".flac");
    try {
      FlacReader.header(path);
      WavAudio audio = FlacReader.read(path);
      assertThat(audio.channels()).isEqualTo(1);
      assertThat(audio.samples()).isNotEmpty();
      assertThat((long) audio.samples().length).isLessThanOrEqualTo(AudioLimits.maxSamples(audio.sampleRate()));
      return true;
    } catch (MalformedFileException | UnsupportedAudioException expected) {
      // the two refusals the reader promises (a too-long file is an UnsupportedAudioException); any other
      // exception, an OutOfMemoryError included, breaks the contract
      assertThat(expected.getMessage()).startsWith(path.toString());
      return false;
    } finally {
      Files.deleteIfExists(path);
    }
  }

  /**
   * {@code ConformerConfig.read} (JSON parsing, then {@code fromJson}) on a config.json file: a config, or a
   * {@link MalformedFileException} (bad JSON, a field of the wrong type or out of range), or an
   * {@link UnsupportedModelException} for a well-formed config of a model mha2mla does not run (another
   * model_type, rotary positions, an adapter). No other IOException: the file exists.
   */
  static boolean configFile(byte[] file) throws IOException {
    Path path = write(file, ".json");
    try {
      checkInvariants(ConformerConfig.read(path));
      return true;
    } catch (MalformedFileException expected) {
      assertThat(expected.file()).isEqualTo(path);
      return false;
    } catch (UnsupportedModelException expected) {
      assertThat(expected).isNotInstanceOf(IOException.class);
      return false;
    } finally {
      Files.deleteIfExists(path);
    }
  }

  /** {@link #configFile} on {@code json} written as a config.json file. */
  static boolean configFileOf(ObjectNode json) throws IOException {
    return configFile(JSON.writeValueAsBytes(json));
  }

  /** {@code ConformerConfig.fromJson} on an already parsed object. */
  static boolean configObject(ObjectNode json) {
    try {
      checkInvariants(ConformerConfig.fromJson(json, "fuzzed config.json"));
      return true;
    } catch (UnsupportedModelException expected) {
      return false;
    }
  }

  // What fromJson promises about a config it accepts: every field within its documented range.
  private static void checkInvariants(ConformerConfig c) {
    assertThat(c.hiddenSize()).isBetween(1, ConformerConfig.MAX_HIDDEN_SIZE);
    assertThat(c.numAttentionHeads()).isBetween(1, c.hiddenSize());
    assertThat(c.hiddenSize() % c.numAttentionHeads()).isZero();
    assertThat(c.numHiddenLayers()).isBetween(1, ConformerConfig.MAX_LAYERS);
    assertThat(c.intermediateSize()).isBetween(1, ConformerConfig.MAX_INTERMEDIATE_SIZE);
    assertThat(c.vocabSize()).isBetween(1, ConformerConfig.MAX_VOCAB_SIZE);
    assertThat(c.padTokenId()).isBetween(0, c.vocabSize() - 1);
    assertThat(c.layerNormEps() > 0 && c.layerNormEps() <= ConformerConfig.MAX_LAYER_NORM_EPS)
        .as("layer_norm_eps %s in (0, %s]", c.layerNormEps(), ConformerConfig.MAX_LAYER_NORM_EPS).isTrue();
    assertThat(c.maskTimeProb() >= 0 && c.maskTimeProb() <= 1).as("mask_time_prob %s in [0, 1]", c.maskTimeProb()).isTrue();
    assertThat(c.depthwiseKernelSize()).isBetween(1, ConformerConfig.MAX_DEPTHWISE_KERNEL);
    assertThat(c.depthwiseKernelSize() % 2).isEqualTo(1);
    assertThat(c.convDim()).isNotEmpty().hasSizeLessThanOrEqualTo(ConformerConfig.MAX_CONV_LAYERS)
        .hasSameSizeAs(c.convKernel()).hasSameSizeAs(c.convStride());
    assertThat(c.convDim()).allSatisfy(d -> assertThat(d).isBetween(1, ConformerConfig.MAX_CONV_DIM));
    assertThat(c.convKernel()).allSatisfy(k -> assertThat(k).isBetween(1, ConformerConfig.MAX_CONV_KERNEL));
    assertThat(c.convStride()).allSatisfy(s -> assertThat(s).isBetween(1, ConformerConfig.MAX_CONV_KERNEL));
    assertThat(c.convStride().stream().mapToLong(Integer::longValue).reduce(1, Math::multiplyExact))
        .isLessThanOrEqualTo(ConformerConfig.MAX_TOTAL_STRIDE);
    if (c.isMla()) assertThat(c.mla().latentDims()).allSatisfy(r -> assertThat(r).isBetween(1, 2 * c.hiddenSize()));
  }

  private static Path write(byte[] bytes, String suffix) {
    try {
      return Files.write(DIR.resolve(COUNTER.incrementAndGet() + suffix), bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path createScratch() {
    try {
      Path dir = Files.createTempDirectory("mha2mla-fuzz");
      dir.toFile().deleteOnExit();
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
