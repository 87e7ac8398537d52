package dev.mha2mla.io;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Where and how a result was produced; every JSON file the tool writes carries one.
 *
 * @param commandLine the mha2mla arguments, or the caller's description when used as a library
 * @param blasKernels the kernel set OpenBLAS runs LibTorch's float32 matrix products with, and who chose it
 * @param environment the variables of {@link #PERFORMANCE_VARIABLES} that are set, in that order: native libraries read
 *     them when they load, and each changes speed or memory (the launcher sets three of them)
 * @param malloc when glibc's malloc hands freed memory back to the kernel ({@link Malloc#describe()})
 */
public record RunInfo(
    String createdAt,
    String commandLine,
    String gitCommit,
    String mha2mlaVersion,
    String javaVersion,
    String libtorchVersion,
    String os,
    String cpu,
    String blasKernels,
    Map<String, String> environment,
    String malloc,
    int cpuCores,
    long memoryBytes,
    String device) {

  /**
   * Environment variables that change a run's speed or memory: glibc's malloc (huge pages, arenas, when memory goes
   * back to the kernel), libgomp's waiting (OpenMP threads spin or sleep between parallel regions), OpenBLAS's kernel
   * set, threads and how long its workers spin after a product.
   */
  public static final List<String> PERFORMANCE_VARIABLES = List.of("GLIBC_TUNABLES", "MALLOC_ARENA_MAX",
      "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "OMP_WAIT_POLICY",
      "GOMP_SPINCOUNT", "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT");

  private static volatile String currentCommandLine = "(library call)";

  /** Set once by the CLI so every file written in this process names the command that made it. */
  public static void setCommandLine(List<String> args) {
    currentCommandLine = "mha2mla " + String.join(" ", args);
  }

  public static RunInfo capture(String device) {
    long memory = -1;
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      memory = os.getTotalMemorySize();
    }
    String version = RunInfo.class.getPackage().getImplementationVersion();
    return new RunInfo(Instant.now().toString(), currentCommandLine, headCommit(), version == null ? "development" : version,
        System.getProperty("java.version"), "2.10.0 (org.bytedeco:pytorch 2.10.0-1.5.13)",
        System.getProperty("os.name") + " " + System.getProperty("os.version"), cpuModel(), BlasKernels.describe(),
        performanceVariables(System.getenv()), Malloc.describe(), Runtime.getRuntime().availableProcessors(), memory, device);
  }

  /** The entries of {@code env} named in {@link #PERFORMANCE_VARIABLES}, in that order. */
  public static Map<String, String> performanceVariables(Map<String, String> env) {
    Map<String, String> set = new LinkedHashMap<>();
    for (String name : PERFORMANCE_VARIABLES) {
      String value = env.get(name);
      if (value != null) set.put(name, value);
    }
    return set;
  }

  /** {@code NAME=value} pairs of {@link #environment()} joined by commas, or "none set". */
  public static String describe(Map<String, String> environment) {
    if (environment == null || environment.isEmpty()) return "none set";
    StringBuilder sb = new StringBuilder();
    environment.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append('=').append(v));
    return sb.toString();
  }

  private static String cpuModel() {
    try {
      for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: fall through
    }
    return System.getProperty("os.arch");
  }

  /** HEAD of the checkout the running jar was built in, or "unknown". */
  private static String headCommit() {
    try {
      Path where = Path.of(RunInfo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path dir = java.nio.file.Files.isDirectory(where) ? where : where.getParent();
      Process p = new ProcessBuilder("git", "-C", dir.toString(), "rev-parse", "HEAD").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0 && out.matches("[0-9a-f]{40}")) return out;
    } catch (Exception e) {
      // no git, or not a checkout
    }
    return "unknown";
  }
}
