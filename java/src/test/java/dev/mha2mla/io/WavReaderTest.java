package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WavReaderTest {
  private static final Path FIXTURES = Fixtures.conformerTiny();

  @TempDir
  Path dir;

  @Test
  void fixtureAudioEqualsTheStoredWaveformExactly() throws IOException {
    SafeTensorsFile inputs = SafeTensorsReader.open(FIXTURES.resolve("inputs.safetensors"));

    WavAudio audio = WavReader.read(FIXTURES.resolve("audio.wav"));
    WavAudio audio1 = WavReader.read(FIXTURES.resolve("audio1.wav"));

    assertThat(audio.sampleRate()).isEqualTo(16000);
    assertThat(audio.channels()).isEqualTo(1);
    assertThat(audio.bitsPerSample()).isEqualTo(16);
    assertThat(audio.samples()).hasSize(20800).isEqualTo(inputs.get("waveform.0").toFloatArray());
    assertThat(audio.durationSeconds()).isEqualTo(1.3);
    assertThat(audio1.samples()).hasSize(14400).isEqualTo(inputs.get("waveform.1").toFloatArray());
  }

  @Test
  void samplesAreInt16DividedBy32768() throws IOException {
    Path file = write(riff(chunk("fmt ", fmt(1, 1, 16000, 16)), chunk("data", pcm16(0, 1, -1, 32767, -32768))));

    assertThat(WavReader.read(file).samples())
        .containsExactly(0f, 1f / 32768, -1f / 32768, 32767f / 32768, -1f);
  }

  @Test
  void unknownChunksOddPaddingAndChunkOrderAreHandled() throws IOException {
    // an odd-sized LIST chunk is followed by a pad byte; 'data' may precede 'fmt '
    Path file = write(riff(chunk("LIST", new byte[] {'I', 'N', 'F', 'O', 'x'}), chunk("data", pcm16(100, -100)),
        chunk("fmt ", fmt(1, 1, 22050, 16))));

    WavAudio audio = WavReader.read(file);

    assertThat(audio.samples()).containsExactly(100f / 32768, -100f / 32768);
    assertThat(audio.sampleRate()).isEqualTo(22050);
  }

  @Test
  void extensibleFormatWithPcmSubformatIsAccepted() throws IOException {
    Path file = write(riff(chunk("fmt ", fmtExtensible(1, 16000, 16, 1)), chunk("data", pcm16(5))));

    assertThat(WavReader.read(file).samples()).containsExactly(5f / 32768);
  }

  @Test
  void otherSampleRatesAreReportedNotRejected() throws IOException {
    Path file = write(riff(chunk("fmt ", fmt(1, 1, 8000, 16)), chunk("data", pcm16(1, 2))));

    assertThat(WavReader.read(file).sampleRate()).isEqualTo(8000);
  }

  @Test
  void nonWavFileIsMalformed() {
    Path config = FIXTURES.resolve("config.json");
    assertThatThrownBy(() -> WavReader.read(config))
        .isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(config + ": not a WAV file");
  }

  @Test
  void truncatedDataIsMalformed() throws IOException {
    byte[] whole = Files.readAllBytes(FIXTURES.resolve("audio.wav"));
    Path cut = write(Arrays.copyOf(whole, whole.length - 1000));

    assertThatThrownBy(() -> WavReader.read(cut))
        .isInstanceOf(MalformedFileException.class)
        .hasMessageContaining("chunk 'data' at byte 36 declares 41600 bytes but only 40600 remain")
        .hasMessageContaining("truncated");
  }

  @Test
  void missingChunksAndHalfSamplesAreMalformed() throws IOException {
    Path noData = write(riff(chunk("fmt ", fmt(1, 1, 16000, 16))));
    Path noFmt = write(riff(chunk("data", pcm16(1))));
    Path oddData = write(riff(chunk("fmt ", fmt(1, 1, 16000, 16)), chunk("data", new byte[] {1, 2, 3})));

    assertThatThrownBy(() -> WavReader.read(noData)).isInstanceOf(MalformedFileException.class)
        .hasMessageContaining("no 'data' chunk");
    assertThatThrownBy(() -> WavReader.read(noFmt)).isInstanceOf(MalformedFileException.class)
        .hasMessageContaining("no 'fmt ' chunk");
    assertThatThrownBy(() -> WavReader.read(oddData)).isInstanceOf(MalformedFileException.class)
        .hasMessageContaining("not a whole number of 2-byte frames");
  }

  @Test
  void stereoIsUnsupportedWithAConversionCommand() throws IOException {
    Path file = write(riff(chunk("fmt ", fmt(1, 2, 16000, 16)), chunk("data", pcm16(1, 2))));

    assertThatThrownBy(() -> WavReader.read(file))
        .isInstanceOf(UnsupportedAudioException.class)
        .hasMessage(file + ": 2 channels; only mono is supported, convert to mono: sox in.wav -c 1 out.wav");
  }

  @Test
  void otherEncodingsAreUnsupported() throws IOException {
    Path pcm24 = write(riff(chunk("fmt ", fmt(1, 1, 16000, 24)), chunk("data", new byte[6])));
    Path float32 = write(riff(chunk("fmt ", fmt(3, 1, 16000, 32)), chunk("data", new byte[8])));
    Path extensibleFloat = write(riff(chunk("fmt ", fmtExtensible(1, 16000, 32, 3)), chunk("data", new byte[8])));
    Path muLaw = write(riff(chunk("fmt ", fmt(7, 1, 8000, 8)), chunk("data", new byte[4])));

    assertThatThrownBy(() -> WavReader.read(pcm24)).isInstanceOf(UnsupportedAudioException.class)
        .hasMessageContaining("24-bit PCM").hasMessageContaining("sox in.wav -b 16 out.wav");
    assertThatThrownBy(() -> WavReader.read(float32)).isInstanceOf(UnsupportedAudioException.class)
        .hasMessageContaining("32-bit floating-point");
    assertThatThrownBy(() -> WavReader.read(extensibleFloat)).isInstanceOf(UnsupportedAudioException.class)
        .hasMessageContaining("floating-point");
    assertThatThrownBy(() -> WavReader.read(muLaw)).isInstanceOf(UnsupportedAudioException.class)
        .hasMessageContaining("compressed WAV (mu-law 0x0007)");
  }

  private int fileCount;

  private Path write(byte[] bytes) throws IOException {
    return Files.write(dir.resolve("test" + fileCount++ + ".wav"), bytes);
  }

  static byte[] riff(byte[]... chunks) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes("WAVE".getBytes(StandardCharsets.US_ASCII));
    for (byte[] c : chunks) {
      body.writeBytes(c);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes("RIFF".getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(le(4).putInt(body.size()).array());
    out.writeBytes(body.toByteArray());
    return out.toByteArray();
  }

  /** id, u32 size, payload, and a pad byte when the size is odd. */
  static byte[] chunk(String id, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(id.getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(le(4).putInt(payload.length).array());
    out.writeBytes(payload);
    if (payload.length % 2 == 1) {
      out.write(0);
    }
    return out.toByteArray();
  }

  static byte[] fmt(int tag, int channels, int rate, int bits) {
    int blockAlign = channels * bits / 8;
    return le(16).putShort((short) tag).putShort((short) channels).putInt(rate).putInt(rate * blockAlign)
        .putShort((short) blockAlign).putShort((short) bits).array();
  }

  /** WAVE_FORMAT_EXTENSIBLE: the 16 basic bytes, cbSize 22, valid bits, channel mask, subformat GUID. */
  static byte[] fmtExtensible(int channels, int rate, int bits, int subformat) {
    ByteBuffer b = le(40).put(fmt(0xFFFE, channels, rate, bits));
    b.putShort((short) 22).putShort((short) bits).putInt(4);
    b.putShort((short) subformat).put(new byte[] {
      0x00, 0x00, 0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00, (byte) 0xAA, 0x00, 0x38, (byte) 0x9B, 0x71});
    return b.array();
  }

  static byte[] pcm16(int... samples) {
    ByteBuffer b = le(2 * samples.length);
    for (int s : samples) {
      b.putShort((short) s);
    }
    return b.array();
  }

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }
}
