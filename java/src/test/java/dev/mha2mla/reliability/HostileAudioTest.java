package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.data.AudioFiles;
import dev.mha2mla.data.FlacReader;
import dev.mha2mla.io.AudioLimits;
import dev.mha2mla.io.AudioTooLongException;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.WavReader;
import dev.mha2mla.io.WavWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Audio built to break the recogniser: non-finite samples, lengths without bound, empty files, folders. */
class HostileAudioTest {
  private static SpeechRecognizer asr;
  @TempDir Path dir;

  @BeforeAll
  static void open() throws Exception {
    asr = SpeechRecognizer.open(Fixtures.conformerTiny());
  }

  @AfterAll
  static void close() {
    asr.close();
  }

  private static float[] tone(int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) (0.1 * Math.sin(i * 0.05));
    return x;
  }

  @Test
  void oneNanOrInfiniteSampleIsRefusedNamingTheSample() {
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
      float[] x = tone(16_000);
      x[1234] = bad;
      assertThatThrownBy(() -> asr.transcribe(x)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("sample 1234 of 16000 is " + bad);
    }
    float[] good = tone(16_000);
    float[] bad = tone(16_000);
    bad[7] = Float.NaN;
    assertThatThrownBy(() -> asr.transcribeAll(List.of(good, bad), 2))
        .hasMessageStartingWith("utterance 1: sample 7 of 16000 is NaN");
  }

  @Test
  void audioLongerThanTheLimitIsRefusedBeforeAnyForwardPass() {
    float[] x = new float[(int) AudioLimits.maxSamples(16_000) + 1];
    assertThatThrownBy(() -> asr.transcribe(x)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("longer than the " + AudioLimits.MAX_SECONDS + " s");
  }

  @Test
  void wavLongerThanTheLimitIsRefusedNamingFileDurationAndLimit() throws Exception {
    Path wav = dir.resolve("long.wav");
    WavWriter.write(wav, 16_000, new float[(AudioLimits.MAX_SECONDS + 1) * 16_000]);

    assertThatThrownBy(() -> AudioFiles.decode(wav)).isInstanceOf(AudioTooLongException.class)
        .hasMessageStartingWith(wav + ": " + (AudioLimits.MAX_SECONDS + 1) + ".0 s of audio")
        .hasMessageContaining("longer than the " + AudioLimits.MAX_SECONDS + " s");
    WavWriter.write(wav, 16_000, new float[AudioLimits.MAX_SECONDS * 16_000]);
    assertThat(WavReader.read(wav).samples()).hasSize(AudioLimits.MAX_SECONDS * 16_000);
  }

  @Test
  void flacDeclaringHoursIsRefusedFromItsHeader() throws Exception {
    for (int hours : new int[] {10, 40}) {
      long declared = hours * 3600L * 16_000;
      Path flac = dir.resolve(hours + "h.flac");
      // one real frame: the rest of the declared hours is not there, but the refusal comes before decoding
      Files.write(flac, new FlacBuilder(declared, 4096).constantFrame(4096, (short) 100).bytes());

      assertThat(FlacReader.header(flac).totalSamples()).isEqualTo(declared);
      assertThatThrownBy(() -> FlacReader.read(flac)).isInstanceOf(AudioTooLongException.class)
          .hasMessageStartingWith(flac + ": " + hours * 3600 + ".0 s of audio (" + declared + " samples at 16000 Hz)");
    }
  }

  @Test
  void flacOfUnknownLengthStopsDecodingAtTheLimit() throws Exception {
    // CONSTANT frames code 4096 samples in a dozen bytes: 400 s of audio in about 20 KB
    int frames = 400 * 16_000 / 4096;
    FlacBuilder unknown = new FlacBuilder(0, 4096);
    FlacBuilder lying = new FlacBuilder(16_000, 4096);
    for (int i = 0; i < frames; i++) {
      unknown.constantFrame(4096, (short) 50);
      lying.constantFrame(4096, (short) 50);
    }
    Path u = Files.write(dir.resolve("unknown.flac"), unknown.bytes());
    Path l = Files.write(dir.resolve("lying.flac"), lying.bytes());
    assertThat(Files.size(u)).isLessThan(100_000);

    assertThatThrownBy(() -> FlacReader.read(u)).isInstanceOf(AudioTooLongException.class)
        .hasMessageStartingWith(u + ": more than " + AudioLimits.MAX_SECONDS + ".0 s of audio");
    assertThatThrownBy(() -> FlacReader.read(l)).isInstanceOf(MalformedFileException.class)
        .hasMessageContaining("more than the 16000 samples that STREAMINFO declares");
  }

  @Test
  void builtFlacDecodesToWhatWasWritten() throws Exception {
    short[] pcm = {0, 1000, -1000, 32767, -32768, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    FlacBuilder b = new FlacBuilder(16 + 4096, 4096).verbatimFrame(pcm).constantFrame(4096, (short) -200);
    Path flac = Files.write(dir.resolve("built.flac"), b.bytes());

    float[] x = FlacReader.read(flac).samples();
    assertThat(x).hasSize(16 + 4096);
    for (int i = 0; i < pcm.length; i++) assertThat(x[i]).isEqualTo(pcm[i] / 32768f);
    assertThat(x[16 + 4095]).isEqualTo(-200 / 32768f);
  }

  @Test
  void emptyAudioAndFoldersAreRefusedNamingThePath() throws Exception {
    Path empty = dir.resolve("empty.wav");
    WavWriter.write(empty, 16_000, new float[0]);
    assertThatThrownBy(() -> AudioFiles.decode(empty)).isInstanceOf(MalformedFileException.class)
        .hasMessage(empty + ": holds no audio samples (0 s of audio)");
    assertThatThrownBy(() -> AudioFiles.decode(dir)).hasMessageStartingWith(dir + ": is a folder, not an audio file");
  }

  @Test
  void jflacDiagnosticsDoNotReachStandardOutput() throws Exception {
    // a fixed-order-0 subframe whose one residual partition is escape-coded (Rice parameter 0b1111, then 5 bits
    // of raw sample width): jflac prints "readResidual elsecase" for it
    Path flac = dir.resolve("escaped.flac");
    Files.write(flac, escapedResidualFlac());
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      try {
        FlacReader.read(flac);
      } catch (java.io.IOException e) {
        // whether jflac decodes escaped partitions correctly is not the point here
      }
      System.out.println("transcript");
    } finally {
      System.setOut(original);
    }
    assertThat(captured.toString(StandardCharsets.UTF_8)).isEqualTo("transcript" + System.lineSeparator());
  }

  // fLaC + STREAMINFO (16 samples) + one frame: FIXED order 0 subframe, residual coding method 0, partition
  // order 0, Rice parameter 0b1111 (escape), 5-bit raw width 16, 16 raw samples of 16 bits
  private static byte[] escapedResidualFlac() {
    ByteBuffer frame = ByteBuffer.allocate(64).order(ByteOrder.BIG_ENDIAN);
    // header as FlacBuilder writes it, block size 16
    byte[] built = new FlacBuilder(16, 16).constantFrame(16, (short) 0).bytes();
    int frameStart = 4 + 4 + 34; // after "fLaC", the block header and STREAMINFO
    // the frame header with its CRC-8: sync and codes (4 bytes), frame number 0 (1), block size - 1 (2), CRC-8 (1)
    byte[] head = java.util.Arrays.copyOfRange(built, frameStart, frameStart + 8);
    FlacBuilder.BitWriter b = new FlacBuilder.BitWriter();
    b.bits(0, 1).bits(0b001000, 6).bits(0, 1); // FIXED, order 0, no wasted bits
    b.bits(0b00, 2).bits(0, 4).bits(0b1111, 4).bits(16, 5);
    for (int i = 0; i < 16; i++) b.bits((i * 100) & 0xFFFF, 16);
    b.align();
    byte[] sub = b.bytes();
    byte[] body = new byte[head.length + sub.length];
    System.arraycopy(head, 0, body, 0, head.length);
    System.arraycopy(sub, 0, body, head.length, sub.length);
    int crc = FlacBuilder.crc16(body);
    frame.put(body).put((byte) (crc >> 8)).put((byte) crc);
    byte[] out = new byte[frameStart + frame.position()];
    System.arraycopy(built, 0, out, 0, frameStart);
    System.arraycopy(frame.array(), 0, out, frameStart, frame.position());
    return out;
  }
}
