package dev.mha2mla.benchmarks;

import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.model.CpuThreads;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One thread count against the machine as it is: transcribes {@code SECONDS} of seeded noise at speech level with a
 * {@link SpeechRecognizer} after one warm-up pass and prints the median, minimum and maximum of {@code REPEATS}
 * passes. {@code THREADS} 0 is the adaptive count ({@link CpuThreads#configureAdaptive()}). Run it interleaved with each count,
 * idle and with other work on the cores (benchmarks/results/flagship-memory has the commands and numbers):
 *
 * <pre>java -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
 *   dev.mha2mla.benchmarks.ThreadCounts MODEL THREADS SECONDS REPEATS</pre>
 */
public final class ThreadCounts {
  private ThreadCounts() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 4) {
      System.err.println("usage: ThreadCounts MODEL THREADS SECONDS REPEATS");
      System.exit(2);
    }
    int threads = Integer.parseInt(args[1]);
    int seconds = Integer.parseInt(args[2]);
    int repeats = Integer.parseInt(args[3]);
    if (threads == 0) CpuThreads.configureAdaptive();
    else CpuThreads.configure(threads);
    try (SpeechRecognizer asr = SpeechRecognizer.open(Path.of(args[0]))) {
      float[] audio = new float[seconds * 16000];
      SplittableRandom r = new SplittableRandom(1);
      for (int i = 0; i < audio.length; i++) audio[i] = (float) (0.1 * r.nextGaussian());
      asr.transcribe(audio);
      double[] times = new double[repeats];
      for (int i = 0; i < repeats; i++) {
        long t0 = System.nanoTime();
        asr.transcribe(audio);
        times[i] = (System.nanoTime() - t0) / 1e9;
      }
      Arrays.sort(times);
      System.out.printf("%s threads %s, %d s: median %.3f s (min %.3f, max %.3f) over %d passes%n", args[0],
          threads == 0 ? "adaptive" : Integer.toString(threads), seconds, times[repeats / 2], times[0],
          times[repeats - 1], repeats);
    }
  }
}
