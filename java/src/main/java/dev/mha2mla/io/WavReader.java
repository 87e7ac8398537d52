package dev.mha2mla.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads 16-bit PCM mono WAV files.
 *
 * <p>Layout (all integers little-endian): {@code "RIFF" u32:size "WAVE"} followed by chunks, each
 * {@code id[4] u32:size payload}, plus one pad byte when size is odd. The {@code "fmt "} chunk holds
 * {@code u16 formatTag, u16 channels, u32 sampleRate, u32 byteRate, u16 blockAlign, u16 bitsPerSample};
 * formatTag 1 is PCM, 0xFFFE (WAVE_FORMAT_EXTENSIBLE) carries the real format in the first two bytes
 * of a subformat GUID at payload offset 24. The {@code "data"} chunk holds the interleaved samples.
 * Other chunks ({@code LIST}, {@code fact}, ...) are skipped.
 *
 * <p>The sample rate is reported, not checked: resampling is the caller's decision.
 */
public final class WavReader {
  private static final int FORMAT_PCM = 0x0001;
  private static final int FORMAT_IEEE_FLOAT = 0x0003;
  private static final int FORMAT_EXTENSIBLE = 0xFFFE;
  // bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID (00000000-0000-0010-8000-00aa00389b71, after the tag)
  private static final byte[] SUBFORMAT_GUID_TAIL = {
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00, (byte) 0xAA, 0x00, 0x38, (byte) 0x9B, 0x71
  };
  private static final String CONVERT = "sox in.wav -b 16 -e signed-integer -c 1 out.wav";

  private WavReader() {
  }

