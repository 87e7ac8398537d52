package dev.mha2mla.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.eval.bench.ModelBenchmark;
import dev.mha2mla.eval.bench.TimingHarness;
import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RunInfo;
import dev.mha2mla.model.CpuThreads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.openjdk.jmh.runner.Runner;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the JMH suite in one profile and writes, into {@code --out}: {@code jmh.json} (JMH's own results, every run
 * concatenated), {@code summary.json} (medians, spreads, roofline points, MLA/MHA ratios of this run, memory,
 * the goals of {@link SuiteSummary.Target} and whether they were reached), the PNG plots and {@code RESULTS.md}. {@code benchmarks/bench} is the launcher.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = {
    "Run the mha2mla JMH suite and write jmh.json, summary.json, plots and RESULTS.md.",
    "Profiles: smoke (CI, tiny shapes, seconds), publish (the results in benchmarks/results, ~20 min on 2 cores),",
    "full (the whole grid: T = 100..3000, batch 1/4/8, both shapes; hours on 2 cores)."})
public final class Publish implements Callable<Integer> {
  /** This process's command line, as typed (for RESULTS.md). */
  private static String COMMAND_LINE = "benchmarks/bench";

  @Option(names = "--profile", defaultValue = "smoke", description = "smoke, publish or full. Default: ${DEFAULT-VALUE}.")
  String profile;

  @Option(names = "--out", required = true, description = "Output folder (created; files in it are replaced).")
  Path out;

  @Option(names = "--fixtures", defaultValue = "java/src/test/resources/fixtures", description = "Fixtures folder (conformer-tiny). Default: ${DEFAULT-VALUE}.")
  Path fixtures;

  @Option(names = "--models", defaultValue = "models", description = "The repository's models folder (the shipped models). Default: ${DEFAULT-VALUE}.")
  Path models;

  @Option(names = "--forks", description = "JMH forks per case (default: the profile's; 0 runs every case in this JVM).")
  Integer forks;

  @Option(names = "--threads", description = "CPU threads for LibTorch and the kernels (default: all cores).")
  Integer threads;

  @Option(names = "--only", description = "Run only the JMH runs whose benchmark matches this regex (e.g. 'Streaming|Ceilings').")
  String only;

  @Option(names = "--no-memory", negatable = false, description = "Skip the peak-memory probes.")
  boolean noMemory;

  @Option(names = "--dry-run", negatable = false, description = "Print the JMH runs of the profile (as command lines) and stop.")
  boolean dryRun;

  @Option(names = "--merge-from", description = "With --only: keep the results of an earlier run in this folder (jmh.json, summary.json) "
      + "for every benchmark --only does not select, and replace the selected ones.")
  Path mergeFrom;

  @Option(names = "--render-only", negatable = false,
      description = "Measure nothing: rebuild summary.json, the plots and RESULTS.md from --out's jmh.json and summary.json.")
  boolean renderOnly;

  @Option(names = "--note", description = "A line for RESULTS.md (repeatable), e.g. the machine's load.")
  List<String> notes = new ArrayList<>();

