package dev.mha2mla.eval.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.Pointer;

/**
 * Resident memory of this process as the kernel counts it ({@code /proc/self/status}): LibTorch tensors,
 * kernel scratch and the JVM together, which is what a deployment pays for. The JVM heap alone would miss
 * every tensor, since tensors live in native memory.
 *
 * <p>Peak around a call: return freed heap to the OS ({@code malloc_trim}), read VmRSS (the baseline), reset
 * the peak counter VmHWM to the current size (write 5 to {@code /proc/self/clear_refs}, Linux 4.0+), run the
 * call, read VmHWM. Where the reset is not allowed, a thread samples VmRSS every 0.2 ms instead (it can miss a
 * peak shorter than that). Memory the allocator keeps after a free and hands out again is not counted twice,
 * so the increase is a lower bound on what the call allocated and an upper bound's worth of what it must hold.
 */
public final class NativeMemory {
  private static final Path STATUS = Path.of("/proc/self/status");
  private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

  private NativeMemory() {}

  /**
   * Resident memory around one call.
   *
   * @param baselineBytes VmRSS just before the call
   * @param peakBytes the most resident memory seen while it ran
   * @param method "vmhwm-reset" (exact peak) or "vmrss-sampling" (sampled every 0.2 ms)
   */
  public record Peak(long baselineBytes, long peakBytes, String method) {
    /** Peak above the baseline: the extra memory the call needed at its worst moment. */
    public long increaseBytes() {
      return Math.max(0, peakBytes - baselineBytes);
    }
  }

  /** True on Linux, where /proc/self/status exists. */
  public static boolean supported() {
    return Files.isReadable(STATUS);
  }

  /**
   * Bytes the C allocator has handed out and not taken back (glibc's mallinfo2: LibTorch's CPU tensors, kernel
   * scratch, streaming caches), or -1 where unknown. Unlike {@link #residentBytes()} it does not move with the JVM
   * heap, so a leak test can compare it over thousands of calls.
   */
  public static long mallocInUseBytes() {
    return dev.mha2mla.kernels.FusedAttention.available() ? dev.mha2mla.kernels.NativeKernels.mla_malloc_in_use_bytes() : -1;
  }

  /** VmRSS: resident set size now, bytes. */
  public static long residentBytes() {
    return field(readStatus(), "VmRSS");
  }

  /** VmHWM: the most resident memory since start (or since the last {@link #resetPeak}), bytes. */
  public static long peakResidentBytes() {
    return field(readStatus(), "VmHWM");
  }

  /** Resets VmHWM to the current resident size; false where the kernel does not allow it. */
  public static boolean resetPeak() {
    try {
      Files.writeString(CLEAR_REFS, "5");
      return true;
    } catch (IOException | SecurityException | UnsupportedOperationException e) {
      return false;
    }
  }

  /** The peak resident memory while {@code call} runs (see the class comment for the method). */
  public static Peak measure(Runnable call) {
    if (!supported()) throw new IllegalStateException("peak memory needs Linux /proc/self/status");
    Pointer.trimMemory();
    long baseline = residentBytes();
    if (resetPeak()) {
      call.run();
      return new Peak(baseline, Math.max(baseline, peakResidentBytes()), "vmhwm-reset");
    }
    AtomicLong peak = new AtomicLong(baseline);
    Thread sampler = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        peak.accumulateAndGet(residentBytes(), Math::max);
        try {
          Thread.sleep(0, 200_000);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "rss-sampler");
    sampler.setDaemon(true);
    sampler.start();
    try {
      call.run();
    } finally {
      sampler.interrupt();
      try {
        sampler.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    peak.accumulateAndGet(residentBytes(), Math::max);
    return new Peak(baseline, peak.get(), "vmrss-sampling");
  }

  /** A "Name:   1234 kB" field of /proc/self/status, in bytes. */
  static long field(String status, String name) {
    for (String line : status.split("\n")) {
      if (line.startsWith(name + ":")) {
        String[] parts = line.substring(name.length() + 1).trim().split("\\s+");
        long value = Long.parseLong(parts[0]);
        if (parts.length > 1 && parts[1].equalsIgnoreCase("kB")) value *= 1024;
        return value;
      }
    }
    throw new IllegalStateException("/proc/self/status has no " + name + " line");
  }

  private static String readStatus() {
    try {
      return Files.readString(STATUS);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + STATUS + ": " + e.getMessage(), e);
    }
  }
}
