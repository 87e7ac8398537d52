package dev.mha2mla.benchmarks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * One JMH invocation of a suite profile: one benchmark method, a grid of parameters (the cross product of the
 * values) and iteration settings. Long calls get few, long iterations; short calls more, short ones.
 *
 * @param benchmark "AttentionBenchmark.forward": class in dev.mha2mla.benchmarks, and method
 * @param warmupMs, iterationMs minimum time of one iteration (an iteration always finishes the call it started)
 */
record JmhRun(String benchmark, Map<String, List<String>> params, int forks, int warmups, long warmupMs, int iterations,
    long iterationMs) {

  static final String PACKAGE = "dev.mha2mla.benchmarks.";

  /** A run with the default iteration settings of its kind: "fast" calls (ms) or "slow" calls (seconds). */
  static Builder of(String benchmark) {
    return new Builder(benchmark);
  }

  static final class Builder {
    private final String benchmark;
    private final Map<String, List<String>> params = new LinkedHashMap<>();
    private int forks = 1;
    private int warmups = 1;
    private long warmupMs = 500;
    private int iterations = 5;
    private long iterationMs = 500;

    Builder(String benchmark) {
      this.benchmark = benchmark;
    }

    Builder param(String name, Object... values) {
      List<String> v = new ArrayList<>();
      for (Object o : values) v.add(String.valueOf(o));
      params.put(name, v);
      return this;
    }

    /** Iterations of at least {@code ms}: {@code warmups} untimed, {@code iterations} timed. */
    Builder iterations(int warmups, long warmupMs, int iterations, long ms) {
      this.warmups = warmups;
      this.warmupMs = warmupMs;
      this.iterations = iterations;
      this.iterationMs = ms;
      return this;
    }

    Builder forks(int forks) {
      this.forks = forks;
      return this;
    }

    JmhRun build() {
      return new JmhRun(benchmark, java.util.Collections.unmodifiableMap(new LinkedHashMap<>(params)), forks, warmups, warmupMs, iterations, iterationMs);
    }
  }

  /** Parameter combinations this run measures. */
  int combinations() {
    int n = 1;
    for (List<String> v : params.values()) n *= v.size();
    return n;
  }

  /**
   * The same run with forks and threads overridden (null = keep) and, for the benchmarks that read them, the fixtures
   * folder and the shipped models' folder as absolute paths (a forked JMH JVM may start in another directory).
   */
  JmhRun with(Integer forks, Integer threads, java.nio.file.Path fixtures, java.nio.file.Path models) {
    Map<String, List<String>> p = new LinkedHashMap<>(params);
    if (threads != null) p.put("threads", List.of(threads.toString()));
    if (benchmark.startsWith("EncoderBenchmark.")) p.put("fixtures", List.of(fixtures.toAbsolutePath().normalize().toString()));
    if (benchmark.startsWith("StreamedModelBenchmark.")) p.put("models", List.of(models.toAbsolutePath().normalize().toString()));
    return new JmhRun(benchmark, p, forks != null ? forks : this.forks, warmups, warmupMs, iterations, iterationMs);
  }

  ChainedOptionsBuilder options(String resultFile, String logFile, boolean failOnError) {
    ChainedOptionsBuilder o = new OptionsBuilder()
        .include("^" + (PACKAGE + benchmark).replace(".", "\\.") + "$")
        .forks(forks)
        .warmupIterations(warmups)
        .warmupTime(TimeValue.milliseconds(warmupMs))
        .measurementIterations(iterations)
        .measurementTime(TimeValue.milliseconds(iterationMs))
        .resultFormat(ResultFormatType.JSON)
        .result(resultFile)
        .shouldFailOnError(failOnError);
    if (logFile != null) o = o.output(logFile).verbosity(VerboseMode.NORMAL);
    for (Map.Entry<String, List<String>> e : params.entrySet()) o = o.param(e.getKey(), e.getValue().toArray(new String[0]));
    return o;
  }

  /** The same measurement as a command line of JMH's own launcher, for RESULTS.md. */
  String commandLine() {
    StringBuilder sb = new StringBuilder("java -cp \"benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)\" org.openjdk.jmh.Main '");
    sb.append(PACKAGE).append(benchmark).append("$'");
    sb.append(String.format(Locale.ROOT, " -f %d -wi %d -w %dms -i %d -r %dms -rf json", forks, warmups, warmupMs, iterations,
        iterationMs));
    for (Map.Entry<String, List<String>> e : params.entrySet()) {
      sb.append(" -p ").append(e.getKey()).append('=').append(String.join(",", e.getValue()));
    }
    return sb.toString();
  }
}
