package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mha2mla.data.FlacReader;
import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.SafeTensorsReader;
import dev.mha2mla.io.TorchPickleReader;
import dev.mha2mla.io.WavReader;
import dev.mha2mla.model.ConformerConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small files whose headers declare enormous sizes. Each reader must refuse them having allocated about
 * what the file holds, not what it claims: otherwise one hostile download (or one damaged file in a corpus
 * read by eight threads) takes the JVM down with OutOfMemoryError.
 *
 * <p>Allocation is measured with HotSpot's per-thread counter of bytes allocated on the heap, which counts
 * every array a reader creates even if it is garbage a moment later; {@code Runtime.totalMemory} would only
 * show what the collector chose to keep. Memory-mapped and native memory is not heap: the safetensors reader
 * maps only byte ranges it has checked against the file's size.
 */
class HostileHeaderTest {
  /** More than any of these readers needs for a file of a few kilobytes, far less than any declared size. */
  private static final long BUDGET = 8L << 20;

  @TempDir Path dir;

  @BeforeAll
  static void allocationCounterWorksAndReadersAreLoaded() throws IOException {
    assumeTrue(threadMx() != null, "needs HotSpot's per-thread allocation counter");
    // class loading and static set-up (Jackson, zip, jflac) allocate too; get them out of the way
    FuzzTargets.safetensors(Seeds.safetensors().values().iterator().next());
    FuzzTargets.torchArchive(Seeds.smallTorchArchive());
    FuzzTargets.wav(Seeds.wavs().values().iterator().next());
    FuzzTargets.flac(Seeds.flacs().values().iterator().next());
    FuzzTargets.configFile(Seeds.configs().values().iterator().next());
  }

  @Test
  void safetensorsHeaderLengthOfExabytesIsRefusedUnread() throws IOException {
    Path file = dir.resolve("huge-header.safetensors");
    Files.write(file, ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE).array());