  /**
   * Reads a 16-bit PCM mono WAV file.
   *
   * @throws MalformedFileException if the file is not a WAV file or is truncated or inconsistent
   * @throws UnsupportedAudioException for valid WAV files in another encoding (stereo, 24-bit, float, compressed)
   */
  public static WavAudio read(Path path) throws IOException {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      return read(path, channel);
    }
  }

  // Chunk headers are read one at a time, so the duration is known, and checked against AudioLimits, before the
  // samples are: a 4 GB data chunk is refused without being read.
  private static WavAudio read(Path path, FileChannel channel) throws IOException {
    long size = channel.size();
    if (size > Integer.MAX_VALUE - 8) {
      throw new UnsupportedAudioException(path, "file is " + size + " bytes; WAV files over 2 GiB are not supported");
    }
    int limit = (int) size;
    checkRiffHeader(path, readAt(channel, 0, Math.min(limit, 12)));

    Format format = null;
    int dataOffset = -1;
    int dataLength = -1;
    int pos = 12;
    while ((format == null || dataOffset < 0) && limit - pos >= 8) {
      ByteBuffer header = readAt(channel, pos, 8);
      String id = fourCc(header, 0);
      long chunkSize = Integer.toUnsignedLong(header.getInt(4));
      int payload = pos + 8;
      long remaining = limit - payload;
      if (chunkSize > remaining) {
        throw new MalformedFileException(path, "chunk '" + id + "' at byte " + pos + " declares " + chunkSize
            + " bytes but only " + remaining + " remain: the file is truncated");
      }
      if (id.equals("fmt ") && format == null) {
        format = parseFormat(path, readAt(channel, payload, (int) Math.min(chunkSize, 64)), 0, (int) chunkSize);
      } else if (id.equals("data") && dataOffset < 0) {
        dataOffset = payload;
        dataLength = (int) chunkSize;
      }
      // chunks are padded to an even length; the pad byte may be missing at the very end
      pos = (int) Math.min(limit, payload + chunkSize + (chunkSize & 1));
    }
    if (format == null) {
      throw new MalformedFileException(path, "no 'fmt ' chunk: not a valid WAV file");
    }
    if (dataOffset < 0) {
      throw new MalformedFileException(path, "no 'data' chunk: the file is truncated or holds no audio");
    }
    checkSupported(path, format);
    if (dataLength % format.blockAlign != 0) {
      throw new MalformedFileException(path, "data chunk has " + dataLength + " bytes, not a whole number of "
          + format.blockAlign + "-byte frames: the file is truncated or damaged");
    }
    AudioLimits.check(path, dataLength / 2, format.sampleRate);
    ByteBuffer b = readAt(channel, dataOffset, dataLength);
    float[] samples = new float[dataLength / 2];
    for (int i = 0; i < samples.length; i++) {
      samples[i] = b.getShort(2 * i) / 32768f;
    }
    return new WavAudio(format.sampleRate, format.channels, format.bitsPerSample, samples);
  }

  /** {@code length} bytes from {@code position} (the caller has checked that the file holds them). */
  private static ByteBuffer readAt(FileChannel channel, long position, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    while (b.hasRemaining()) {
      if (channel.read(b, position + b.position()) < 0) throw new java.io.EOFException("file shrank while being read");
    }
    return b.flip();
  }

  private record Format(int tag, int channels, int sampleRate, int blockAlign, int bitsPerSample) {
  }

  private static void checkRiffHeader(Path path, ByteBuffer b) throws IOException {
    String riff = b.limit() >= 4 ? fourCc(b, 0) : "";
    if (riff.equals("RIFX") || riff.equals("RF64")) {
      throw new UnsupportedAudioException(path, riff + " WAV variants are not supported; convert: " + CONVERT);
    }
    if (b.limit() < 12 || !riff.equals("RIFF") || !fourCc(b, 8).equals("WAVE")) {
      throw new MalformedFileException(path, "not a WAV file (no RIFF/WAVE header); convert the audio to "
          + "16-bit PCM mono WAV, e.g. " + CONVERT.replace("in.wav", "in.<ext>"));
    }
  }

  private static Format parseFormat(Path path, ByteBuffer b, int at, int length) throws IOException {
    if (length < 16) {
      throw new MalformedFileException(path, "'fmt ' chunk is " + length + " bytes, at least 16 are needed");
    }
    int tag = Short.toUnsignedInt(b.getShort(at));
    int channels = Short.toUnsignedInt(b.getShort(at + 2));
    long sampleRate = Integer.toUnsignedLong(b.getInt(at + 4));
    int blockAlign = Short.toUnsignedInt(b.getShort(at + 12));
    int bits = Short.toUnsignedInt(b.getShort(at + 14));
    if (tag == FORMAT_EXTENSIBLE) {
      if (length < 40) {
        throw new MalformedFileException(path, "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is " + length
            + " bytes, 40 are needed");
      }
      for (int i = 0; i < SUBFORMAT_GUID_TAIL.length; i++) {
        if (b.get(at + 26 + i) != SUBFORMAT_GUID_TAIL[i]) {
          throw new UnsupportedAudioException(path, "WAVE_FORMAT_EXTENSIBLE with an unknown subformat;"
              + " convert: " + CONVERT);
        }
      }
      tag = Short.toUnsignedInt(b.getShort(at + 24));
    }
    if (channels == 0 || sampleRate == 0 || sampleRate > Integer.MAX_VALUE) {
      throw new MalformedFileException(path, "'fmt ' chunk declares " + channels + " channels at "
          + sampleRate + " Hz");
    }
    return new Format(tag, channels, (int) sampleRate, blockAlign, bits);
  }

  private static void checkSupported(Path path, Format f) throws IOException {
    if (f.tag == FORMAT_IEEE_FLOAT) {
      throw new UnsupportedAudioException(path, f.bitsPerSample + "-bit floating-point WAV; only 16-bit PCM is "
          + "supported, convert: " + CONVERT);
    }
    if (f.tag != FORMAT_PCM) {
      throw new UnsupportedAudioException(path, "compressed WAV (" + formatName(f.tag) + "); only 16-bit PCM is "
          + "supported, convert: " + CONVERT);
    }
    if (f.channels != 1) {
      throw new UnsupportedAudioException(path, f.channels + " channels; only mono is supported, convert to mono: "
          + "sox in.wav -c 1 out.wav");
    }
    if (f.bitsPerSample != 16) {
      throw new UnsupportedAudioException(path, f.bitsPerSample + "-bit PCM; only 16-bit is supported, convert: "
          + "sox in.wav -b 16 out.wav");
    }
    if (f.blockAlign != 2) {
      throw new MalformedFileException(path, "'fmt ' chunk declares " + f.blockAlign
          + "-byte frames but 16-bit mono needs 2");
    }
  }

  private static String formatName(int tag) {
    String name = switch (tag) {
      case 0x0002 -> "Microsoft ADPCM";
      case 0x0006 -> "A-law";
      case 0x0007 -> "mu-law";
      case 0x0011 -> "IMA ADPCM";
      case 0x0031 -> "GSM 6.10";
      case 0x0055 -> "MP3";
      default -> "format tag";
    };
    return String.format("%s 0x%04X", name, tag);
  }

  private static String fourCc(ByteBuffer b, int at) {
    byte[] id = new byte[4];
    b.get(at, id);
    return new String(id, StandardCharsets.ISO_8859_1);
  }
}
