package dev.mha2mla.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.UnsupportedAudioException;
import dev.mha2mla.io.WavAudio;
import dev.mha2mla.io.WavReader;
import dev.mha2mla.io.WavWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlacReaderTest {
  @TempDir Path dir;

  @Test
  void decodesExactlyTheSamplesOfTheWavItWasEncodedFrom() throws Exception {
    WavAudio wav = WavReader.read(AudioFixtures.get("tone.wav"));
    WavAudio flac = FlacReader.read(AudioFixtures.get("tone.flac"));

    assertThat(flac.sampleRate()).isEqualTo(16_000);
    assertThat(flac.samples()).hasSize(6_400);
    assertThat(Arrays.equals(flac.samples(), wav.samples())).isTrue();
    assertThat(flac).isEqualTo(wav);
  }

  @Test
  void decodesWhatTheFlacToolEncodesAtEverySetting() throws Exception {
    assumeTrue(onPath("flac"), "the flac tool is not installed (apt-get install -y flac)");
    // a random walk of odd length: LPC, fixed and verbatim subframes, a short last block
    float[] samples = new float[12_345];
    java.util.SplittableRandom random = new java.util.SplittableRandom(9);
    double x = 0;
    for (int i = 0; i < samples.length; i++) {
      x = Math.max(-0.9, Math.min(0.9, 0.98 * x + random.nextGaussian() * 0.05));
      samples[i] = Math.round(x * 32768) / 32768f;
    }
    Path wav = dir.resolve("walk.wav");
    WavWriter.write(wav, 16_000, samples);
    for (String[] options : new String[][] {{"-0"}, {"-5"}, {"-8", "--blocksize=1152"}, {"-8", "--no-padding"}}) {
      Path flac = dir.resolve("walk" + String.join("", options).replace("=", "") + ".flac");
      List<String> command = new ArrayList<>(List.of("flac", "-s", "-f"));
      command.addAll(List.of(options));
      command.addAll(List.of("-o", flac.toString(), wav.toString()));
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor()).as("%s: %s", command, output).isZero();

      assertThat(FlacReader.read(flac).samples()).as("flac %s", String.join(" ", options)).containsExactly(samples);
    }
  }

  private static boolean onPath(String tool) {
    try {
      return new ProcessBuilder(tool, "--version").redirectErrorStream(true).start().waitFor() == 0;
    } catch (java.io.IOException | InterruptedException e) {
      return false;
    }
  }

  @Test
  void audioFilesReadsFlacLikeWav() throws Exception {
    assertThat(AudioFiles.read(AudioFixtures.get("tone.flac"), 16_000))
        .containsExactly(AudioFiles.read(AudioFixtures.get("tone.wav"), 16_000));
  }

  @Test
  void headerGivesTheDurationWithoutDecoding() throws Exception {
    FlacReader.Header h = FlacReader.header(AudioFixtures.get("tone.flac"));
    assertThat(h).isEqualTo(new FlacReader.Header(16_000, 1, 16, 6_400));
    assertThat(h.durationSeconds()).isEqualTo(0.4);
  }

  @Test
  void truncatedFileIsAnErrorNotShortAudio() throws Exception {
    byte[] bytes = Files.readAllBytes(AudioFixtures.get("tone.flac"));
    Path cut = dir.resolve("cut.flac");
    Files.write(cut, Arrays.copyOf(bytes, bytes.length * 2 / 3));

    assertThatThrownBy(() -> FlacReader.read(cut)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(cut.toString()).hasMessageContaining("truncated");
  }

  @Test
  void fileCutInsideTheMetadataIsAnError() throws Exception {
    Path cut = dir.resolve("head.flac");
    Files.write(cut, Arrays.copyOf(Files.readAllBytes(AudioFixtures.get("tone.flac")), 20));

    assertThatThrownBy(() -> FlacReader.read(cut)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(cut.toString());
  }

  @Test
  void damagedFrameFailsItsChecksumAndIsAnError() throws Exception {
    byte[] bytes = Files.readAllBytes(AudioFixtures.get("tone.flac"));
    bytes[bytes.length / 2] ^= 0x5A;
    Path bad = dir.resolve("bad.flac");
    Files.write(bad, bytes);

    assertThatThrownBy(() -> FlacReader.read(bad)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(bad.toString()).hasMessageContaining("corrupt");
  }

  @Test
  void garbageIsNotFlac() throws Exception {
    Path junk = dir.resolve("junk.flac");
    Files.writeString(junk, "this is not audio at all, just text pretending to be a FLAC file");

    assertThatThrownBy(() -> FlacReader.read(junk)).isInstanceOf(MalformedFileException.class)
        .hasMessage(junk + ": not a FLAC file (no 'fLaC' marker at the start)");
  }

  @Test
  void garbageAfterAValidMarkerIsAnError() throws Exception {
    byte[] bytes = new byte[4096];
    new java.util.Random(3).nextBytes(bytes);
    bytes[0] = 'f';
    bytes[1] = 'L';
    bytes[2] = 'a';
    bytes[3] = 'C';
    Path junk = dir.resolve("noise.flac");
    Files.write(junk, bytes);

    assertThatThrownBy(() -> FlacReader.read(junk)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(junk.toString());
  }

  @Test
  void stereoIsUnsupportedWithAConversionHint() {
    Path stereo = AudioFixtures.get("stereo.flac");
    assertThatThrownBy(() -> FlacReader.read(stereo)).isInstanceOf(UnsupportedAudioException.class)
        .hasMessageStartingWith(stereo.toString()).hasMessageContaining("2 channels").hasMessageContaining("sox");
  }

  @Test
  void anotherSampleRateIsAClearErrorNamingTheFile() {
    Path slow = AudioFixtures.get("tone-8k.flac");
    assertThatThrownBy(() -> AudioFiles.read(slow, 16_000)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(slow + ": sample rate is 8000 Hz but the model expects 16000 Hz");
  }

  @Test
  void missingFileIsReportedAsSuch() {
    assertThatThrownBy(() -> FlacReader.read(dir.resolve("nowhere.flac")))
        .isInstanceOf(java.nio.file.NoSuchFileException.class);
  }
}
