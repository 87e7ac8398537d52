package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A deterministic mutation campaign for every build: for each file format, {@value #DEFAULT_INPUTS} inputs
 * (system property {@code mha2mla.fuzz.inputs}) made by {@link Mutator} from the {@link Seeds}, each run
 * through the {@link FuzzTargets} property. Not coverage-guided like {@link FormatFuzzTest}'s Jazzer
 * campaigns, but it needs nothing beyond JUnit and takes seconds, so every build tries a few thousand hostile
 * files per reader. The same seed always gives the same inputs; a failing input is saved under
 * {@code target/fuzz-failures/} (copy it into {@code FormatFuzzTestInputs/<method>/} in the test resources to keep
 * it as a Jazzer regression input).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MutationFuzzTest {
  static final int DEFAULT_INPUTS = 2000;
  private static final int INPUTS = Integer.getInteger("mha2mla.fuzz.inputs", DEFAULT_INPUTS);
  private static final long SEED = Long.getLong("mha2mla.fuzz.seed", 20261125L);
  // any single input slower than this counts as a hang: every seed is read in milliseconds
  private static final long SLOW_NANOS = TimeUnit.SECONDS.toNanos(10);

  private interface Target {
    boolean accept(byte[] input) throws Exception;
  }

  @Test
  void safetensorsFiles() throws Exception {
    // Half the inputs mutate the JSON header and re-frame it with its true length, so the mutation reaches the
    // header's rules instead of stopping at "header length does not match"; the other half mutate raw bytes.
    SplittableRandom coin = new SplittableRandom(SEED);
    Mutator headerMutator = new Mutator(SEED + 1, Integer.MAX_VALUE);
    UnaryOperator<byte[]> mutateHeader = input -> {
      if (!coin.nextBoolean() || input.length < 8) return input;
      long n = ByteBuffer.wrap(input).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
      if (n < 0 || n > input.length - 8) return input;
      byte[] header = headerMutator.mutate(java.util.Arrays.copyOfRange(input, 8, 8 + (int) n));
      return reframe(header, input, 8 + (int) n);
    };
    campaign("safetensors", Seeds.safetensors(), 64, INPUTS, mutateHeader, FuzzTargets::safetensors);
  }

  @Test
  void torchPickles() throws Exception {
    // half as many: each input is a 650 KB archive (the fixture's storages around the mutated pickle)
    campaign("torch pickle", Seeds.pickles(), Integer.MAX_VALUE, INPUTS / 2, UnaryOperator.identity(),
        FuzzTargets::torchPickle);
  }

  @Test
  void torchArchives() throws Exception {
    campaign("torch archive", Map.of("one 2x2 float tensor", Seeds.smallTorchArchive()), Integer.MAX_VALUE,
        FuzzTargets::torchArchive);
  }

  @Test
  void wavFiles() throws Exception {
    campaign("WAV", Seeds.wavs(), 64, FuzzTargets::wav);
  }

  @Test
  void flacFiles() throws Exception {
    campaign("FLAC", Seeds.flacs(), 256, FuzzTargets::flac);
  }

  // STREAMINFO ends at byte 42 and the first frame header follows: mutations land there three times out of four
  @Test
  void flacHeaders() throws Exception {
    campaign("FLAC headers", Seeds.flacHeaders(), 52, FuzzTargets::flac);
  }

  @Test
  void configFiles() throws Exception {
    campaign("config.json bytes", Seeds.configs(), Integer.MAX_VALUE, FuzzTargets::configFile);
  }

  /** Valid JSON whose fields hold anything: wrong types, extreme numbers, missing or extra fields. */
  @Test
  void configObjects() throws Exception {
    SplittableRandom random = new SplittableRandom(SEED);
    campaign("config.json fields", Map.of("fixture config.json", new byte[0]), 0, ignored -> {
      ObjectNode c = mutatedConfig(random);
      try {
        return FuzzTargets.configObject(c);
      } catch (Throwable t) {
        throw new AssertionError("on " + c, t);
      }
    });
  }

  /**
   * The same field mutations written as config.json files and read by {@code ConformerConfig.read}: each loads
   * within every documented range, or is refused as a MalformedFileException naming the file (or, for a model
   * mha2mla does not run, an UnsupportedModelException).
   */
  @Test
  void configFilesWithMutatedFields() throws Exception {
    SplittableRandom random = new SplittableRandom(SEED + 2);
    campaign("config.json files, fields", Map.of("fixture config.json", new byte[0]), 0, ignored -> {
      ObjectNode c = mutatedConfig(random);
      try {
        return FuzzTargets.configFileOf(c);
      } catch (Throwable t) {
        throw new AssertionError("on " + c, t);
      }
    });
  }

  // The fixture config with one to three fields removed or set to a random value (near-limit integers included).
  private static ObjectNode mutatedConfig(SplittableRandom random) throws IOException {
    ObjectNode c = fixtureConfig().deepCopy();
    List<String> fields = new ArrayList<>();
    c.fieldNames().forEachRemaining(fields::add);
    fields.add("mla");
    for (int round = 1 + random.nextInt(3); round > 0; round--) {
      String field = fields.get(random.nextInt(fields.size()));
      if (random.nextInt(8) == 0) c.remove(field);
      else c.set(field, randomValue(random, 0));
    }
    return c;
  }

  private static ObjectNode fixtureConfig;

  private static synchronized ObjectNode fixtureConfig() throws IOException {
    if (fixtureConfig == null) fixtureConfig = (ObjectNode) new ObjectMapper().readTree(Seeds.fixture("config.json"));
    return fixtureConfig;
  }

  /** Runs {@code inputs} mutations of the seeds (taken in turn) through {@code target}; prints what happened. */
  private static void campaign(String name, Map<String, byte[]> seeds, int focus, Target target) throws Exception {
    campaign(name, seeds, focus, INPUTS, UnaryOperator.identity(), target);
  }

  /** As above, with {@code inputs} inputs, each passed through {@code shape} after the byte-level mutations. */
  private static void campaign(String name, Map<String, byte[]> seeds, int focus, int inputs,
      UnaryOperator<byte[]> shape, Target target) throws Exception {
    List<Map.Entry<String, byte[]>> pool = new ArrayList<>(seeds.entrySet());
    Mutator mutator = new Mutator(SEED, focus);
    int accepted = 0;
    long slowest = 0;
    long start = System.nanoTime();
    for (int i = 0; i < inputs; i++) {
      Map.Entry<String, byte[]> seed = pool.get(i % pool.size());
      byte[] input = shape.apply(mutator.mutate(seed.getValue()));
      long t0 = System.nanoTime();
      try {
        if (target.accept(input)) accepted++;
      } catch (Throwable t) {
        Path saved = save(name, i, input);
        throw new AssertionError(name + " input #" + i + " (a mutation of " + seed.getKey() + ", saved as " + saved
            + ") broke the reader's contract: " + t, t);
      }
      long took = System.nanoTime() - t0;
      slowest = Math.max(slowest, took);
      if (took > SLOW_NANOS) {
        Path saved = save(name, i, input);
        throw new AssertionError(name + " input #" + i + " took " + took / 1_000_000 + " ms (saved as " + saved + ")");
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("mutation fuzzing, %s: %d inputs in %.1f s (%d accepted, %d refused cleanly), slowest %.1f ms%n",
        name, inputs, seconds, accepted, inputs - accepted, slowest / 1e6);
    assertThat(accepted).as("some mutations stay valid files; with none, the campaign never gets past the first check")
        .isPositive();
  }

  // small values, each side of ConformerConfig's limits (256 layers, 16384 channels, 1024 kernel, 255 depthwise), and
  // the ends of int and long
  private static final long[] INTS = {
    0, 1, 2, 3, 7, 16, 31, 32, 64, -1, 255, 256, 257, 1024, 1025, 16384, 16385, 1_000_000_000,
    Integer.MAX_VALUE, Integer.MIN_VALUE, 1L << 31, Long.MAX_VALUE
  };
  private static final double[] DOUBLES = {0.5, -0.0, 1e-300, 1e308, Double.NaN, Double.POSITIVE_INFINITY, 64.0, 1.5,
    64.5, -1, 0.1, 0.10000001};
  private static final String[] STRINGS = {"", "relative", "rotary", "swish", "gelu", "layer", "group", "sum",
    "wav2vec2-conformer", "Wav2Vec2ConformerForCTC", "x".repeat(10_000)};

  private static JsonNode randomValue(SplittableRandom r, int depth) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    switch (r.nextInt(depth < 3 ? 9 : 7)) {
      case 0, 1: {
        long v = INTS[r.nextInt(INTS.length)];
        return v == (int) v ? f.numberNode((int) v) : f.numberNode(v);
      }
      case 2:
        return f.numberNode(BigInteger.TEN.pow(30));
      case 3:
        return f.numberNode(DOUBLES[r.nextInt(DOUBLES.length)]);
      case 4:
        return f.textNode(STRINGS[r.nextInt(STRINGS.length)]);
      case 5:
        return f.booleanNode(r.nextBoolean());
      case 6:
        return f.nullNode();
      case 7: {
        ArrayNode a = f.arrayNode();
        for (int i = r.nextInt(8); i > 0; i--) a.add(randomValue(r, depth + 1));
        return a;
      }
      default: {
        ObjectNode o = f.objectNode();
        o.set("latent_dim", randomValue(r, depth + 1));
        if (r.nextBoolean()) o.set("method", randomValue(r, depth + 1));
        return o;
      }
    }
  }

  private static byte[] reframe(byte[] header, byte[] file, int dataStart) {
    return ByteBuffer.allocate(8 + header.length + file.length - dataStart).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(header.length).put(header).put(file, dataStart, file.length - dataStart).array();
  }

  private static Path save(String target, int index, byte[] input) throws IOException {
    Path dir = Files.createDirectories(Path.of("target", "fuzz-failures"));
    String file = target.replaceAll("[^A-Za-z0-9]+", "-") + "-" + SEED + "-" + index + ".bin";
    return Files.write(dir.resolve(file), input).toAbsolutePath();
  }
}
