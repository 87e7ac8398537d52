package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.eval.bench.NativeMemory;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.FeatureEncoder;
import java.io.IOException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Transcribing long audio needs memory for one piece of the feature encoder and one encoder layer at a time, not for
 * every intermediate of the pass: a whole-utterance pass on the shipped small model over 120 s of audio stays within
 * the working-set bound of docs/DESIGN.md (section "Memory of a forward pass"): 186-256 MiB measured (alone and within
 * the suite) against a bound of 341 MiB. With every layer's output kept to the end of the pass (each layer's
 * intermediates released) it was 451 MiB; with every intermediate kept, more.
 */
class LongAudioMemoryTest {
  private static final int RATE = 16000;

  @Test
  void aTwoMinuteUtteranceStaysWithinTheWorkingSetBound() throws IOException {
    assumeTrue(NativeMemory.supported(), "needs /proc/self/status");
    try (SpeechRecognizer asr = SpeechRecognizer.open(Fixtures.repoRoot().resolve("models/conformer-small-synthetic"))) {
      asr.transcribe(noise(2, 1));  // warm: code paths, allocator arenas, thread pools
      float[] audio = noise(120, 2);
      NativeMemory.Peak peak = NativeMemory.measure(() -> asr.transcribe(audio));
      long bound = workingSetBound(asr.model().config(), audio.length);
      long used = peak.increaseBytes();
      System.out.printf("120 s on the small model: peak increase %.1f MiB, bound %.1f MiB (%s)%n", used / 1048576.0,
          bound / 1048576.0, peak.method());
      assertThat(used).as("peak resident increase over a 120 s pass (bytes)").isLessThan(bound);
    }
  }

  /**
   * The bound of docs/DESIGN.md: 4 bytes x (3 C0 P s/s0 + 3 C_L T + 22 T max(d_ff, d)): three copies of the first conv
   * layer's output over one piece of P frames (s/s0 first-layer steps per frame), the features of all T frames (three
   * copies while they are normalised and projected), and 22 [T, max(d_ff, d)] tensors of one encoder layer.
   */
  static long workingSetBound(ConformerConfig c, long samples) {
    long stride = 1;
    for (long s : c.convStride()) stride *= s;
    long t = samples / stride;
    long c0 = c.convDim().get(0);
    long wide = Math.max(c.intermediateSize(), c.hiddenSize());
    return 4L * (3L * c0 * FeatureEncoder.PIECE_FRAMES * stride / c.convStride().get(0)
        + 3L * c.convDim().get(c.convDim().size() - 1) * t + 22L * t * wide);
  }

  private static float[] noise(int seconds, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[seconds * RATE];
    for (int i = 0; i < x.length; i++) x[i] = (float) (0.1 * r.nextGaussian());
    return x;
  }
}
