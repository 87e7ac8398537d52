package dev.mha2mla.train;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * TFRecord framing, the container of TensorBoard event files. Each record is
 *
 * <pre>
 *   uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 *   masked_crc(x) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8     (32-bit arithmetic)
 * </pre>
 */
public final class TfRecords {
  private static final int MASK_DELTA = 0xa282ead8;

  private TfRecords() {}

  public static void write(OutputStream out, byte[] data) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
    header.putLong(0, data.length);
    header.putInt(8, maskedCrc(header.array(), 0, 8));
    out.write(header.array());
    out.write(data);
    out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, maskedCrc(data, 0, data.length)).array());
  }

  /** Every record of a stream, checking both CRCs of each. A stream cut inside a record is an error. */
  public static List<byte[]> readAll(InputStream in) throws IOException {
    List<byte[]> out = new ArrayList<>();
    while (true) {
      byte[] header = in.readNBytes(12);
      if (header.length == 0) return out;
      if (header.length < 12) throw new EOFException("TFRecord stream ends inside a record header");
      ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
      long length = h.getLong(0);
      if (h.getInt(8) != maskedCrc(header, 0, 8)) throw new IOException("TFRecord length CRC mismatch at record " + out.size());
      if (length < 0 || length > Integer.MAX_VALUE) throw new IOException("TFRecord length " + length + " out of range");
      byte[] data = in.readNBytes((int) length);
      byte[] crc = in.readNBytes(4);
      if (data.length < length || crc.length < 4) throw new EOFException("TFRecord stream ends inside record " + out.size());
      if (ByteBuffer.wrap(crc).order(ByteOrder.LITTLE_ENDIAN).getInt() != maskedCrc(data, 0, data.length)) {
        throw new IOException("TFRecord data CRC mismatch at record " + out.size());
      }
      out.add(data);
    }
  }

  static int maskedCrc(byte[] data, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(data, offset, length);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + MASK_DELTA;
  }

  /** Hand-written protobuf encoding of the few messages an event file needs (wire types 0, 1, 2 and 5). */
  static final class Proto {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    Proto varint(int field, long value) {
      key(field, 0);
      rawVarint(value);
      return this;
    }

    Proto fixed64(int field, double value) {
      key(field, 1);
      long bits = Double.doubleToLongBits(value);
      for (int i = 0; i < 8; i++) buf.write((int) (bits >>> (8 * i)));
      return this;
    }

    Proto fixed32(int field, float value) {
      key(field, 5);
      int bits = Float.floatToIntBits(value);
      for (int i = 0; i < 4; i++) buf.write(bits >>> (8 * i));
      return this;
    }

    Proto bytes(int field, byte[] value) {
      key(field, 2);
      rawVarint(value.length);
      buf.writeBytes(value);
      return this;
    }

    Proto string(int field, String value) {
      return bytes(field, value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    Proto message(int field, Proto value) {
      return bytes(field, value.toByteArray());
    }

    byte[] toByteArray() {
      return buf.toByteArray();
    }

    private void key(int field, int wireType) {
      rawVarint(((long) field << 3) | wireType);
    }

    private void rawVarint(long v) {
      while ((v & ~0x7fL) != 0) {
        buf.write((int) ((v & 0x7f) | 0x80));
        v >>>= 7;
      }
      buf.write((int) v);
    }
  }
}
