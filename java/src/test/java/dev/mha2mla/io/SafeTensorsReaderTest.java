package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.NoSuchElementException;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SafeTensorsReaderTest {
  private static final Path MODEL = Fixtures.conformerTiny().resolve("model.safetensors");
  // facts about the fixture, read with Python's json/struct/numpy
  private static final int MODEL_HEADER_LENGTH = 14240;

  @TempDir
  Path dir;

  @Test
  void readsTheFixtureModel() throws IOException {
    SafeTensorsFile file = SafeTensorsReader.open(MODEL);

    assertThat(file.size()).isEqualTo(114);
    assertThat(file.metadata()).containsExactly(Map.entry("format", "pt"));
    assertThat(file.names()).startsWith("lm_head.bias", "lm_head.weight", "wav2vec2_conformer.encoder.layer_norm.bias");

    RawTensor weight = file.get("lm_head.weight");
    assertThat(weight.dtype()).isEqualTo(DType.F32);
    assertThat(weight.shape()).containsExactly(32, 64);

    assertThat(file.get("lm_head.bias").toFloatArray())
        .startsWith(-1.4903588f, -7.7463659e-03f, -6.1369466e-04f, 5.6196502e-03f);

    RawTensor tracked = file.get("wav2vec2_conformer.encoder.layers.0.conv_module.batch_norm.num_batches_tracked");
    assertThat(tracked.dtype()).isEqualTo(DType.I64);
    assertThat(tracked.shape()).isEmpty();
    assertThat(tracked.toLongArray()).containsExactly(7L);
  }

  @Test
  void tensorsAreViewsOfTheFileBytes() throws IOException {
    byte[] raw = Files.readAllBytes(MODEL);
    int dataStart = 8 + MODEL_HEADER_LENGTH;
    // lm_head.weight has data_offsets [128, 8320]
    byte[] expected = Arrays.copyOfRange(raw, dataStart + 128, dataStart + 8320);

    RawTensor weight = SafeTensorsReader.open(MODEL).get("lm_head.weight");

    assertThat(weight.toByteArray()).isEqualTo(expected);
    assertThat(weight.data().isReadOnly()).isTrue();
    assertThatThrownBy(() -> weight.data().put(0, (byte) 1)).isInstanceOf(ReadOnlyBufferException.class);
  }

  @Test
  void filesOverTwoGigabytesAreMappedInSegmentsWithTheSameResult() throws IOException {
    // a ByteBuffer addresses at most 2 GiB, so big files are mapped as several runs of whole tensors
    SafeTensorsFile whole = SafeTensorsReader.open(MODEL);
    SafeTensorsFile segmented = SafeTensorsReader.open(MODEL, 10_000);

    assertThat(segmented.names()).isEqualTo(whole.names());
    assertThat(segmented.tensors()).isEqualTo(whole.tensors());
  }

  @Test
  void unknownNameIsReported() throws IOException {
    SafeTensorsFile file = SafeTensorsReader.open(MODEL);
    assertThat(file.contains("lm_head.weight")).isTrue();
    assertThatThrownBy(() -> file.get("lm_head.weights"))
        .isInstanceOf(NoSuchElementException.class)
        .hasMessageContaining("lm_head.weights");
  }

  @Test
  void fileCutInTheDataIsTruncated() throws IOException {
    byte[] raw = Files.readAllBytes(MODEL);
    Path cut = write("cut-data.safetensors", Arrays.copyOf(raw, raw.length / 2));

    assertMalformed(cut).hasMessageStartingWith(cut + ": ").hasMessageContaining("truncated");
  }

  @Test
  void fileCutInTheHeaderIsTruncated() throws IOException {
    byte[] raw = Files.readAllBytes(MODEL);
    Path cut = write("cut-header.safetensors", Arrays.copyOf(raw, 8 + MODEL_HEADER_LENGTH / 2));

    assertMalformed(cut).hasMessageContaining("header length 14240 runs past the end");
  }

  @Test
  void fileShorterThanTheLengthFieldIsRejected() throws IOException {
    assertMalformed(write("tiny.safetensors", new byte[] {1, 2, 3})).hasMessageContaining("too short");
  }

  @Test
  void absurdHeaderLengthIsRejectedBeforeAllocating() throws IOException {
    byte[] huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 200_000_000L).array();
    assertMalformed(write("huge.safetensors", huge)).hasMessageContaining("200000000 exceeds the 100000000-byte limit");
    byte[] negative = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L).array();
    assertMalformed(write("negative.safetensors", negative)).hasMessageContaining("18446744073709551615");
  }

  @Test
  void nonSafetensorsFileIsRejected() throws IOException {
    Path config = Fixtures.conformerTiny().resolve("config.json");
    assertMalformed(config).hasMessageContaining("config.json");
  }

  @Test
  void wrongDeclaredSizeNamesTensorAndBothSizes() throws IOException {
    Path file = safetensors("{\"x\":{\"dtype\":\"F32\",\"shape\":[32,64],\"data_offsets\":[0,4096]}}", 4096);

    assertMalformed(file).hasMessage(file + ": tensor 'x' declares 4096 bytes but shape [32, 64] F32 needs 8192");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
    "header is an array          | [1,2]                                                                  | 0  | header is not a JSON object",
    "header is not JSON          | {\"x\":                                                                | 0  | header is not valid JSON",
    "trailing JSON after object  | {} {}                                                                  | 0  | header is not valid JSON",
    "unknown dtype               | {\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}   | 1  | tensor 'x' has dtype 'F8_E4M3'",
    "negative dimension          | {\"x\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}       | 0  | tensor 'x' 'shape' holds -1",
    "fractional dimension        | {\"x\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,0]}}      | 0  | tensor 'x' 'shape' holds 1.5",
    "dimension beyond 64 bits    | {\"x\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],\"data_offsets\":[0,0]}} | 0 | tensor 'x' 'shape' holds",
    "element count overflows     | {\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}} | 0 | more than 2^63 elements",
    "tensor over 2 GiB           | {\"x\":{\"dtype\":\"F32\",\"shape\":[1073741824],\"data_offsets\":[0,4294967296]}} | 0 | needs more than 2 GiB",
    "missing data_offsets        | {\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}                              | 4  | tensor 'x' has no array 'data_offsets'",
    "three offsets               | {\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}      | 1  | 'data_offsets' has 3 entries",
    "offsets reversed            | {\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}        | 4  | end before they begin",
    "offsets past the data       | {\"x\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}       | 8  | tensor 'x' data_offsets [4, 12] run past the end of the 8-byte data section",
    "overlapping tensors         | {\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}} | 12 | tensor 'b' bytes [4, 12) overlap tensor 'a' bytes [0, 8)",
    "gap between tensors         | {\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}} | 12 | 4 unused bytes at offset 4 before tensor 'b'",
    "bytes after the last tensor | {\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}       | 6  | data section is 6 bytes but the tensors cover 4",
    "duplicate tensor name       | {\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}} | 2 | Duplicate field 'a'",
    "metadata value not a string | {\"__metadata__\":{\"epoch\":3}}                                      | 0  | __metadata__ value of 'epoch' is not a string",
    "tensor entry not an object  | {\"a\":[1]}                                                            | 0  | tensor 'a' is not a JSON object",
  })
  void hostileHeadersAreRejectedWithAReason(String caseName, String header, int dataBytes, String expected)
      throws IOException {
    Path file = safetensors(header.strip(), dataBytes);

    assertMalformed(file).hasMessageStartingWith(file + ": ").hasMessageContaining(expected);
  }

  @Test
  void zeroSizedTensorsAndEmptyFilesAreValid() throws IOException {
    Path file = safetensors("{\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
        + "\"one\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    SafeTensorsFile st = SafeTensorsReader.open(file);
    assertThat(st.names()).containsExactly("empty", "one");
    assertThat(st.get("empty").numel()).isZero();
    assertThat(SafeTensorsReader.open(safetensors("{}", 0)).size()).isZero();
  }

  @Test
  void namesKeepHeaderOrderNotOffsetOrder() throws IOException {
    Path file = safetensors("{\"z\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
        + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 2);
    SafeTensorsFile st = SafeTensorsReader.open(file);
    assertThat(st.names()).containsExactly("z", "a");
    assertThat(st.get("z").toLongArray()).containsExactly(1L);
    assertThat(st.get("a").toLongArray()).containsExactly(0L);
  }

  /** A safetensors file with this header text and data bytes 0, 1, 2, ... */
  private Path safetensors(String header, int dataBytes) throws IOException {
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(json.length).put(json);
    for (int i = 0; i < dataBytes; i++) {
      b.put((byte) i);
    }
    return write("hand-made.safetensors", b.array());
  }

  private Path write(String name, byte[] bytes) throws IOException {
    return Files.write(dir.resolve(name), bytes);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertMalformed(Path file) {
    return assertThatThrownBy(() -> SafeTensorsReader.open(file))
        .isInstanceOf(MalformedFileException.class)
        .hasMessageContaining(file.getFileName().toString());
  }
}
