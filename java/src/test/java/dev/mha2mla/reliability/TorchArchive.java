package dev.mha2mla.reliability;

import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.TorchArchives;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * torch.save's layout, built in memory: a zip (entries STORED, as torch.save writes them) of
 * {@code <prefix>/data.pkl}, {@code <prefix>/data/<key>} per storage and {@code <prefix>/version}.
 */
final class TorchArchive {
  static final String PREFIX = "pytorch_model";

  private static Map<String, byte[]> fixtureStorages;

  private TorchArchive() {}

  static byte[] of(byte[] pickle, Map<String, byte[]> storages) {
    return TorchArchives.bytes(PREFIX, pickle, storages, null, ZipEntry.STORED);
  }

  /**
   * Writes a zip bomb in torch.save's layout to {@code file}: {@code pickle} as a stored data.pkl, then storages
   * {@code "0"} .. {@code storages - 1}, each {@code bytesPerStorage} zero bytes DEFLATE-compressed (about 1000:1).
   * The zeros are deflated once, streaming from a 1 MiB buffer, and the compressed stream is written for each
   * entry, so no step holds more than a few MiB. The zip is written by hand (local headers, central directory,
   * end record) because ZipOutputStream would deflate every entry's zeros again; sizes stay under 4 GiB per entry,
   * so no zip64 records are needed.
   */
  static void writeDeflateBomb(Path file, byte[] pickle, int storages, long bytesPerStorage) throws IOException {
    if (bytesPerStorage >= 1L << 32) throw new IllegalArgumentException("entries of 4 GiB or more need zip64");
    byte[] zeros = new byte[1 << 20];
    Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true); // raw DEFLATE: zip method 8
    ByteArrayOutputStream compressed = new ByteArrayOutputStream();
    CRC32 zerosCrc = new CRC32();
    byte[] chunk = new byte[1 << 16];
    for (long left = bytesPerStorage; left > 0; left -= zeros.length) {
      int n = (int) Math.min(left, zeros.length);
      zerosCrc.update(zeros, 0, n);
      deflater.setInput(zeros, 0, n);
      while (!deflater.needsInput()) compressed.write(chunk, 0, deflater.deflate(chunk));
    }
    deflater.finish();
    while (!deflater.finished()) compressed.write(chunk, 0, deflater.deflate(chunk));
    deflater.end();
    byte[] bomb = compressed.toByteArray();

    CRC32 pickleCrc = new CRC32();
    pickleCrc.update(pickle);
    List<byte[]> central = new ArrayList<>();
    long offset = 0;
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file))) {
      offset += zipEntry(out, central, offset, PREFIX + "/data.pkl", 0, pickleCrc.getValue(), pickle, pickle.length);
      for (int k = 0; k < storages; k++) {
        offset += zipEntry(out, central, offset, PREFIX + "/data/" + k, 8, zerosCrc.getValue(), bomb, bytesPerStorage);
      }
      long centralStart = offset;
      for (byte[] record : central) {
        out.write(record);
        offset += record.length;
      }
      // end of central directory: signature, disk numbers, entry counts, directory size and offset, comment length
      out.write(le(22).putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) central.size())
          .putShort((short) central.size()).putInt((int) (offset - centralStart)).putInt((int) centralStart)
          .putShort((short) 0).array());
    }
  }

  // One local header and its data; adds the matching central directory record. Returns the bytes written.
  private static long zipEntry(OutputStream out, List<byte[]> central, long offset, String name, int method, long crc,
      byte[] data, long size) throws IOException {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    // local file header: signature, version 2.0, flags, method, time, date, crc, sizes, name and extra lengths
    out.write(le(30 + n.length).putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) method)
        .putShort((short) 0).putShort((short) 0x21).putInt((int) crc).putInt(data.length).putInt((int) size)
        .putShort((short) n.length).putShort((short) 0).put(n).array());
    out.write(data);
    // central directory record: as above plus comment length, disk, attributes and the local header's offset
    central.add(le(46 + n.length).putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0)
        .putShort((short) method).putShort((short) 0).putShort((short) 0x21).putInt((int) crc).putInt(data.length)
        .putInt((int) size).putShort((short) n.length).putShort((short) 0).putShort((short) 0).putShort((short) 0)
        .putShort((short) 0).putInt(0).putInt((int) offset).put(n).array());
    return 30L + n.length + data.length;
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The fixture's storages (key -> bytes), copied so a test may alter them. */
  static Map<String, byte[]> fixtureStorageCopies() {
    Map<String, byte[]> copies = new LinkedHashMap<>();
    fixtureStorages().forEach((key, bytes) -> copies.put(key, bytes.clone()));
    return copies;
  }

  /** An archive whose storages are those of the fixture's pytorch_model.bin, so a valid pickle loads. */
  static byte[] withFixtureStorages(byte[] pickle) {
    return of(pickle, fixtureStorages());
  }

  /** The fixture's data.pkl. */
  static byte[] fixturePickle() {
    return fixtureEntries().get(PREFIX + "/data.pkl");
  }

  private static synchronized Map<String, byte[]> fixtureStorages() {
    if (fixtureStorages == null) {
      Map<String, byte[]> storages = new LinkedHashMap<>();
      fixtureEntries().forEach((name, bytes) -> {
        if (name.startsWith(PREFIX + "/data/")) storages.put(name.substring((PREFIX + "/data/").length()), bytes);
      });
      fixtureStorages = storages;
    }
    return fixtureStorages;
  }

  private static Map<String, byte[]> fixtureEntries() {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    try (ZipFile zip = new ZipFile(Fixtures.conformerTiny().resolve("pytorch_model.bin").toFile())) {
      for (ZipEntry e : java.util.Collections.list(zip.entries())) {
        entries.put(e.getName(), zip.getInputStream(e).readAllBytes());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return entries;
  }
}