    assertRefusedWithin(() -> SafeTensorsReader.open(file), "exceeds the 100000000-byte limit");
  }

  @Test
  void safetensorsHeaderLengthPastTheEndOfTheFileIsRefusedUnread() throws IOException {
    // just under the 100 MB header limit, in a 64-byte file: reading it would allocate 100 MB for nothing
    Path file = dir.resolve("long-header.safetensors");
    Files.write(file, ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(99_999_999).array());

    assertRefusedWithin(() -> SafeTensorsReader.open(file), "runs past the end");
  }

  @Test
  void safetensorsTensorOfExabytesIsRefusedBeforeMapping() throws IOException {
    Path file = safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
        + "\"data_offsets\":[0,9223372036854775807]}}", 16);

    assertRefusedWithin(() -> SafeTensorsReader.open(file), "tensor 'w'");
  }

  @Test
  void safetensorsOffsetsBeyondTheFileAreRefusedBeforeMapping() throws IOException {
    // shape and offsets agree (2^28 floats = 1 GiB), the file holds 16 bytes
    Path file = safetensors("{\"w\":{\"dtype\":\"F32\",\"shape\":[268435456],\"data_offsets\":[0,1073741824]}}", 16);

    assertRefusedWithin(() -> SafeTensorsReader.open(file), "run past the end of the 16-byte data section");
  }

  @Test
  void pickleStorageOfATerabyteIsRefusedBeforeReading() throws IOException {
    byte[] pickle = Pickle.stateDict("w", p -> p.tensor("FloatStorage", "0", 1L << 38, 0, new long[] {1L << 38},
        new long[] {1}));
    Path file = Files.write(dir.resolve("tb.bin"), TorchArchive.of(pickle, java.util.Map.of("0", new byte[16])));

    assertRefusedWithin(() -> TorchPickleReader.read(file), "storage '0': shape [274877906944] F32 needs more than 2 GiB");
  }

  @Test
  void compressedStorageWhoseZipEntryLiesAboutItsSizeIsReadOnlyAsFarAsItReallyGoes() throws IOException {
    // The central directory says 1 MiB and so does the pickle; the deflated entry really holds 16 bytes. (1 MiB is
    // within the inflation slack; a claim past the inflation limit is refused unread, see HostileModelFolderTest.)
    long claimed = 1L << 20;
    byte[] pickle = Pickle.stateDict("w", p -> p.tensor("FloatStorage", "0", claimed / 4, 0,
        new long[] {claimed / 4}, new long[] {1}));
    byte[] zip = deflatedArchive(pickle, new byte[16]);
    patchCentralDirectorySize(zip, TorchArchive.PREFIX + "/data/0", claimed);
    Path file = Files.write(dir.resolve("liar.bin"), zip);

    assertRefusedWithin(() -> TorchPickleReader.read(file), "holds 16 bytes, expected 1048576");
  }

  @Test
  void pickleTensorAtANegativeOffsetIsRefusedNotWrappedAround() throws IOException {
    // Found by Jazzer: offset * 4 was cast to an int, so -1925316608 threw IndexOutOfBoundsException and
    // -2^30 wrapped to 0 and silently read the storage's first bytes.
    for (long offset : new long[] {-1925316608L, -(1L << 30)}) {
      Path file = Files.write(dir.resolve("negative.bin"), Seeds.torchArchiveAtOffset(offset));

      assertRefusedWithin(() -> TorchPickleReader.read(file), "negative storage offset " + offset);
    }
  }

  @Test
  void pickleStringOfExabytesIsRefusedBeforeAllocating() throws IOException {
    // BINUNICODE8 (0x8d) with a 2^60-byte length
    byte[] pickle = new Pickle().proto(4).op(0x8d).op(0, 0, 0, 0, 0, 0, 0, 0x10).stop().bytes();
    Path file = Files.write(dir.resolve("string.bin"), TorchArchive.of(pickle, java.util.Map.of()));

    assertRefusedWithin(() -> TorchPickleReader.read(file), "runs past the end of the pickle");
  }

  @Test
  void wavDataChunkOfFourGigabytesIsRefused() throws IOException {
    byte[] wav = Seeds.wav(1, 1, 16000, 16, 2, new byte[0], new byte[8]);
    ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN).putInt(wav.length - 12, 0xFFFFFFF0);
    Path file = Files.write(dir.resolve("huge-data.wav"), wav);

    assertRefusedWithin(() -> WavReader.read(file), "declares 4294967280 bytes but only 8 remain");
  }

  @Test
  void flacDeclaringTheLargestSampleCountIsRefusedWithoutPresizingForIt() throws IOException {
    // STREAMINFO's 36-bit total-samples field set to 2^36-1 (about 40 days at 16 kHz) on an 8 KB file
    byte[] flac = Seeds.resource("tone.flac");
    // 'fLaC', a 4-byte block header, then STREAMINFO: total samples are the low 36 bits of bytes 13..17 (from 8)
    flac[8 + 13] |= 0x0F;
    for (int i = 8 + 14; i < 8 + 18; i++) flac[i] = (byte) 0xFF;
    Path file = Files.write(dir.resolve("forever.flac"), flac);

    // refused from the header as longer than one call transcribes, before any frame is decoded
    assertRefusedWithin(() -> FlacReader.read(file), dev.mha2mla.io.AudioTooLongException.class,
        "(68719476735 samples at 16000 Hz) is longer than the");
  }

  @Test
  void jsonNestedAHundredThousandDeepIsRefusedWithoutStackOverflow() throws IOException {
    String deep = "{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
    Path config = Files.writeString(dir.resolve("config.json"), deep);
    Path header = safetensors(deep, 0);

    assertRefusedWithin(() -> ConformerConfig.read(config), "not valid JSON");
    assertRefusedWithin(() -> SafeTensorsReader.open(header), "header is not valid JSON");
  }

  @Test
  void flacCommentBlockClaimingTwoBillionCommentsIsSkippedNotBelieved() throws IOException {
    // A VORBIS_COMMENT block (type 4) of 8 bytes: vendor string length 0, then 2^31-1 comments. Decoding needs
    // no comments, so the file is read as the valid audio it otherwise is.
    byte[] comment = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(Integer.MAX_VALUE).array();
    byte[] tone = Seeds.resource("tone.flac");
    Path original = Files.write(dir.resolve("tone.flac"), tone);
    Path file = Files.write(dir.resolve("comments.flac"), flacWithLastBlock(tone, 4, comment));

    long before = threadMx().getCurrentThreadAllocatedBytes();
    assertThat(FlacReader.read(file)).isEqualTo(FlacReader.read(original));
    assertThat(FlacReader.header(file)).isEqualTo(FlacReader.header(original));
    assertThat(threadMx().getCurrentThreadAllocatedBytes() - before).isLessThan(BUDGET);
  }

  private interface Read {
    Object run() throws IOException;
  }

  private static void assertRefusedWithin(Read read, String reason) {
    assertRefusedWithin(read, MalformedFileException.class, reason);
  }

  private static void assertRefusedWithin(Read read, Class<? extends IOException> refusal, String reason) {
    long before = threadMx().getCurrentThreadAllocatedBytes();
    assertThatThrownBy(read::run).isInstanceOf(refusal).hasMessageContaining(reason);
    long allocated = threadMx().getCurrentThreadAllocatedBytes() - before;
    System.out.printf("refused (%s) having allocated %d KB%n", reason, allocated >> 10);
    assertThat(allocated).as("heap bytes allocated while refusing the file").isLessThan(BUDGET);
  }

  private static com.sun.management.ThreadMXBean threadMx() {
    if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean mx
        && mx.isThreadAllocatedMemorySupported()) {
      mx.setThreadAllocatedMemoryEnabled(true);
      return mx;
    }
    return null;
  }

  /** The FLAC file with its metadata reduced to STREAMINFO plus one block of the given type and payload. */
  private static byte[] flacWithLastBlock(byte[] flac, int type, byte[] payload) {
    int at = 4;
    boolean last = false;
    while (!last) {
      last = (flac[at] & 0x80) != 0;
      at += 4 + ((flac[at + 1] & 0xFF) << 16 | (flac[at + 2] & 0xFF) << 8 | (flac[at + 3] & 0xFF));
    }
    int streamInfoEnd = 4 + 4 + 34;
    ByteBuffer b = ByteBuffer.allocate(streamInfoEnd + 4 + payload.length + flac.length - at);
    b.put(flac, 0, streamInfoEnd).put(4, (byte) 0); // STREAMINFO (type 0), no longer the last block
    b.put((byte) (0x80 | type)).put((byte) (payload.length >> 16)).put((byte) (payload.length >> 8))
        .put((byte) payload.length).put(payload);
    b.put(flac, at, flac.length - at);
    return b.array();
  }

  private Path safetensors(String header, int dataBytes) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    return Files.write(dir.resolve("hostile.safetensors"), ByteBuffer.allocate(8 + h.length + dataBytes)
        .order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array());
  }

  private static byte[] deflatedArchive(byte[] pickle, byte[] storage) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(out)) {
      zip.putNextEntry(new ZipEntry(TorchArchive.PREFIX + "/data.pkl"));
      zip.write(pickle);
      zip.putNextEntry(new ZipEntry(TorchArchive.PREFIX + "/data/0"));
      zip.write(storage);
      zip.closeEntry();
    }
    return out.toByteArray();
  }

  // A central directory header is "PK\1\2", ..., the uncompressed size at offset 24, the name at offset 46.
  private static void patchCentralDirectorySize(byte[] zip, String entry, long size) {
    byte[] name = entry.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
    for (int at = 0; at + 46 + name.length <= zip.length; at++) {
      if (b.getInt(at) == 0x02014b50
          && java.util.Arrays.equals(zip, at + 46, at + 46 + name.length, name, 0, name.length)) {
        b.putInt(at + 24, (int) size);
        return;
      }
    }
    throw new IllegalStateException("no central directory entry " + entry);
  }
}
