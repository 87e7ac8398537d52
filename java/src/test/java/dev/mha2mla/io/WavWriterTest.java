package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WavWriterTest {
  @TempDir
  Path dir;

  @Test
  void rewritingTheFixtureReproducesItByteForByte() throws IOException {
    Path original = Fixtures.conformerTiny().resolve("audio.wav");
    WavAudio audio = WavReader.read(original);
    Path copy = dir.resolve("audio.wav");

    WavWriter.write(copy, audio.sampleRate(), audio.samples());

    assertThat(Files.readAllBytes(copy)).isEqualTo(Files.readAllBytes(original));
  }

  @Test
  void samplesAreRoundedAndClampedTo16Bits() throws IOException {
    Path file = dir.resolve("clamp.wav");

    WavWriter.write(file, 16000, new float[] {0.5f, 1.0f, -1.0f, -2f, 3f / 32768 + 1e-6f});

    assertThat(WavReader.read(file).samples()).containsExactly(0.5f, 32767f / 32768, -1f, -1f, 3f / 32768);
  }

  @Test
  void writesTheCanonical44ByteHeader() throws IOException {
    Path file = dir.resolve("empty.wav");

    WavWriter.write(file, 8000, new float[0]);

    byte[] raw = Files.readAllBytes(file);
    assertThat(raw).hasSize(44);
    assertThat(new String(raw, 0, 4, "US-ASCII")).isEqualTo("RIFF");
    WavAudio audio = WavReader.read(file);
    assertThat(audio.sampleRate()).isEqualTo(8000);
    assertThat(audio.samples()).isEmpty();
  }
}