  public static void main(String[] args) {
    List<String> line = new ArrayList<>();
    line.add("[benchmarks/bench]");
    line.addAll(List.of(args));
    RunInfo.setCommandLine(line);
    StringBuilder shell = new StringBuilder("benchmarks/bench");
    for (String a : args) shell.append(' ').append(a.matches("[\\w./=:,-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
    COMMAND_LINE = shell.toString();
    System.exit(new CommandLine(new Publish()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    long start = System.nanoTime();
    if (renderOnly) return render();
    Files.createDirectories(out);
    Path work = Files.createTempDirectory("mha2mla-jmh");
    SuitePlan plan = SuitePlan.named(profile);
    boolean smoke = profile.equals("smoke");
    List<String> commands = new ArrayList<>();
    commands.add(COMMAND_LINE);
    commands.add("# equivalent JMH invocations, one per run:");
    List<String> lines = new ArrayList<>(notes);
    lines.add("Commit: " + gitDescription());
    lines.add("Load average at start: " + loadAverage());
    ArrayNode merged = Json.MAPPER.createArrayNode();
    JsonNode earlier = null;
    if (mergeFrom != null) {
      if (only == null) throw new IllegalArgumentException("--merge-from needs --only (which benchmarks to re-run)");
      earlier = Json.MAPPER.readTree(mergeFrom.resolve("summary.json").toFile());
      int kept = 0;
      for (JsonNode r : Json.MAPPER.readTree(mergeFrom.resolve("jmh.json").toFile())) {
        String name = r.path("benchmark").asText().replace(JmhRun.PACKAGE, "");
        if (!name.matches(".*(" + only + ").*")) {
          merged.add(r);
          kept++;
        }
      }
      lines.add(String.format(Locale.ROOT, "Merged run: %d results kept from the run of %s (%s); benchmarks matching '%s' re-run now.",
          kept, earlier.path("run").path("created_at").asText(), mergeFrom, only));
    }
    List<JmhRun> runs = plan.runs().stream().filter(r -> only == null || r.benchmark().matches(".*(" + only + ").*")).toList();
    int cases = runs.stream().mapToInt(JmhRun::combinations).sum();
    System.err.printf(Locale.ROOT, "bench: profile %s, %d JMH runs, %d cases; log in %s%n", profile, runs.size(), cases, out.resolve("jmh.log"));
    if (dryRun) {
      for (JmhRun r : runs) System.out.println(r.with(forks, threads, fixtures, models).commandLine());
      return 0;
    }
    Path log = out.resolve("jmh.log");
    if (mergeFrom == null) Files.deleteIfExists(log); // a merged run appends to the earlier log
    int done = 0;
    for (int i = 0; i < runs.size(); i++) {
      JmhRun run = runs.get(i).with(forks, threads, fixtures, models);
      commands.add(run.commandLine());
      Path result = work.resolve("run-" + i + ".json");
      Path runLog = work.resolve("run-" + i + ".log");
      long t0 = System.nanoTime();
      try {
        new Runner(run.options(result.toString(), runLog.toString(), smoke).build()).run();
      } catch (Exception e) {
        if (smoke) throw e;
        System.err.println("bench: " + run.benchmark() + " failed: " + e.getMessage() + " (see jmh.log)");
      }
      if (Files.exists(runLog)) Files.writeString(log, Files.readString(runLog), java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
      int got = 0;
      if (Files.exists(result) && Files.size(result) > 0) {
        for (JsonNode r : Json.MAPPER.readTree(result.toFile())) {
          merged.add(r);
          got++;
        }
      }
      done += run.combinations();
      System.err.printf(Locale.ROOT, "bench: [%d/%d] %s %s: %d results in %.0f s (%.0f s so far)%n", done, cases, run.benchmark(),
          run.params(), got, (System.nanoTime() - t0) / 1e9, (System.nanoTime() - start) / 1e9);
      if (got < run.combinations()) lines.add("Missing results (failed or skipped, see jmh.log): " + run.benchmark() + " " + run.params());
    }
    AtomicFiles.writeString(out.resolve("jmh.json"), Json.MAPPER.writeValueAsString(merged) + "\n");

    MemoryReport memory = memory(plan, earlier);
    lines.add("Load average at end: " + loadAverage());
    RunInfo info = RunInfo.capture("cpu");
    lines.add(String.format(Locale.ROOT, "Total wall time of this run: %.1f min.", (System.nanoTime() - start) / 60e9));
    SuiteSummary summary = SuiteSummary.build(merged, memory, info, profile, lines, commands);
    List<String> plots = write(summary);
    System.err.printf(Locale.ROOT, "bench: wrote %s (jmh.json, summary.json, RESULTS.md, %d plots) in %.1f min%n", out, plots.size(),
        (System.nanoTime() - start) / 60e9);
    for (SuiteSummary.Target t : summary.targets()) {
      System.err.println("  " + (t.reached() == null ? "-  " : t.reached() ? "ok " : "NO ") + t.name() + ": " + t.measured());
    }
    return 0;
  }

  /** summary.json, the plots and RESULTS.md (with findings.md from --out appended, if there is one). */
  private List<String> write(SuiteSummary summary) throws Exception {
    Json.write(out.resolve("summary.json"), summary);
    List<String> plots = Plots.write(summary, out);
    Path findings = out.resolve("findings.md");
    AtomicFiles.writeString(out.resolve("RESULTS.md"), ResultsMarkdown.render(summary, plots,
        Files.exists(findings) ? Files.readString(findings) : null));
    return plots;
  }

  /** --render-only: the summary rebuilt from the stored JMH results and memory report, with this build's code. */
  private int render() throws Exception {
    JsonNode jmh = Json.MAPPER.readTree(out.resolve("jmh.json").toFile());
    JsonNode old = Json.MAPPER.readTree(out.resolve("summary.json").toFile());
    MemoryReport memory = old.hasNonNull("memory") ? Json.MAPPER.treeToValue(old.get("memory"), MemoryReport.class) : null;
    RunInfo run = Json.MAPPER.treeToValue(old.get("run"), RunInfo.class);
    List<String> lines = new ArrayList<>();
    for (JsonNode n : old.path("notes")) lines.add(n.asText());
    lines.addAll(notes);
    List<String> commands = new ArrayList<>();
    for (JsonNode n : old.path("commands")) commands.add(n.asText());
    if (commands.isEmpty()) {
      // a summary written before commands were stored: the profile's runs with this invocation's options
      commands.add("# the profile's JMH invocations:");
      SuitePlan.named(old.path("profile").asText(profile)).runs().stream()
          .filter(r -> only == null || r.benchmark().matches(".*(" + only + ").*"))
          .forEach(r -> commands.add(r.with(forks, threads, fixtures, models).commandLine()));
    }
    SuiteSummary summary = SuiteSummary.build(jmh, memory, run, old.path("profile").asText(profile), lines, commands);
    List<String> plots = write(summary);
    System.err.printf(Locale.ROOT, "bench: re-rendered %s (summary.json, RESULTS.md, %d plots) from its jmh.json%n", out, plots.size());
    return 0;
  }

  private MemoryReport memory(SuitePlan plan, JsonNode earlier) throws Exception {
    CpuThreads.configure(threads == null ? 0 : threads);
    List<MemoryReport.CachePerFrame> perFrame = new ArrayList<>();
    List<MemoryReport.Budget> budget = new ArrayList<>();
    for (AttentionShape s : new AttentionShape[] {AttentionShape.FLAGSHIP, AttentionShape.SMALL}) {
      MemoryReport.CachePerFrame c = MemoryReport.cachePerFrame(s);
      perFrame.add(c);
      if (s == AttentionShape.FLAGSHIP) budget.addAll(MemoryReport.budget(c, 24, ModelBenchmark.WINDOW_FRAMES, ModelBenchmark.BUDGET_BYTES));
    }
    List<MemoryReport.PeakRow> peaks = new ArrayList<>();
    if (earlier != null) {
      for (JsonNode row : earlier.path("memory").path("peaks")) {
        MemoryReport.PeakRow r = Json.MAPPER.treeToValue(row, MemoryReport.PeakRow.class);
        if (!MemoryProbe.benchmarkOf(r.group()).matches(".*(" + only + ").*")) peaks.add(r);
      }
    }
    if (!noMemory) {
      for (MemoryProbe p : plan.probes()) {
        if (only != null && !MemoryProbe.benchmarkOf(p.group()).matches(".*(" + only + ").*")) continue;
        try {
          peaks.add(p.run(fixtures));
        } catch (Exception | OutOfMemoryError e) {
          if (profile.equals("smoke")) throw e;
          System.err.println("bench: memory probe " + p + " failed: " + e);
        }
      }
    }
    return new MemoryReport(perFrame, budget, peaks);
  }

  /** HEAD of the checkout this runs in, and whether the working tree differs from it. */
  private static String gitDescription() {
    try {
      Process head = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
      String commit = new String(head.getInputStream().readAllBytes()).trim();
      Process status = new ProcessBuilder("git", "status", "--porcelain", "--untracked-files=no").redirectErrorStream(true).start();
      boolean dirty = !new String(status.getInputStream().readAllBytes()).isBlank();
      if (head.waitFor() != 0) return "unknown (not a git checkout)";
      status.waitFor();
      return commit + (dirty ? " with uncommitted changes" : "");
    } catch (Exception e) {
      return "unknown";
    }
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (Exception e) {
      return "unknown";
    }
  }
}
