package dev.mha2mla.eval.bench;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;

/**
 * The plain timing loop behind {@code mha2mla benchmark}: warm-up calls (thread pools, first-touch page
 * faults, lazy initialisation stay out of the numbers), then timed calls, each timed alone with
 * {@link System#nanoTime()}. Every call runs inside its own {@link PointerScope} (its tensors are freed when
 * it returns, not when the garbage collector gets round to it) and without autograd.
 *
 * <p>The JMH benchmarks (module {@code benchmarks/}) build the same workloads and time them with JMH; this
 * class is for the command line, where a JMH run would be too heavy.
 *
 * @param warmup untimed calls first
 * @param repeats timed calls (at least one)
 */
public record TimingHarness(int warmup, int repeats) {
  public TimingHarness {
    if (warmup < 0) throw new IllegalArgumentException("warm-up calls must be >= 0, got " + warmup);
    if (repeats < 1) throw new IllegalArgumentException("timed calls must be >= 1, got " + repeats);
  }

  /** Times {@code call}; what it returns is dropped (and freed) after each call. */
  public Timing time(Runnable call) {
    for (int i = 0; i < warmup; i++) once(call);
    double[] seconds = new double[repeats];
    for (int i = 0; i < repeats; i++) seconds[i] = once(call);
    return Timing.of(seconds);
  }

  /** One call in its own pointer scope, without gradients; its wall time in seconds. */
  public static double once(Runnable call) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      long t0 = System.nanoTime();
      call.run();
      return (System.nanoTime() - t0) / 1e9;
    }
  }
}
