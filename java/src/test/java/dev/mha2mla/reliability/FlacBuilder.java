package dev.mha2mla.reliability;

import java.io.ByteArrayOutputStream;

/**
 * Writes FLAC streams byte by byte from the format specification (xiph.org/flac/format.html), independently of
 * the decoder under test: "fLaC", a STREAMINFO block, then frames of 16-bit mono audio at 16 kHz whose one
 * subframe is CONSTANT (a block of one repeated value: 2 bytes of payload for any block size) or VERBATIM.
 * Headers carry CRC-8 (polynomial x^8+x^2+x+1), frames CRC-16 (x^16+x^15+x^2+1), both initialised to 0.
 */
public final class FlacBuilder {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private long frameNumber;

  /**
   * @param totalSamples what STREAMINFO declares (36 bits; 0 = unknown)
   * @param blockSize min and max block size declared (16..65535)
   */
  public FlacBuilder(long totalSamples, int blockSize) {
    out.writeBytes(new byte[] {'f', 'L', 'a', 'C'});
    out.write(0x80); // last metadata block, type 0 = STREAMINFO
    out.writeBytes(new byte[] {0, 0, 34});
    BitWriter b = new BitWriter();
    b.bits(blockSize, 16).bits(blockSize, 16).bits(0, 24).bits(0, 24);
    b.bits(16_000, 20).bits(0, 3).bits(15, 5).bits(totalSamples, 36);
    for (int i = 0; i < 16; i++) b.bits(0, 8); // MD5 of the audio: all zero means not computed
    out.writeBytes(b.bytes());
  }

  /** Appends a frame of {@code blockSize} samples all equal to {@code value}. */
  public FlacBuilder constantFrame(int blockSize, short value) {
    BitWriter b = header(blockSize);
    b.bits(0, 1).bits(0b000000, 6).bits(0, 1); // subframe: CONSTANT, no wasted bits
    b.bits(value & 0xFFFF, 16);
    return finish(b);
  }

  /** Appends a frame holding {@code samples} verbatim. */
  public FlacBuilder verbatimFrame(short[] samples) {
    BitWriter b = header(samples.length);
    b.bits(0, 1).bits(0b000001, 6).bits(0, 1); // subframe: VERBATIM
    for (short s : samples) b.bits(s & 0xFFFF, 16);
    return finish(b);
  }

  public byte[] bytes() {
    return out.toByteArray();
  }

  // sync 0b11111111111110, reserved 0, fixed block size; block size code 0b0111 (16-bit size - 1 after the
  // frame number); sample rate code 0b0101 = 16 kHz; mono; 16 bits per sample (0b100); reserved 0; then the frame
  // number in FLAC's extended UTF-8 coding, the block size, and CRC-8 of the header
  private BitWriter header(int blockSize) {
    BitWriter b = new BitWriter();
    b.bits(0b11111111111110, 14).bits(0, 1).bits(0, 1);
    b.bits(0b0111, 4).bits(0b0101, 4).bits(0b0000, 4).bits(0b100, 3).bits(0, 1);
    utf8(b, frameNumber++);
    b.bits(blockSize - 1, 16);
    b.bits(crc8(b.bytes()), 8);
    return b;
  }

  private FlacBuilder finish(BitWriter b) {
    b.align();
    byte[] frame = b.bytes();
    out.writeBytes(frame);
    int crc = crc16(frame);
    out.write(crc >> 8);
    out.write(crc & 0xFF);
    return this;
  }

  private static void utf8(BitWriter b, long v) {
    if (v < 0x80) {
      b.bits(v, 8);
      return;
    }
    int continuation = v < 0x800 ? 1 : v < 0x10000 ? 2 : v < 0x200000 ? 3 : v < 0x4000000 ? 4 : 5;
    int leadBits = 6 - continuation; // payload bits in the first byte
    int lead = (0xFF << (7 - continuation)) & 0xFF;
    b.bits(lead | (v >>> (6 * continuation)) & ((1 << leadBits) - 1), 8);
    for (int i = continuation - 1; i >= 0; i--) b.bits(0x80 | (v >>> (6 * i)) & 0x3F, 8);
  }

  static int crc8(byte[] data) {
    int crc = 0;
    for (byte d : data) {
      crc ^= d & 0xFF;
      for (int i = 0; i < 8; i++) crc = (crc & 0x80) != 0 ? ((crc << 1) ^ 0x07) & 0xFF : (crc << 1) & 0xFF;
    }
    return crc;
  }

  static int crc16(byte[] data) {
    int crc = 0;
    for (byte d : data) {
      crc ^= (d & 0xFF) << 8;
      for (int i = 0; i < 8; i++) crc = (crc & 0x8000) != 0 ? ((crc << 1) ^ 0x8005) & 0xFFFF : (crc << 1) & 0xFFFF;
    }
    return crc;
  }

  /** Most significant bit first, as FLAC writes. */
  static final class BitWriter {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private int current;
    private int used;

    BitWriter bits(long value, int count) {
      for (int i = count - 1; i >= 0; i--) {
        current = current << 1 | (int) (value >>> i & 1);
        if (++used == 8) {
          bytes.write(current);
          current = 0;
          used = 0;
        }
      }
      return this;
    }

    void align() {
      if (used > 0) bits(0, 8 - used);
    }

    /** The whole bytes written so far. */
    byte[] bytes() {
      return bytes.toByteArray();
    }
  }
}
