package dev.mha2mla.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Builds torch.save-style zip archives around a hand-made pickle, for tests. */
public final class TorchArchives {
  private TorchArchives() {
  }

  /** Writes {@code <prefix>/data.pkl}, {@code <prefix>/data/<key>} for each storage, and {@code <prefix>/version}. */
  static Path write(Path file, byte[] pickle, Map<String, byte[]> storages) throws IOException {
    return write(file, "archive", pickle, storages, null);
  }

  /** As {@link #write(Path, byte[], Map)}, plus {@code <prefix>/byteorder} when {@code byteOrder} is not null. */
  static Path write(Path file, String prefix, byte[] pickle, Map<String, byte[]> storages, String byteOrder)
      throws IOException {
    return write(file, prefix, pickle, storages, byteOrder, ZipEntry.STORED);
  }

  /** As above, with entries compressed by {@code method} (ZipEntry.STORED as torch.save does, or DEFLATED). */
  static Path write(Path file, String prefix, byte[] pickle, Map<String, byte[]> storages, String byteOrder,
      int method) throws IOException {
    return Files.write(file, bytes(prefix, pickle, storages, byteOrder, method));
  }

  /** The archive's bytes: {@code <prefix>/data.pkl}, the storages, {@code <prefix>/byteorder} if given, the version. */
  public static byte[] bytes(String prefix, byte[] pickle, Map<String, byte[]> storages, String byteOrder, int method) {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put(prefix + "/data.pkl", pickle);
    if (byteOrder != null) {
      entries.put(prefix + "/byteorder", byteOrder.getBytes(StandardCharsets.US_ASCII));
    }
    storages.forEach((key, bytes) -> entries.put(prefix + "/data/" + key, bytes));
    entries.put(prefix + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(out)) {
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        ZipEntry entry = new ZipEntry(e.getKey());
        entry.setMethod(method);
        if (method == ZipEntry.STORED) {
          entry.setSize(e.getValue().length);
          CRC32 crc = new CRC32();
          crc.update(e.getValue());
          entry.setCrc(crc.getValue());
        }
        zip.putNextEntry(entry);
        zip.write(e.getValue());
        zip.closeEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
