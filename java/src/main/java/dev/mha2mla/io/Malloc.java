package dev.mha2mla.io;

import java.util.Map;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.MemberGetter;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * When glibc's malloc hands freed memory back to the kernel, for the whole process. LibTorch allocates a forward
 * pass's activations with malloc and frees them when the pass ends. By default glibc adapts two thresholds to the
 * history of frees: blocks above the mmap threshold are mapped and unmapped one by one, and a heap whose free top
 * exceeds the trim threshold is shrunk. Which values a process ends with depends on the order of its first frees,
 * so one process keeps its activations' pages and the next returns them after every pass and faults them in again:
 * the shipped model's 10 s pass took 46-48 ms in every process with fixed thresholds ({@link #retainFreedMemory})
 * and 50-158 ms with glibc's own, from process to process.
 *
 * <p>Fixed thresholds are not for every model: blocks under the mmap threshold come from malloc's heaps on small
 * pages, and a model with weight matrices of several MiB runs its products 5-7% slower from there than from mappings
 * of their own, which get transparent huge pages under {@code glibc.malloc.hugetlb=1}. So the model decides
 * ({@code ConformerCtcModel}: only when every weight tensor is smaller than a huge page). The setting is one-way:
 * glibc cannot be returned to its adaptive thresholds.
 */
@Platform(include = "<malloc.h>")
public final class Malloc {
  /**
   * Blocks from this size up are mapped on their own: glibc's ceiling for its adaptive threshold on 64-bit systems, so
   * every block glibc could ever keep in a heap is kept there (the shipped model's largest activation, the first
   * convolution's output, is 8 MiB at 10 s and 24 MiB at 30 s).
   */
  public static final int MMAP_THRESHOLD = 32 << 20;
  /** Up to this much free memory at the top of a heap stays mapped for the next pass. */
  public static final int TRIM_THRESHOLD = 256 << 20;
  /** The system property that, set to "adaptive", leaves glibc's thresholds alone (for comparisons). */
  public static final String PROPERTY = "mha2mla.malloc";
  /** Settings by which the environment fixes the thresholds itself: then they are left as it says. */
  private static final String[] TUNABLES = {"glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold"};
  private static final String[] VARIABLES = {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"};

  private static final String ADAPTIVE = "glibc's adaptive thresholds";
  private static String state = ADAPTIVE;

  static {
    Loader.load();
  }

  private Malloc() {}

  /**
   * Fixes the mmap threshold at {@link #MMAP_THRESHOLD} and the trim threshold at {@link #TRIM_THRESHOLD}, once,
   * unless the environment already fixes either (GLIBC_TUNABLES or glibc's MALLOC_*_THRESHOLD_ variables) or the
   * system property {@value #PROPERTY} is "adaptive".
   *
   * @return what now holds, as {@link #describe()} says it
   */
  public static synchronized String retainFreedMemory() {
    if (!state.equals(ADAPTIVE)) return state;
    String fixedBy = fixedBy(System.getenv());
    if (fixedBy != null) {
      state = "as " + fixedBy + " sets it";
    } else if ("adaptive".equals(System.getProperty(PROPERTY))) {
      state = ADAPTIVE + " (-D" + PROPERTY + "=adaptive)";
    } else if (mallopt(M_MMAP_THRESHOLD(), MMAP_THRESHOLD) == 1 && mallopt(M_TRIM_THRESHOLD(), TRIM_THRESHOLD) == 1) {
      state = "mmap threshold " + (MMAP_THRESHOLD >> 20) + " MiB, trim threshold " + (TRIM_THRESHOLD >> 20) + " MiB";
    } else {
      state = "the C library refused fixed thresholds: its own";
    }
    return state;
  }

  /** The thresholds in force: glibc's adaptive ones, the fixed ones, or the environment's. */
  public static synchronized String describe() {
    String fixedBy = fixedBy(System.getenv());
    return fixedBy != null ? "as " + fixedBy + " sets it" : state;
  }

  /** The environment's setting that fixes a threshold ("GLIBC_TUNABLES=..."), or null when none does. */
  static String fixedBy(Map<String, String> env) {
    String tunables = env.getOrDefault("GLIBC_TUNABLES", "");
    for (String t : TUNABLES) if (tunables.contains(t + "=")) return "GLIBC_TUNABLES=" + tunables;
    for (String v : VARIABLES) if (env.get(v) != null) return v + "=" + env.get(v);
    return null;
  }

  @MemberGetter
  private static native int M_MMAP_THRESHOLD();

  @MemberGetter
  private static native int M_TRIM_THRESHOLD();

  private static native int mallopt(int param, int value);
}
