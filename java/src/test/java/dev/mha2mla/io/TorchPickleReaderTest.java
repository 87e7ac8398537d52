package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchPickleReaderTest {
  private static final Path FIXTURES = Fixtures.conformerTiny();

  @TempDir
  Path dir;

  @Test
  void fixtureBinHoldsTheSameTensorsAsTheSafetensorsFile() throws IOException {
    Map<String, RawTensor> bin = TorchPickleReader.read(FIXTURES.resolve("pytorch_model.bin"));
    SafeTensorsFile safetensors = SafeTensorsReader.open(FIXTURES.resolve("model.safetensors"));

    assertThat(bin).hasSize(114);
    assertThat(bin.keySet()).containsExactlyElementsOf(safetensors.names());
    for (String name : safetensors.names()) {
      RawTensor expected = safetensors.get(name);
      RawTensor actual = bin.get(name);
      assertThat(actual.dtype()).as(name).isEqualTo(expected.dtype());
      assertThat(actual.shape()).as(name).isEqualTo(expected.shape());
      assertThat(actual.toByteArray()).as(name).isEqualTo(expected.toByteArray());
    }
    RawTensor tracked = bin.get("wav2vec2_conformer.encoder.layers.1.conv_module.batch_norm.num_batches_tracked");
    assertThat(tracked.dtype()).isEqualTo(DType.I64);
    assertThat(tracked.shape()).isEmpty();
    assertThat(tracked.toLongArray()).containsExactly(7L);
  }

  @Test
  void storedStoragesAreMappedAndTheirFileOffsetsHoldEachTensorsBytes() throws IOException {
    Path file = FIXTURES.resolve("pytorch_model.bin");
    Map<String, Long> offsets = new java.util.HashMap<>();
    Map<String, RawTensor> bin = TorchPickleReader.read(file, offsets);
    // torch.save stores every storage uncompressed and little-endian: every tensor has its place in the file
    assertThat(offsets.keySet()).containsExactlyInAnyOrderElementsOf(bin.keySet());
    byte[] whole = Files.readAllBytes(file);
    for (Map.Entry<String, RawTensor> e : bin.entrySet()) {
      int at = Math.toIntExact(offsets.get(e.getKey()));
      byte[] expected = e.getValue().toByteArray();
      assertThat(java.util.Arrays.copyOfRange(whole, at, at + expected.length)).as(e.getKey()).isEqualTo(expected);
      assertThat(e.getValue().data().isDirect()).as("%s is mapped, not on the heap", e.getKey()).isTrue();
    }
  }

  @Test
  void storagesAreFoundThroughAZip64Directory() throws IOException {
    // more than 65,535 entries: the end record defers to the zip64 one for the count, size and offset
    byte[] pickle = new PickleBuilder().proto(2).orderedDict().mark()
        .str("w").tensor("FloatStorage", "0", 3, 0, new long[] {3}, new long[] {1})
        .setItems().stop().bytes();
    Path file = dir.resolve("many.bin");
    try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(file))) {
      zip.setMethod(ZipEntry.STORED);
      stored(zip, "archive/data.pkl", pickle);
      for (int i = 0; i < 65_600; i++) stored(zip, "archive/padding/" + i, new byte[0]);
      stored(zip, "archive/data/0", floats(7, 8, 9));
    }
    Map<String, Long> offsets = new java.util.HashMap<>();
    assertThat(TorchPickleReader.read(file, offsets).get("w").toFloatArray()).containsExactly(7, 8, 9);
    int at = Math.toIntExact(offsets.get("w"));
    assertThat(java.util.Arrays.copyOfRange(Files.readAllBytes(file), at, at + 12)).isEqualTo(floats(7, 8, 9));
  }

  private static void stored(java.util.zip.ZipOutputStream zip, String name, byte[] bytes) throws IOException {
    ZipEntry e = new ZipEntry(name);
    e.setSize(bytes.length);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(bytes);
    e.setCrc(crc.getValue());
    zip.putNextEntry(e);
    zip.write(bytes);
    zip.closeEntry();
  }

  @Test
  void compressedStoragesAreReadAndHaveNoFileOffset() throws IOException {
    byte[] pickle = new PickleBuilder().proto(2).orderedDict().mark()
        .str("w").tensor("FloatStorage", "0", 3, 0, new long[] {3}, new long[] {1})
        .setItems().stop().bytes();
    Path file = TorchArchives.write(dir.resolve("deflated.bin"), "archive", pickle, Map.of("0", floats(1, 2, 3)), null,
        ZipEntry.DEFLATED);
    Map<String, Long> offsets = new java.util.HashMap<>();
    assertThat(TorchPickleReader.read(file, offsets).get("w").toFloatArray()).containsExactly(1, 2, 3);
    assertThat(offsets).isEmpty();
  }

  @Test
  void handMadeStateDictWithOffsetsAndSharedStorage() throws IOException {
    // one storage of 6 floats; 'head' is elements 0..3 as [2, 2], 'tail' is elements 4..5 as [2]
    byte[] pickle = new PickleBuilder().proto(2).orderedDict().mark()
        .str("head").tensor("FloatStorage", "0", 6, 0, new long[] {2, 2}, new long[] {2, 1})
        .str("tail").tensor("FloatStorage", "0", 6, 4, new long[] {2}, new long[] {1})
        .setItems().stop().bytes();
    Path file = TorchArchives.write(dir.resolve("shared.bin"), pickle, Map.of("0", floats(1, 2, 3, 4, 5, 6)));

    Map<String, RawTensor> tensors = TorchPickleReader.read(file);

    assertThat(tensors.keySet()).containsExactly("head", "tail");
    assertThat(tensors.get("head").shape()).containsExactly(2, 2);
    assertThat(tensors.get("head").toFloatArray()).containsExactly(1, 2, 3, 4);
    assertThat(tensors.get("tail").toFloatArray()).containsExactly(5, 6);
  }

  @Test
  void stridedViewsAreCopiedIntoRowMajorOrder() throws IOException {
    // storage [[1, 2, 3], [4, 5, 6]]; 't' is its transpose: shape [3, 2], strides [1, 3]
    byte[] pickle = stateDict("t", "FloatStorage", 6, 0, new long[] {3, 2}, new long[] {1, 3});
    Path file = TorchArchives.write(dir.resolve("transposed.bin"), pickle, Map.of("0", floats(1, 2, 3, 4, 5, 6)));

    assertThat(TorchPickleReader.read(file).get("t").toFloatArray()).containsExactly(1, 4, 2, 5, 3, 6);
  }

  @Test
  void columnSlicesOfOneStorageHonourOffsetAndStride() throws IOException {
    // a fused [2, 3] weight saved as two column views: 'left' = [:, 0:2], 'right' = [:, 2]
    byte[] pickle = new PickleBuilder().proto(2).orderedDict().mark()
        .str("left").tensor("FloatStorage", "s", 6, 0, new long[] {2, 2}, new long[] {3, 1})
        .str("right").tensor("FloatStorage", "s", 6, 2, new long[] {2}, new long[] {3})
        .setItems().stop().bytes();
    Path file = TorchArchives.write(dir.resolve("split.bin"), pickle, Map.of("s", floats(1, 2, 3, 4, 5, 6)));

    Map<String, RawTensor> tensors = TorchPickleReader.read(file);

    assertThat(tensors.get("left").toFloatArray()).containsExactly(1, 2, 4, 5);
    assertThat(tensors.get("right").toFloatArray()).containsExactly(3, 6);
  }

  @Test
  void parametersAndStateDictMetadataAreAccepted() throws IOException {
    // torch.save(model.state_dict()) pickles the OrderedDict's _metadata attribute with BUILD;
    // saving nn.Parameter objects wraps tensors in _rebuild_parameter(tensor, requires_grad, hooks)
    PickleBuilder p = new PickleBuilder().proto(2).orderedDict().mark().str("w")
        .global("torch._utils", "_rebuild_parameter").mark()
        .tensor("HalfStorage", "0", 1, 0, new long[] {1}, new long[] {1}).op(0x88).orderedDict().tuple().reduce()
        .setItems();
    p.emptyDict().str("_metadata").orderedDict().str("").emptyDict().str("version").integer(1).setItem().setItem()
        .setItem().build().stop();
    Path file = TorchArchives.write(dir.resolve("param.bin"), p.bytes(), Map.of("0", new byte[] {0x00, 0x3C}));

    Map<String, RawTensor> tensors = TorchPickleReader.read(file);

    assertThat(tensors.get("w").dtype()).isEqualTo(DType.F16);
    assertThat(tensors.get("w").toFloatArray()).containsExactly(1f);
  }

  @Test
  void bigEndianArchivesAreConvertedToLittleEndian() throws IOException {
    byte[] pickle = new PickleBuilder().proto(2).orderedDict().mark()
        .str("n").tensor("LongStorage", "0", 1, 0, new long[0], new long[0])
        .setItems().stop().bytes();
    byte[] bigEndianSeven = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(0, 7).array();
    Path file = TorchArchives.write(dir.resolve("big.bin"), "archive", pickle, Map.of("0", bigEndianSeven), "big");

    assertThat(TorchPickleReader.read(file).get("n").toLongArray()).containsExactly(7L);
  }

  @Test
  void deflatedArchivesAreReadToo() throws IOException {
    // torch.save stores entries uncompressed; a re-zipped checkpoint may deflate them
    float[] values = new float[600_000];
    for (int i = 0; i < values.length; i++) {
      values[i] = i * 0.5f;
    }
    byte[] pickle = stateDict("w", "FloatStorage", values.length, 0, new long[] {values.length}, new long[] {1});
    Path file = TorchArchives.write(dir.resolve("deflated.bin"), "archive", pickle, Map.of("0", floats(values)),
        null, ZipEntry.DEFLATED);

    assertThat(TorchPickleReader.read(file).get("w").toFloatArray()).isEqualTo(values);
  }

  @Test
  void osSystemIsRefusedNotRun() throws IOException {
    Path marker = dir.resolve("pwned");
    byte[] pickle = new PickleBuilder().proto(2).global("os", "system")
        .mark().str("touch " + marker).tuple().reduce().stop().bytes();
    Path file = TorchArchives.write(dir.resolve("evil.bin"), pickle, Map.of());

    assertRefused(file).hasMessageContaining("global 'os.system', which is not allowed");
    assertThat(marker).doesNotExist();
  }

  @Test
  void builtinsEvalThroughStackGlobalIsRefused() throws IOException {
    // protocol 4 spells globals as two strings followed by STACK_GLOBAL (0x93)
    byte[] pickle = new PickleBuilder().proto(4).str("builtins").str("eval").op(0x93)
        .mark().str("1+1").tuple().reduce().stop().bytes();
    Path file = TorchArchives.write(dir.resolve("eval.bin"), pickle, Map.of());

    assertRefused(file).hasMessageContaining("global 'builtins.eval'");
  }

  @Test
  void otherTorchFunctionsAreRefused() throws IOException {
    byte[] pickle = new PickleBuilder().proto(2).global("torch", "load").stop().bytes();
    Path file = TorchArchives.write(dir.resolve("load.bin"), pickle, Map.of());

    assertRefused(file).hasMessageContaining("global 'torch.load'");
  }

  @Test
  void unsupportedOpcodesAreRefused() throws IOException {
    // 'i' (INST) builds an object of any class by name
    byte[] pickle = new PickleBuilder().proto(2).mark().op('i').stop().bytes();
    Path file = TorchArchives.write(dir.resolve("inst.bin"), pickle, Map.of());

    assertRefused(file).hasMessageContaining("archive/data.pkl byte 3: opcode 0x69 is not supported");
  }

  @Test
  void truncatedPickleIsRefused() throws IOException {
    byte[] pickle = new PickleBuilder().proto(2).orderedDict().mark().str("x").bytes();
    Path file = TorchArchives.write(dir.resolve("cut.bin"), pickle, Map.of());

    assertRefused(file).hasMessageContaining("truncated");
  }

  @Test
  void stringLongerThanThePickleIsRefusedBeforeAllocating() throws IOException {
    // BINUNICODE claiming 2 GB
    byte[] pickle = new PickleBuilder().proto(2).op('X', 0xff, 0xff, 0xff, 0x7f).stop().bytes();
    Path file = TorchArchives.write(dir.resolve("long-string.bin"), pickle, Map.of());

    assertRefused(file).hasMessageContaining("2147483647-byte field runs past the end of the pickle");
  }

  @Test
  void stackIsCapped() throws IOException {
    PickleBuilder p = new PickleBuilder().proto(2);
    for (int i = 0; i <= SafeUnpickler.MAX_STACK; i++) {
      p.op('N');
    }
    Path file = TorchArchives.write(dir.resolve("deep.bin"), p.stop().bytes(), Map.of());

    assertRefused(file).hasMessageContaining("pickle stack grew past");
  }

  @Test
  void memoReadBeforeWriteIsRefused() throws IOException {
    byte[] pickle = new PickleBuilder().proto(2).op('h', 5).stop().bytes();
    Path file = TorchArchives.write(dir.resolve("memo.bin"), pickle, Map.of());

    assertRefused(file).hasMessageContaining("memo entry 5 is read before it is written");
  }

  @Test
  void storageSizeMustMatchItsEntry() throws IOException {
    byte[] pickle = stateDict("x", "FloatStorage", 4, 0, new long[] {4}, new long[] {1});
    Path file = TorchArchives.write(dir.resolve("short.bin"), pickle, Map.of("0", new byte[12]));

    assertRefused(file).hasMessageContaining("storage '0' declares 4 F32 elements (16 bytes) but archive/data/0 holds 12 bytes");
  }

  @Test
  void missingStorageIsRefused() throws IOException {
    byte[] pickle = stateDict("x", "FloatStorage", 1, 0, new long[] {1}, new long[] {1});
    Path file = TorchArchives.write(dir.resolve("missing.bin"), pickle, Map.of());

    assertRefused(file).hasMessageContaining("storage '0' is missing: no entry archive/data/0");
  }

  @Test
  void tensorReachingPastItsStorageIsRefused() throws IOException {
    byte[] pickle = stateDict("x", "FloatStorage", 4, 2, new long[] {4}, new long[] {1});
    Path file = TorchArchives.write(dir.resolve("past.bin"), pickle, Map.of("0", new byte[16]));

    assertRefused(file).hasMessageContaining("reaches element 5 but the storage has 4");
  }

  @Test
  void broadcastViewCannotInflateMemory() throws IOException {
    // a single float viewed as 100 million elements with stride 0 would need 400 MB
    byte[] pickle = stateDict("x", "FloatStorage", 1, 0, new long[] {100_000_000}, new long[] {0});
    Path file = TorchArchives.write(dir.resolve("broadcast.bin"), pickle, Map.of("0", new byte[4]));

    assertRefused(file).hasMessageContaining("broadcast views are not supported");
  }

  @Test
  void topLevelMustBeADictOfTensors() throws IOException {
    Path list = TorchArchives.write(dir.resolve("list.bin"),
        new PickleBuilder().proto(2).emptyList().stop().bytes(), Map.of());
    Path notTensor = TorchArchives.write(dir.resolve("epoch.bin"),
        new PickleBuilder().proto(2).emptyDict().str("epoch").integer(3).setItem().stop().bytes(), Map.of());

    assertRefused(list).hasMessageContaining("top-level object is a list, expected a state dict");
    assertRefused(notTensor).hasMessageContaining("state dict entry 'epoch' holds a int, not a tensor");
  }

  @Test
  void nonZipFilesAreRefusedWithTheReason() throws IOException {
    Path config = FIXTURES.resolve("config.json");
    Path legacy = Files.write(dir.resolve("legacy.bin"), new byte[] {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a});

    assertRefused(config).hasMessageContaining("not a torch.save zip archive");
    assertRefused(legacy).hasMessageContaining("legacy torch.save format");
  }

  private static byte[] stateDict(String name, String storageClass, long storageNumel, long offset, long[] size,
      long[] stride) {
    return new PickleBuilder().proto(2).orderedDict().mark()
        .str(name).tensor(storageClass, "0", storageNumel, offset, size, stride)
        .setItems().stop().bytes();
  }

  private static byte[] floats(float... values) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return b.array();
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertRefused(Path file) {
    return assertThatThrownBy(() -> TorchPickleReader.read(file))
        .isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(file + ": ");
  }
}
