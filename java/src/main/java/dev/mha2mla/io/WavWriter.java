package dev.mha2mla.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Writes 16-bit PCM mono WAV files (the canonical 44-byte header, then the samples), atomically.
 * A sample x is stored as round(x * 32768) clamped to [-32768, 32767], so audio read by
 * {@link WavReader} is written back bit for bit.
 */
public final class WavWriter {
  private static final int HEADER_BYTES = 44;

  private WavWriter() {
  }

  public static void write(Path path, int sampleRate, float[] samples) throws IOException {
    if (sampleRate <= 0 || sampleRate > Integer.MAX_VALUE / 2) {
      throw new IllegalArgumentException("sample rate must be positive and fit the header, got " + sampleRate);
    }
    long dataBytes = 2L * samples.length;
    if (HEADER_BYTES - 8 + dataBytes > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException(samples.length + " samples do not fit a WAV file's 4 GiB limit");
    }
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    header.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt((int) (HEADER_BYTES - 8 + dataBytes));
    header.put("WAVE".getBytes(StandardCharsets.US_ASCII));
    header.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16);
    header.putShort((short) 1)   // PCM
        .putShort((short) 1)     // mono
        .putInt(sampleRate)
        .putInt(sampleRate * 2)  // byte rate
        .putShort((short) 2)     // block align
        .putShort((short) 16);   // bits per sample
    header.put("data".getBytes(StandardCharsets.US_ASCII)).putInt((int) dataBytes);
    AtomicFiles.write(path, out -> {
      out.write(header.array());
      ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      for (float x : samples) {
        if (!chunk.hasRemaining()) {
          out.write(chunk.array(), 0, chunk.position());
          chunk.clear();
        }
        chunk.putShort(toPcm16(x));
      }
      out.write(chunk.array(), 0, chunk.position());
    });
  }

  static short toPcm16(float x) {
    return (short) Math.max(-32768, Math.min(32767, Math.round(x * 32768f)));
  }
}
