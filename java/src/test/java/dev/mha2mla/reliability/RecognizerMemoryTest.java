package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mha2mla.RecognizerStream;
import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.StreamOptions;
import dev.mha2mla.eval.bench.NativeMemory;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Native memory (LibTorch tensors) is invisible to the garbage collector's sense of pressure: a tensor a call
 * forgets to free stays resident until some unrelated collection happens to find its Java shell, and with a
 * 2 GB model that is too late. So native memory (what malloc has handed out: LibTorch's tensors, the kernels'
 * scratch, streaming caches; not the JVM heap, whose swings would hide a slow leak) must stay flat over
 * thousands of transcriptions and hundreds of streams once warm, and {@link SpeechRecognizer#close()} must free
 * the weights itself, without help from the collector.
 *
 * <p>The issue asks for 10,000 transcriptions; the build runs {@value #DEFAULT_ITERATIONS}, and
 * {@code -Dmha2mla.leak.iterations=10000} runs the full count by hand:
 * <pre>
 *   mvn -B -pl java test -Dtest='RecognizerMemoryTest' -Dmha2mla.leak.iterations=10000 -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RecognizerMemoryTest {
  static final int DEFAULT_ITERATIONS = 2000;
  private static final int ITERATIONS = Integer.getInteger("mha2mla.leak.iterations", DEFAULT_ITERATIONS);
  // Every 20th transcription is audio.wav (64 frames: the attention kernels' multi-tile path), the others
  // audio1.wav (44 frames, one tile), several times cheaper: both paths in seconds. (All 2,000 on audio.wav took
  // 50 s on the shared 2-core build machine, against 11-17 s for this mix.)
  private static final int LONG_EVERY = 20;
  // Open/close cycles of the weights-are-freed check. Its malloc floor moves with the JVM's own allocations
  // (JIT, class data) by -500 to +220 KB per cycle over a whole suite, against +3-40 KB run alone, so the check
  // reads what each close() itself frees.
  private static final int OPEN_CLOSE_CYCLES = 60;
  /** Resident memory may grow this much once warm: heap sizing and allocator caches move it a little. */
  private static final double MAX_GROWTH = 0.05;

  @BeforeAll
  static void linux() {
    assumeTrue(NativeMemory.supported(), "needs /proc/self/status");
    assumeTrue(NativeMemory.mallocInUseBytes() > 0, "needs glibc's mallinfo2 through the native library");
  }

  @Test
  void nativeMemoryStaysFlatOverThousandsOfTranscriptions() throws IOException {
    Map<String, float[]> all = Utterances.all();
    float[] shorter = all.get("audio1.wav");
    float[] longer = all.get("audio.wav");
    try (SpeechRecognizer asr = SpeechRecognizer.open(Fixtures.conformerTiny())) {
      String shorterText = asr.transcribe(shorter);
      String longerText = asr.transcribe(longer);
      long start = System.nanoTime();
      Growth growth = measure(ITERATIONS, i -> {
        if (i % LONG_EVERY == 0) assertThat(asr.transcribe(longer)).isEqualTo(longerText);
        else assertThat(asr.transcribe(shorter)).isEqualTo(shorterText);
      });
      System.out.printf("%d transcriptions in %.1f s; %s%n", ITERATIONS, (System.nanoTime() - start) / 1e9, growth);
      growth.assertFlat();
    }
  }

  /** Streams (cache, convolution contexts, position tables) opened, fed and closed over and over leave nothing behind. */
  @Test
  void nativeMemoryStaysFlatOverHundredsOfStreams() throws IOException {
    float[] audio = Utterances.fixtureAudio();
    try (SpeechRecognizer asr = SpeechRecognizer.open(Fixtures.conformerTiny())) {
      String expected = stream(asr, audio);
      Growth growth = measure(ITERATIONS / 10, i -> assertThat(stream(asr, audio)).isEqualTo(expected));
      System.out.printf("%d streams; %s%n", ITERATIONS / 10, growth);
      growth.assertFlat();
    }
  }

  private static String stream(SpeechRecognizer asr, float[] audio) {
    try (RecognizerStream s = asr.openStream(new StreamOptions(8, 40).withNormalization(new WaveformStatistics(0, 0.1)))) {
      for (int start = 0; start < audio.length; start += 1600) {
        s.accept(Arrays.copyOfRange(audio, start, Math.min(audio.length, start + 1600)));
      }
      return s.finish().text();
    }
  }

  /**
   * Native (malloc'd) bytes sampled after every call: the lowest value over calls (n/2, 3n/4] against the lowest over
   * (3n/4, n]. The JVM also mallocs once for good, mid-run (seen: a single step of 4.5 MB near call 700 of 2,000, flat
   * to within 7 KB for the 1,200 calls after it), so the reference is the third quarter, past such steps; a leak of
   * more than 5% of the floor over n/4 calls still fails. The JVM mallocs and frees again too, which shows as spikes
   * of several MB; a leak raises the floor, which the minima follow. VmRSS at n/4 and n is printed beside it for the record.
   */
  private static Growth measure(int n, java.util.function.IntConsumer call) {
    long early = Long.MAX_VALUE;
    long late = Long.MAX_VALUE;
    long rssAtQuarter = 0;
    StringBuilder trace = new StringBuilder();
    for (int i = 1; i <= n; i++) {
      call.accept(i);
      long bytes = NativeMemory.mallocInUseBytes();
      if (i > n / 2 && i <= 3 * n / 4) early = Math.min(early, bytes);
      if (i > 3 * n / 4) late = Math.min(late, bytes);
      if (i == n / 4) rssAtQuarter = NativeMemory.residentBytes();
      if (i % (n / 10) == 0) trace.append(' ').append(bytes >> 10);
    }
    return new Growth(n, early, late, rssAtQuarter, NativeMemory.residentBytes(), trace.toString());
  }

  private record Growth(int calls, long mallocEarly, long mallocLate, long rssAtQuarter, long rssAtEnd, String trace) {
    void assertFlat() {
      assertThat((double) mallocLate).as("lowest malloc'd bytes over the last quarter of %d calls vs the third quarter",
          calls).isLessThan(mallocEarly * (1 + MAX_GROWTH));
    }

    @Override
    public String toString() {
      return String.format("malloc'd KiB every %d calls:%s; lowest in the third vs last quarter: %+.2f%% (%+d bytes "
              + "per call); VmRSS from call %d to %d: %+.2f%%", calls / 10, trace, 100.0 * (mallocLate - mallocEarly) / mallocEarly,
          (mallocLate - mallocEarly) / (calls / 4), calls / 4, calls, 100.0 * (rssAtEnd - rssAtQuarter) / rssAtQuarter);
    }
  }

  /**
   * Opens, uses and closes a recognizer {@value #OPEN_CLOSE_CYCLES} times, keeping every closed one reachable so
   * that the collector cannot free what close() forgot. What malloc holds is read just before and just after each
   * close(): the median drop must be most of the weights (650 KB; were they left to the collector it would be
   * near 0). The malloc floor over the first and last thirds is printed, not checked: inside a whole suite it
   * moves by -500 to +220 KB per cycle with the JVM's own allocations.
   */
  @Test
  void closeFreesTheWeightsWithoutTheCollectorsHelp() throws IOException {
    float[] audio = Utterances.fixtureAudio();
    long weights = Files.size(Fixtures.conformerTiny().resolve("model.safetensors"));
    List<SpeechRecognizer> closed = new ArrayList<>();
    long[] freed = new long[OPEN_CLOSE_CYCLES];
    long early = Long.MAX_VALUE;
    long late = Long.MAX_VALUE;
    for (int cycle = 0; cycle < OPEN_CLOSE_CYCLES; cycle++) {
      SpeechRecognizer asr = SpeechRecognizer.open(Fixtures.conformerTiny());
      assertThat(asr.transcribe(audio)).isNotEmpty();
      long before = NativeMemory.mallocInUseBytes();
      asr.close();
      long after = NativeMemory.mallocInUseBytes();
      freed[cycle] = before - after;
      closed.add(asr);
      if (cycle < OPEN_CLOSE_CYCLES / 3) early = Math.min(early, after);
      if (cycle >= 2 * OPEN_CLOSE_CYCLES / 3) late = Math.min(late, after);
    }
    long[] sorted = freed.clone();
    java.util.Arrays.sort(sorted);
    long medianFreed = sorted[sorted.length / 2];
    long perCycle = (late - early) / (2 * OPEN_CLOSE_CYCLES / 3);  // the thirds' centres lie 2N/3 cycles apart
    System.out.printf("open/transcribe/close x%d, all kept reachable: close() frees %d bytes (median; the weights are "
        + "%d bytes), malloc floor %+d bytes per cycle%n", OPEN_CLOSE_CYCLES, medianFreed, weights, perCycle);
    assertThat(medianFreed).as("malloc'd bytes one close() frees").isGreaterThan(3 * weights / 4);
    assertThat(closed.get(0).model().weights().values()).as("every weight tensor freed").allMatch(t -> t.isNull());
  }

  @Test
  void aClosedRecognizerRefusesWorkInsteadOfReadingFreedMemory() throws IOException {
    SpeechRecognizer asr = SpeechRecognizer.open(Fixtures.conformerTiny());
    asr.close();
    asr.close(); // twice is harmless

    assertThatThrownBy(() -> asr.transcribe(Utterances.fixtureAudio()))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }
}
