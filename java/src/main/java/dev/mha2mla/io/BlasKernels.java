package dev.mha2mla.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FunctionPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The kernel set OpenBLAS runs LibTorch's float32 matrix products with, which sets most of a CPU forward pass's
 * speed. OpenBLAS picks it when it loads, from the CPU, unless the environment variable {@code OPENBLAS_CORETYPE}
 * names one. A machine's environment may pin an older set than the CPU has: this project's own machines set
 * {@code OPENBLAS_CORETYPE=Haswell} (AVX2) on AVX-512 CPUs, where OpenBLAS's own choice ("Cooperlake") runs the
 * flagship forward pass 1.4x faster. Every result file names the set ({@link RunInfo}), and {@link #advice()} says
 * when it is below the CPU's.
 */
@Platform(include = {"<dlfcn.h>"}, link = "dl")
public final class BlasKernels {
  /** The environment variable OpenBLAS reads when it loads. */
  public static final String VARIABLE = "OPENBLAS_CORETYPE";
  private static final Set<String> AVX512 = Set.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");
  /** OpenBLAS's x86-64 kernel sets that use AVX-512. */
  private static final Set<String> AVX512_SETS = Set.of("skylakex", "cooperlake", "sapphirerapids");
  private static final int RTLD_LAZY = 0x1;
  private static final int RTLD_NOLOAD = 0x4;

  static {
    Loader.load();
  }

  private BlasKernels() {}

  /** The name OpenBLAS gives the kernel set it runs, or "not loaded" before LibTorch has loaded it. */
  public static String inUse() {
    for (String library : new String[] {"libopenblas.so.0", "libopenblas.so"}) {
      Pointer handle = dlopen(library, RTLD_LAZY | RTLD_NOLOAD);
      if (handle == null || handle.isNull()) continue;
      try (CoreName function = dlsym(handle, "openblas_get_corename")) {
        if (function != null && !function.isNull()) return function.call().getString();
      } finally {
        dlclose(handle);
      }
    }
    return "not loaded";
  }

  /** The set in use, and whether the environment chose it: "Haswell (OPENBLAS_CORETYPE=Haswell)". */
  public static String describe() {
    String pinned = System.getenv(VARIABLE);
    return inUse() + (pinned == null ? " (OpenBLAS's choice)" : " (" + VARIABLE + "=" + pinned + ")");
  }

  /**
   * A note for a user timing this machine where the environment pins a kernel set without AVX-512 on a CPU that has
   * it, else null.
   */
  public static String advice() {
    String pinned = System.getenv(VARIABLE);
    String kernels = inUse();
    if (pinned == null || !belowCpu(kernels, cpuFlags())) return null;
    return "OpenBLAS runs its " + kernels + " kernels because " + VARIABLE + "=" + pinned + " is set, on a CPU with"
        + " AVX-512: matrix products run slower than with OpenBLAS's own choice (unset " + VARIABLE + " for it)";
  }

  /** Whether a kernel set without AVX-512 runs on a CPU whose /proc/cpuinfo flags include AVX-512 F, CD, BW, DQ, VL. */
  static boolean belowCpu(String kernels, Set<String> flags) {
    return flags.containsAll(AVX512) && !AVX512_SETS.contains(kernels.toLowerCase(java.util.Locale.ROOT));
  }

  static Set<String> cpuFlags() {
    Path cpuinfo = Path.of("/proc/cpuinfo");
    if (!Files.isReadable(cpuinfo)) return Set.of();
    try (Stream<String> lines = Files.lines(cpuinfo)) {
      return lines.filter(line -> line.startsWith("flags"))
          .findFirst()
          .map(line -> Arrays.stream(line.substring(line.indexOf(':') + 1).trim().split("\\s+"))
              .collect(Collectors.toUnmodifiableSet()))
          .orElse(Set.of());
    } catch (IOException | RuntimeException e) {
      return Set.of();
    }
  }

  private static native Pointer dlopen(String file, int mode);

  /** The symbol's address, cast to the function's type and wrapped by JavaCPP as a function it can call. */
  @Name("(const char* (*)(void)) dlsym")
  private static native CoreName dlsym(Pointer handle, String symbol);

  private static native int dlclose(Pointer handle);

  /** {@code const char* openblas_get_corename(void)}. */
  static final class CoreName extends FunctionPointer {
    static {
      Loader.load();
    }

    CoreName(Pointer address) {
      super(address);
    }

    native @Cast("const char*") BytePointer call();

    @Override
    public void close() {
      deallocate();
    }
  }
}
