package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsWriterTest {
  @TempDir
  Path dir;

  @Test
  void roundTripKeepsOrderTypesShapesAndBytes() throws IOException {
    Map<String, RawTensor> tensors = new LinkedHashMap<>();
    tensors.put("weight", RawTensor.ofFloats(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, -6.5f}));
    tensors.put("steps", RawTensor.ofLongs(new long[0], new long[] {7}));
    tensors.put("empty", RawTensor.ofFloats(new long[] {0}, new float[0]));
    tensors.put("half", new RawTensor(DType.F16, new long[] {1}, ByteBuffer.wrap(new byte[] {0x00, 0x3C})));
    Path file = dir.resolve("out.safetensors");

    SafeTensorsWriter.write(file, tensors, Map.of("format", "pt"));
    SafeTensorsFile read = SafeTensorsReader.open(file);

    assertThat(read.names()).containsExactly("weight", "steps", "empty", "half");
    assertThat(read.tensors()).isEqualTo(tensors);
    assertThat(read.get("half").toFloatArray()).containsExactly(1f);
    assertThat(read.metadata()).isEqualTo(Map.of("format", "pt"));
  }

  @Test
  void headerIsPaddedWithSpacesToAMultipleOfEight() throws IOException {
    Path file = dir.resolve("pad.safetensors");
    SafeTensorsWriter.write(file, Map.of("a", RawTensor.ofFloats(new long[] {1}, new float[] {2f})));

    byte[] raw = Files.readAllBytes(file);
    long headerLength = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    String header = new String(raw, 8, (int) headerLength, StandardCharsets.UTF_8);

    assertThat(headerLength % 8).isZero();
    assertThat(header).isEqualTo(String.format("%-56s", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"));
    assertThat(raw).hasSize(8 + 56 + 4);
  }

  @Test
  void rewritingTheFixtureReproducesItByteForByte() throws IOException {
    // the reference writer also emits compact JSON, __metadata__ first, tensors in offset order
    Path original = Fixtures.conformerTiny().resolve("model.safetensors");
    SafeTensorsFile model = SafeTensorsReader.open(original);
    Path copy = dir.resolve("model.safetensors");

    SafeTensorsWriter.write(copy, model.tensors(), model.metadata());

    assertThat(Files.readAllBytes(copy)).isEqualTo(Files.readAllBytes(original));
  }

  @Test
  void metadataKeyCannotNameATensor() {
    Path file = dir.resolve("bad.safetensors");
    assertThatThrownBy(() -> SafeTensorsWriter.write(file,
        Map.of("__metadata__", RawTensor.ofFloats(new long[] {1}, new float[] {1f}))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("reserved");
    assertThat(file).doesNotExist();
  }
}
