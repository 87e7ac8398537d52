package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.cli.Main;
import dev.mha2mla.io.DType;
import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A broken model folder fails to load with a message that names the file and the problem. */
class ModelLoadingErrorsTest {
  /** A copy of the fixture folder whose weights were edited by {@code edit}. */
  private static Path folderWith(Path dir, Consumer<Map<String, RawTensor>> edit) throws IOException {
    Map<String, RawTensor> weights = new LinkedHashMap<>(StateDictTestAccess.raw(FixtureTensors.modelDir()));
    edit.accept(weights);
    Files.copy(FixtureTensors.modelDir().resolve("config.json"), dir.resolve("config.json"));
    Files.copy(FixtureTensors.modelDir().resolve("vocab.json"), dir.resolve("vocab.json"));
    SafeTensorsWriter.write(dir.resolve("model.safetensors"), weights);
    return dir;
  }

  private static final String Q = "wav2vec2_conformer.encoder.layers.1.self_attn.linear_q.weight";

  @Test
  void missingKey(@TempDir Path dir) throws IOException {
    Path m = folderWith(dir, w -> w.remove(Q));
    assertThatThrownBy(() -> ConformerCtcModel.load(m)).isInstanceOf(UnsupportedModelException.class)
        .hasMessageContaining("model.safetensors").hasMessageContaining("Missing 1").hasMessageContaining(Q);
  }

  @Test
  void unexpectedKey(@TempDir Path dir) throws IOException {
    Path m = folderWith(dir, w -> w.put("wav2vec2_conformer.quantizer.codevectors", RawTensor.ofFloats(new long[] {2}, new float[2])));
    assertThatThrownBy(() -> ConformerCtcModel.load(m)).hasMessageContaining("Unexpected 1")
        .hasMessageContaining("wav2vec2_conformer.quantizer.codevectors");
  }

  @Test
  void shapeDisagreesWithConfig(@TempDir Path dir) throws IOException {
    Path m = folderWith(dir, w -> w.put(Q, RawTensor.ofFloats(new long[] {64, 32}, new float[64 * 32])));
    assertThatThrownBy(() -> ConformerCtcModel.load(m)).hasMessageContaining(Q).hasMessageContaining("[64, 32]")
        .hasMessageContaining("config.json implies [64, 64]");
  }

  @Test
  void integerWeights(@TempDir Path dir) throws IOException {
    Path m = folderWith(dir, w -> w.put(Q, new RawTensor(DType.I32, new long[] {64, 64}, ByteBuffer.allocate(64 * 64 * 4))));
    assertThatThrownBy(() -> ConformerCtcModel.load(m)).hasMessageContaining(Q).hasMessageContaining("I32")
        .hasMessageContaining("floating point");
  }

  @Test
  void truncatedWeights(@TempDir Path dir) throws IOException {
    Path m = folderWith(dir, w -> {});
    byte[] bytes = Files.readAllBytes(m.resolve("model.safetensors"));
    Files.write(m.resolve("model.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
    assertThatThrownBy(() -> ConformerCtcModel.load(m)).isInstanceOf(MalformedFileException.class)
        .hasMessageContaining("model.safetensors");
  }

  @Test
  void cliExitsWithOneAndNamesTheFile(@TempDir Path dir) throws IOException {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream old = System.err;
    int code;
    try {
      System.setErr(new PrintStream(err, true));
      code = Main.run("transcribe", "--model", FixtureTensors.modelDir().toString(),
          FixtureTensors.modelDir().resolve("config.json").toString());
    } finally {
      System.setErr(old);
    }
    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).contains("config.json").contains("not a WAV file");
    Path m = folderWith(dir, w -> w.remove(Q));
    assertThat(Main.run("transcribe", "--model", m.toString(), FixtureTensors.modelDir().resolve("audio.wav").toString())).isEqualTo(1);
    assertThat(Main.run("transcribe", "--bogus-flag")).isEqualTo(2);
  }
}
