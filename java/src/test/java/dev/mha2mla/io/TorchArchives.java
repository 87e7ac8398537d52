package dev.mha2mla.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Builds torch.save-style zip archives around a hand-made pickle, for tests. */
final class TorchArchives {
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
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put(prefix + "/data.pkl", pickle);
    if (byteOrder != null) {
      entries.put(prefix + "/byteorder", byteOrder.getBytes(StandardCharsets.US_ASCII));
    }
    storages.forEach((key, bytes) -> entries.put(prefix + "/data/" + key, bytes));
    entries.put(prefix + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    try (OutputStream file0 = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(file0)) {
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
    }
    return file;
  }
}
