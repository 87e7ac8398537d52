package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.cli.CliRun;
import dev.mha2mla.cli.Main;
import dev.mha2mla.io.DType;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsFile;
import dev.mha2mla.io.SafeTensorsReader;
import dev.mha2mla.io.SafeTensorsWriter;
import dev.mha2mla.io.TorchPickleReader;
import dev.mha2mla.model.ConformerCtcModel;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model folders built to exhaust memory or to pass bad values through: a pytorch_model.bin whose compressed
 * storages inflate to 8 GiB of zeros, a data.pkl of 64 MB of TUPLE1 opcodes (tuples nested 64 million deep)
 * or of millions of empty tuples, and weights holding NaN or an infinity. Each must fail as a
 * {@link MalformedFileException} naming the file, the entry or tensor, and the limit; the CLI, in a JVM
 * with a 512 MiB heap, must exit 1 with that one line and no OutOfMemoryError or stack trace.
 * (Out-of-range config.json values are {@link ConfigLimitsTest}'s.)
 */
class HostileModelFolderTest {
  /** Eight storages of 2^28 floats, 1 GiB each: 8 GiB of zeros that deflate to about 8 MB. */
  private static final int BOMB_STORAGES = 8;
  private static final long BOMB_FLOATS = 1L << 28;
  /** 64 million bytes of data.pkl (under TorchPickleReader.MAX_PICKLE_BYTES), nearly all TUPLE1. */
  private static final int DEEP_PICKLE_BYTES = 64_000_000;

  @TempDir static Path shared;
  private static Path bombBin;
  private static Path deepBin;

  @TempDir Path dir;

  @BeforeAll
  static void writeHostileArchives() throws IOException {
    Pickle p = new Pickle().proto(2).orderedDict();
    for (int k = 0; k < BOMB_STORAGES; k++) {
      p.str("w" + k).tensor("FloatStorage", Integer.toString(k), BOMB_FLOATS, 0, new long[] {BOMB_FLOATS},
          new long[] {1}).op('s');
    }
    bombBin = shared.resolve("bomb.bin");
    TorchArchive.writeDeflateBomb(bombBin, p.stop().bytes(), BOMB_STORAGES, 4 * BOMB_FLOATS);

    // PROTO 2, NONE, then TUPLE1 until the pickle is DEEP_PICKLE_BYTES long, then STOP: ((((None,),),),...)
    byte[] deep = new byte[DEEP_PICKLE_BYTES];
    java.util.Arrays.fill(deep, (byte) 0x85);
    deep[0] = (byte) 0x80;
    deep[1] = 2;
    deep[2] = 'N';
    deep[deep.length - 1] = '.';
    deepBin = Files.write(shared.resolve("deep.bin"), TorchArchive.of(deep, Map.of()));
  }

  @Test
  void deflateBombIsRefusedBeforeInflating() {
    assertThat(bombBin.toFile().length()).as("the bomb file").isLessThan(16L << 20);

    long before = allocatedBytes();
    assertThatThrownBy(() -> TorchPickleReader.read(bombBin)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(bombBin + ": ")
        .hasMessageContaining(TorchArchive.PREFIX + "/data/0")
        .hasMessageContaining("to " + 4 * BOMB_FLOATS + " would exceed the limit of "
            + TorchPickleReader.MAX_INFLATION_RATIO + " x compressed size + " + TorchPickleReader.INFLATION_SLACK_BYTES);
    assertThat(allocatedBytes() - before).as("heap bytes allocated while refusing the bomb").isLessThan(16L << 20);
  }

  @Test
  void manySmallDeflatedStoragesMayNotTogetherInflatePastTheArchiveLimit() throws IOException {
    // Each 3 MiB entry of zeros stays within its own allowance (the 4 MiB slack), but the whole file of about
    // 20 KB may inflate to 20 x 20 KB + 4 MiB only: the second entry crosses that.
    long floats = 3L << 18;
    Pickle p = new Pickle().proto(2).orderedDict();
    for (int k = 0; k < 2; k++) {
      p.str("w" + k).tensor("FloatStorage", Integer.toString(k), floats, 0, new long[] {floats}, new long[] {1}).op('s');
    }
    Path file = dir.resolve("two-bombs.bin");
    TorchArchive.writeDeflateBomb(file, p.stop().bytes(), 2, 4 * floats);

    assertThatThrownBy(() -> TorchPickleReader.read(file)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(file + ": ")
        .hasMessageContaining(TorchArchive.PREFIX + "/data/1")
        .hasMessageContaining("past the limit of " + TorchPickleReader.MAX_INFLATION_RATIO + " x the "
            + Files.size(file) + "-byte file size + " + TorchPickleReader.INFLATION_SLACK_BYTES);
  }

  @Test
  void theFixtureReZippedWithDeflateStillLoads() throws IOException {
    // what a user gets from zip -r on a torch.save checkpoint: same entries, DEFLATE-compressed
    Path original = Fixtures.conformerTiny().resolve("pytorch_model.bin");
    Path deflated = dir.resolve("deflated.bin");
    try (ZipFile in = new ZipFile(original.toFile());
        OutputStream file = Files.newOutputStream(deflated);
        ZipOutputStream out = new ZipOutputStream(file)) {
      for (ZipEntry e : Collections.list(in.entries())) {
        out.putNextEntry(new ZipEntry(e.getName()));
        out.write(in.getInputStream(e).readAllBytes());
        out.closeEntry();
      }
    }
    Map<String, RawTensor> expected = TorchPickleReader.read(original);
    Map<String, RawTensor> actual = TorchPickleReader.read(deflated);
    assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
    expected.forEach((name, t) -> assertThat(actual.get(name)).as(name).isEqualTo(t));
  }

  @Test
  void tuplesNestedSixtyFourMillionDeepAreRefusedAtTheDepthLimit() {
    long before = allocatedBytes();
    assertThatThrownBy(() -> TorchPickleReader.read(deepBin)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(deepBin + ": ")
        .hasMessageContaining(TorchArchive.PREFIX + "/data.pkl byte ")
        .hasMessageContaining("nest more than 1000 deep");
    // the pickle itself is read into memory; the tuples must add next to nothing to it
    assertThat(allocatedBytes() - before).as("heap bytes allocated while refusing the pickle")
        .isLessThan(DEEP_PICKLE_BYTES + (16L << 20));
  }

  @Test
  void aPickleOfMillionsOfEmptyTuplesIsRefusedAtTheObjectLimit() throws IOException {
    // EMPTY_LIST, then (EMPTY_TUPLE, APPEND) four million times: two bytes per tuple, depth 2
    int tuples = 4_000_000;
    byte[] pickle = new byte[4 + 2 * tuples];
    pickle[0] = (byte) 0x80;
    pickle[1] = 2;
    pickle[2] = ']';
    for (int i = 0; i < tuples; i++) {
      pickle[3 + 2 * i] = ')';
      pickle[4 + 2 * i] = 'a';
    }
    pickle[pickle.length - 1] = '.';
    Path file = Files.write(dir.resolve("wide.bin"), TorchArchive.of(pickle, Map.of()));

    assertThatThrownBy(() -> TorchPickleReader.read(file)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(file + ": ")
        .hasMessageContaining("data.pkl byte ")
        .hasMessageContaining("more than " + (1 << 20) + " objects");
  }

  @Test
  void nanInSafetensorsWeightsFailsAtLoadNamingTheTensor() throws IOException {
    String name = "wav2vec2_conformer.encoder.layers.1.self_attn.linear_q.weight";
    Path model = modelFolder(dir.resolve("nan"));
    SafeTensorsFile fixture = SafeTensorsReader.open(Fixtures.conformerTiny().resolve("model.safetensors"));
    Map<String, RawTensor> weights = new LinkedHashMap<>(fixture.tensors());
    float[] values = weights.get(name).toFloatArray();
    values[37] = Float.NaN;
    weights.put(name, RawTensor.ofFloats(weights.get(name).shape(), values));
    Path file = model.resolve("model.safetensors");
    SafeTensorsWriter.write(file, weights);

    assertThatThrownBy(() -> ConformerCtcModel.load(model)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(file + ": ")
        .hasMessageContaining("tensor '" + name + "'")
        .hasMessageContaining("NaN at flat index 37")
        .hasMessageContaining("weights must be finite");
  }

  @Test
  void infinityInPytorchBinWeightsFailsAtLoadNamingTheTensor() throws IOException {
    Path model = modelFolder(dir.resolve("inf"));
    Path file = model.resolve("pytorch_model.bin");
    // -inf as the first element of the first storage that holds floating-point weights; which tensors then hold
    // it is found by decoding every tensor, independently of the loader's check
    List<String> infinite = new ArrayList<>();
    for (String key : TorchArchive.fixtureStorageCopies().keySet()) {
      Map<String, byte[]> storages = TorchArchive.fixtureStorageCopies();
      ByteBuffer.wrap(storages.get(key)).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NEGATIVE_INFINITY);
      Files.write(file, TorchArchive.of(TorchArchive.fixturePickle(), storages));
      TorchPickleReader.read(file).forEach((name, t) -> {
        if (t.dtype() == DType.F32) {
          for (float v : t.toFloatArray()) {
            if (v == Float.NEGATIVE_INFINITY) {
              infinite.add(name);
              break;
            }
          }
        }
      });
      if (!infinite.isEmpty()) break;
    }
    assertThat(infinite).as("tensors holding the infinity").isNotEmpty();

    assertThatThrownBy(() -> ConformerCtcModel.load(model)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(file + ": ")
        .hasMessageContaining("tensor '" + infinite.get(0) + "'")
        .hasMessageContaining("-Infinity at flat index")
        .hasMessageContaining("weights must be finite");
  }

  @Test
  void nonFiniteValuesAreFoundInEveryFloatingPointType() {
    // IEEE bit patterns: F16 0x7bff is its largest finite value (65504), 0x7c00 +inf, 0xfe00 a NaN;
    // BF16 0x7f7f is its largest finite value, 0xff80 -inf, 0x7fc1 a NaN
    assertThat(half(DType.F16, 0x3c00, 0x7bff, 0xfbff, 0x0001).indexOfNonFinite()).isEqualTo(-1);
    assertThat(half(DType.F16, 0x3c00, 0x7bff, 0x7c00).indexOfNonFinite()).isEqualTo(2);
    assertThat(half(DType.F16, 0xfe00).indexOfNonFinite()).isEqualTo(0);
    assertThat(half(DType.BF16, 0x3f80, 0x7f7f, 0xff7f).indexOfNonFinite()).isEqualTo(-1);
    assertThat(half(DType.BF16, 0x3f80, 0xff80).indexOfNonFinite()).isEqualTo(1);
    assertThat(half(DType.BF16, 0x0000, 0x0000, 0x7fc1).indexOfNonFinite()).isEqualTo(2);
    assertThat(RawTensor.ofFloats(new long[] {3}, new float[] {Float.MAX_VALUE, -Float.MIN_VALUE, 0})
        .indexOfNonFinite()).isEqualTo(-1);
    assertThat(RawTensor.ofFloats(new long[] {2, 2}, new float[] {0, 0, 0, Float.POSITIVE_INFINITY})
        .indexOfNonFinite()).isEqualTo(3);
    ByteBuffer doubles = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN)
        .putDouble(Double.MAX_VALUE).putDouble(Double.NaN).putDouble(1).flip();
    assertThat(new RawTensor(DType.F64, new long[] {3}, doubles).indexOfNonFinite()).isEqualTo(1);
    ByteBuffer ints = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(0x7f800000).putInt(-1).flip();
    assertThat(new RawTensor(DType.I32, new long[] {2}, ints).indexOfNonFinite()).as("integers are never NaN")
        .isEqualTo(-1);
  }

  @Test
  void theCliInHalfAGigabyteOfHeapRefusesEachHostileFolderInOneLine() throws Exception {
    Path audio = Fixtures.conformerTiny().resolve("audio.wav");
    Path bomb = modelFolder(dir.resolve("bomb"));
    Files.copy(bombBin, bomb.resolve("pytorch_model.bin"));
    Path deep = modelFolder(dir.resolve("deep"));
    Files.copy(deepBin, deep.resolve("pytorch_model.bin"));
    Path layers = modelFolder(dir.resolve("layers"));
    Files.copy(Fixtures.conformerTiny().resolve("model.safetensors"), layers.resolve("model.safetensors"));
    String config = Files.readString(layers.resolve("config.json"));
    Files.writeString(layers.resolve("config.json"),
        config.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000000000"));

    for (Object[] c : new Object[][] {
        {bomb, bomb.resolve("pytorch_model.bin"), "would exceed the limit of"},
        {deep, deep.resolve("pytorch_model.bin"), "nest more than 1000 deep"},
        {layers, layers.resolve("config.json"), "'num_hidden_layers' is 1000000000, outside the supported range 1..256"}}) {
      Child run = cli("transcribe", "--model", c[0].toString(), audio.toString());
      assertThat(run.exitCode).as("exit code; stderr: %s", run.stderr).isEqualTo(1);
      assertThat(run.stderr).as("stderr of %s", c[0])
          .contains("mha2mla transcribe: error: " + c[1] + ": ")
          .contains((String) c[2])
          .doesNotContain("OutOfMemoryError")
          .doesNotContain("Exception in thread")
          .doesNotContainPattern("(?m)^\\s+at [\\w.$]+\\(");
      assertThat(run.stdout).as("no transcript").isEmpty();
    }
  }

  @Test
  void verbosePrintsTheStackTraceAsWellAsTheMessage() throws IOException {
    Path deep = modelFolder(dir.resolve("deep"));
    Files.copy(deepBin, deep.resolve("pytorch_model.bin"));
    String audio = Fixtures.conformerTiny().resolve("audio.wav").toString();
    for (String[] args : new String[][] {
        {"transcribe", "--model", deep.toString(), audio},
        {"transcribe", "--verbose", "--model", deep.toString(), audio},
        {"--verbose", "transcribe", "--model", deep.toString(), audio}}) {
      CliRun run = CliRun.of(args);
      int code = run.code();
      String stderr = run.stderr();
      boolean verbose = List.of(args).contains("--verbose");
      assertThat(code).as(String.join(" ", args)).isEqualTo(1);
      assertThat(stderr).as(String.join(" ", args)).contains("error: " + deep.resolve("pytorch_model.bin") + ": ");
      if (verbose) {
        assertThat(stderr).as(String.join(" ", args)).contains(MalformedFileException.class.getName())
            .containsPattern("(?m)^\\s+at dev\\.mha2mla\\.io\\.SafeUnpickler\\.");
      } else {
        assertThat(stderr).as(String.join(" ", args)).doesNotContainPattern("(?m)^\\s+at ");
      }
    }
  }

  /** A model folder with the fixture's config.json, vocab.json and preprocessor_config.json and no weights. */
  private static Path modelFolder(Path folder) throws IOException {
    Files.createDirectories(folder);
    for (String name : new String[] {"config.json", "vocab.json", "preprocessor_config.json"}) {
      Files.copy(Fixtures.conformerTiny().resolve(name), folder.resolve(name));
    }
    return folder;
  }

  private record Child(int exitCode, String stdout, String stderr) {}

  /** {@code mha2mla args} in a child JVM whose heap is capped at 512 MiB; killed after two minutes. */
  private Child cli(String... args) throws Exception {
    String java = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> command = new ArrayList<>(List.of(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
        Main.class.getName()));
    command.addAll(List.of(args));
    Path out = Files.createTempFile(dir, "child", ".out");
    Path err = Files.createTempFile(dir, "child", ".err");
    Process child = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try {
      assertThat(child.waitFor(2, TimeUnit.MINUTES)).as("the child finished within two minutes; stderr: %s",
          Files.readString(err)).isTrue();
      return new Child(child.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      child.destroyForcibly();
    }
  }

  private static RawTensor half(DType dtype, int... bits) {
    ByteBuffer b = ByteBuffer.allocate(2 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : bits) b.putShort((short) v);
    return new RawTensor(dtype, new long[] {bits.length}, b.flip());
  }

  private static long allocatedBytes() {
    if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean mx
        && mx.isThreadAllocatedMemorySupported()) {
      mx.setThreadAllocatedMemoryEnabled(true);
      return mx.getCurrentThreadAllocatedBytes();
    }
    return 0;
  }
}
