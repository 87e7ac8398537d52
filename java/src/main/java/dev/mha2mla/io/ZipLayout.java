package dev.mha2mla.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Where each entry's bytes start in a zip file, which {@link java.util.zip.ZipFile} does not say: the central
 * directory gives each entry's local header offset (from the zip64 extra field where it is 0xFFFFFFFF), the local
 * header the lengths of the name and extra field that precede the data. Used to map or read stored entries in
 * place instead of through the Java heap.
 */
final class ZipLayout {
  /** A torch.save state dict has a few entries per tensor; a directory larger than this is not one. */
  static final long MAX_DIRECTORY_BYTES = 64L << 20;

  private static final int END = 0x06054b50;
  private static final int END64_LOCATOR = 0x07064b50;
  private static final int END64 = 0x06064b50;
  private static final int CENTRAL = 0x02014b50;
  private static final int LOCAL = 0x04034b50;

  private final Path path;
  private final FileChannel channel;
  private final long fileSize;
  private final Map<String, Long> localHeaders = new HashMap<>();

  ZipLayout(Path path, FileChannel channel) throws IOException {
    this.path = path;
    this.channel = channel;
    this.fileSize = channel.size();
    readDirectory();
  }

  /** Offset of the first byte of entry {@code name}'s data. */
  long dataOffset(String name) throws IOException {
    Long header = localHeaders.get(name);
    if (header == null) throw new MalformedFileException(path, "zip directory has no entry " + name);
    ByteBuffer local = read(header, 30);
    if (local.getInt(0) != LOCAL) throw new MalformedFileException(path, name + ": no local header at " + header);
    long data = header + 30 + (local.getShort(26) & 0xffff) + (local.getShort(28) & 0xffff);
    if (data > fileSize) throw new MalformedFileException(path, name + ": data would start past the end of the file");
    return data;
  }

  private void readDirectory() throws IOException {
    // the end record (22 bytes plus a comment of up to 65535) closes the file
    int tail = (int) Math.min(fileSize, 22 + 65535);
    ByteBuffer end = read(fileSize - tail, tail);
    int at = -1;
    for (int i = tail - 22; i >= 0; i--) {
      if (end.getInt(i) == END) {
        at = i;
        break;
      }
    }
    if (at < 0) throw new MalformedFileException(path, "no zip end-of-directory record");
    long entries = end.getShort(at + 10) & 0xffff;
    long size = end.getInt(at + 12) & 0xffffffffL;
    long start = end.getInt(at + 16) & 0xffffffffL;
    if ((entries == 0xffff || size == 0xffffffffL || start == 0xffffffffL) && at >= 20
        && end.getInt(at - 20) == END64_LOCATOR) {
      ByteBuffer end64 = read(end.getLong(at - 20 + 8), 56);
      if (end64.getInt(0) != END64) throw new MalformedFileException(path, "damaged zip64 end-of-directory record");
      entries = end64.getLong(32);
      size = end64.getLong(40);
      start = end64.getLong(48);
    }
    if (size < 0 || size > MAX_DIRECTORY_BYTES || start < 0 || start + size > fileSize) {
      throw new MalformedFileException(path, "zip directory of " + size + " bytes at " + start + " does not fit");
    }
    ByteBuffer dir = read(start, (int) size);
    int p = 0;
    for (long e = 0; e < entries; e++) {
      if (p + 46 > size || dir.getInt(p) != CENTRAL) {
        throw new MalformedFileException(path, "damaged zip directory at entry " + e);
      }
      int nameLength = dir.getShort(p + 28) & 0xffff;
      int extraLength = dir.getShort(p + 30) & 0xffff;
      int commentLength = dir.getShort(p + 32) & 0xffff;
      if (p + 46L + nameLength + extraLength + commentLength > size) {
        throw new MalformedFileException(path, "damaged zip directory at entry " + e);
      }
      byte[] name = new byte[nameLength];
      dir.get(p + 46, name);
      long header = dir.getInt(p + 42) & 0xffffffffL;
      if (header == 0xffffffffL) {
        header = zip64Offset(dir, p + 46 + nameLength, extraLength, dir.getInt(p + 24) == -1, dir.getInt(p + 20) == -1);
      }
      localHeaders.put(new String(name, StandardCharsets.UTF_8), header);
      p += 46 + nameLength + extraLength + commentLength;
    }
  }

  /** The zip64 extra field (id 1) holds the sizes that overflowed, in this order, then the header offset. */
  private long zip64Offset(ByteBuffer dir, int extra, int length, boolean sizeIn64, boolean compressedIn64)
      throws MalformedFileException {
    for (int q = extra; q + 4 <= extra + length; ) {
      int id = dir.getShort(q) & 0xffff;
      int n = dir.getShort(q + 2) & 0xffff;
      if (id == 1) {
        int skip = (sizeIn64 ? 8 : 0) + (compressedIn64 ? 8 : 0);
        if (skip + 8 > n) break;
        return dir.getLong(q + 4 + skip);
      }
      q += 4 + n;
    }
    throw new MalformedFileException(path, "zip64 entry without its local header offset");
  }

  private ByteBuffer read(long position, int length) throws IOException {
    if (position < 0 || position + length > fileSize) {
      throw new MalformedFileException(path, "zip structure points outside the file");
    }
    ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    while (b.hasRemaining()) {
      if (channel.read(b, position + b.position()) < 0) throw new MalformedFileException(path, "truncated zip file");
    }
    return b.flip();
  }
}
