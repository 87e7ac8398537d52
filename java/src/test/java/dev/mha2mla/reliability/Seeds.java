package dev.mha2mla.reliability;

import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Seed inputs for the fuzz targets: the real files (the conformer-tiny fixture, the audio test resources)
 * plus a few hand-made mutations that reach deeper checks than random bytes would. Each map is name to bytes,
 * in a fixed order.
 */
final class Seeds {
  private Seeds() {}

  static Map<String, byte[]> safetensors() {
    byte[] fixture = fixture("model.safetensors");
    int headerEnd = 8 + (int) ByteBuffer.wrap(fixture).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    String header = new String(fixture, 8, headerEnd - 8, StandardCharsets.UTF_8);
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    seeds.put("fixture model.safetensors", fixture);
    seeds.put("small file with metadata, a scalar and an empty tensor", smallSafetensors());
    seeds.put("fixture header, data section cut short", Arrays.copyOf(fixture, headerEnd + 1000));
    seeds.put("fixture header only", Arrays.copyOf(fixture, headerEnd));
    seeds.put("a shape of 2^32 x 2^32", withHeader(fixture, headerEnd,
        header.replaceFirst("\"shape\":\\[32\\]", "\"shape\":[4294967296,4294967296]")));
    seeds.put("offsets reaching 2^63-1", withHeader(fixture, headerEnd,
        header.replaceFirst("\"data_offsets\":\\[0,128\\]", "\"data_offsets\":[0,9223372036854775807]")));
    byte[] hugeLength = fixture.clone();
    ByteBuffer.wrap(hugeLength).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE);
    seeds.put("header length 2^63-1", hugeLength);
    return seeds;
  }

  /** data.pkl contents; the target wraps each in an archive with the fixture's storages. */
  static Map<String, byte[]> pickles() {
    byte[] fixture = TorchArchive.fixturePickle();
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    seeds.put("fixture data.pkl", fixture);
    seeds.put("fixture data.pkl cut in half", Arrays.copyOf(fixture, fixture.length / 2));
    seeds.put("empty dict", new byte[] {(byte) 0x80, 2, '}', '.'});
    return seeds;
  }

  /** Whole torch.save archives, for damage to the zip structure itself. */
  static Map<String, byte[]> torchArchives() {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    seeds.put("one 2x2 float tensor", smallTorchArchive());
    seeds.put("fixture pytorch_model.bin", fixture("pytorch_model.bin"));
    seeds.put("a tensor at storage offset -1925316608 (found by Jazzer)", torchArchiveAtOffset(-1925316608L));
    return seeds;
  }

  static byte[] smallTorchArchive() {
    return torchArchiveAtOffset(0);
  }

  /** A state dict of one 2x2 float tensor starting {@code offset} elements into a 4-float storage. */
  static byte[] torchArchiveAtOffset(long offset) {
    byte[] pickle = Pickle.stateDict("w", p -> p.tensor("FloatStorage", "0", 4, offset, new long[] {2, 2},
        new long[] {2, 1}));
    byte[] storage = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putFloat(1).putFloat(2).putFloat(3)
        .putFloat(4).array();
    return TorchArchive.of(pickle, Map.of("0", storage));
  }

  static Map<String, byte[]> wavs() {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    seeds.put("fixture audio.wav", fixture("audio.wav"));
    seeds.put("fixture audio1.wav", fixture("audio1.wav"));
    seeds.put("tone.wav", resource("tone.wav"));
    seeds.put("header and no samples", wav(1, 1, 16000, 16, 2, new byte[0], new byte[0]));
    seeds.put("WAVE_FORMAT_EXTENSIBLE PCM", wav(0xFFFE, 1, 16000, 16, 2, extensiblePcm(), new byte[64]));
    seeds.put("float WAV", wav(3, 1, 16000, 32, 4, new byte[0], new byte[64]));
    seeds.put("stereo WAV", wav(1, 2, 16000, 16, 4, new byte[0], new byte[64]));
    return seeds;
  }

  static Map<String, byte[]> flacs() {
    byte[] tone = resource("tone.flac");
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    seeds.put("tone.flac", tone);
    seeds.put("tone-8k.flac", resource("tone-8k.flac"));
    seeds.put("stereo.flac", resource("stereo.flac"));
    seeds.put("tone.flac cut inside a frame", Arrays.copyOf(tone, tone.length * 2 / 3));
    return seeds;
  }

  /**
   * FLAC streams whose STREAMINFO and frame headers carry the numbers a decoder sizes buffers by: declared length
   * (exact, unknown, 40 hours), block sizes (16 to 65535) and frames of both subframe kinds.
   */
  static Map<String, byte[]> flacHeaders() {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    short[] ramp = new short[64];
    for (int i = 0; i < ramp.length; i++) ramp[i] = (short) (i * 512 - 16_000);
    seeds.put("verbatim + constant", new FlacBuilder(64 + 4096, 4096).verbatimFrame(ramp)
        .constantFrame(4096, (short) 7).bytes());
    seeds.put("unknown length", new FlacBuilder(0, 4096).constantFrame(4096, (short) -3)
        .constantFrame(4096, (short) 3).bytes());
    seeds.put("declares 40 hours", new FlacBuilder(40L * 3600 * 16_000, 4096).constantFrame(4096, (short) 1).bytes());
    seeds.put("block size 65535", new FlacBuilder(65_535, 65_535).constantFrame(65_535, (short) 100).bytes());
    seeds.put("block size 16", new FlacBuilder(16, 16).verbatimFrame(Arrays.copyOf(ramp, 16)).bytes());
    return seeds;
  }

  static Map<String, byte[]> configs() {
    String fixture = new String(fixture("config.json"), StandardCharsets.UTF_8);
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    seeds.put("fixture config.json", utf8(fixture));
    seeds.put("converted (MLA) config", utf8(fixture.replaceFirst("\\{", "{\"mla\": {\"latent_dim\": 16, "
        + "\"method\": \"joint\", \"whitened\": false, \"source_model\": \"x\"},")));
    seeds.put("model_type only", utf8("{\"model_type\": \"wav2vec2-conformer\"}"));
    seeds.put("an array", utf8("[]"));
    return seeds;
  }

  static byte[] fixture(String name) {
    try {
      return Files.readAllBytes(Fixtures.conformerTiny().resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A file under src/test/resources/data. */
  static byte[] resource(String name) {
    try (InputStream in = Seeds.class.getResourceAsStream("/data/" + name)) {
      if (in == null) throw new IllegalStateException("test resource /data/" + name + " is missing");
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A RIFF/WAVE file: a 'fmt ' chunk of 16 bytes plus {@code fmtExtra}, then a 'data' chunk. */
  static byte[] wav(int tag, int channels, int rate, int bits, int blockAlign, byte[] fmtExtra, byte[] data) {
    int fmtSize = 16 + fmtExtra.length;
    ByteBuffer b = ByteBuffer.allocate(12 + 8 + fmtSize + 8 + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(ascii("RIFF")).putInt(b.capacity() - 8).put(ascii("WAVE"));
    b.put(ascii("fmt ")).putInt(fmtSize).putShort((short) tag).putShort((short) channels).putInt(rate)
        .putInt(rate * blockAlign).putShort((short) blockAlign).putShort((short) bits).put(fmtExtra);
    b.put(ascii("data")).putInt(data.length).put(data);
    return b.array();
  }

  // cbSize 22, valid bits 16, channel mask, then KSDATAFORMAT_SUBTYPE_PCM
  private static byte[] extensiblePcm() {
    ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort((short) 22).putShort((short) 16).putInt(4).putShort((short) 1);
    b.put(new byte[] {0, 0, 0, 0, 0x10, 0, (byte) 0x80, 0, 0, (byte) 0xAA, 0, 0x38, (byte) 0x9B, 0x71});
    return b.array();
  }

  private static byte[] smallSafetensors() {
    Map<String, RawTensor> tensors = new LinkedHashMap<>();
    tensors.put("weight", RawTensor.ofFloats(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}));
    tensors.put("steps", RawTensor.ofLongs(new long[] {4}, new long[] {1, 2, 3, 4}));
    tensors.put("scalar", RawTensor.ofFloats(new long[] {}, new float[] {7}));
    tensors.put("empty", RawTensor.ofFloats(new long[] {0, 5}, new float[0]));
    try {
      Path file = Files.createTempFile("seed", ".safetensors");
      try {
        SafeTensorsWriter.write(file, tensors, Map.of("format", "pt"));
        return Files.readAllBytes(file);
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] withHeader(byte[] file, int headerEnd, String header) {
    byte[] h = utf8(header);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + file.length - headerEnd).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).put(file, headerEnd, file.length - headerEnd);
    return b.array();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
