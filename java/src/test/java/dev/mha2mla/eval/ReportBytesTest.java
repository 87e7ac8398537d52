package dev.mha2mla.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.cli.Main;
import dev.mha2mla.io.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The same evaluation run twice writes the same report, byte for byte, apart from what measures time. */
class ReportBytesTest {
  @TempDir Path dir;

  // fields that hold durations, speeds or clock times: they differ between any two runs
  private static final Pattern TIMING = Pattern.compile(
      "^\\s*\"[a-z_]*(seconds|real_time_factor|time|created_at|started|finished|date|rtf)[a-z_]*\" : .*$");

  @Test
  void twoRunsOfOneEvaluationWriteIdenticalBytesOutsideTimings() throws Exception {
    Files.copy(Fixtures.conformerTiny().resolve("audio.wav"), dir.resolve("audio.wav"));
    Files.copy(Fixtures.conformerTiny().resolve("audio1.wav"), dir.resolve("audio1.wav"));
    Path tsv = Files.writeString(dir.resolve("set.tsv"), "audio.wav\tR\naudio1.wav\tRED\n");
    // one command line (it is recorded in the report), run twice
    Path out = dir.resolve("eval.json");
    Path a = dir.resolve("first.json");
    Path b = dir.resolve("second.json");
    for (Path kept : List.of(a, b)) {
      assertThat(Main.run("evaluate", "--model", Fixtures.conformerTiny().toString(), "--data", tsv.toString(),
          "--out", out.toString())).isZero();
      Files.move(out, kept);
    }
    List<String> first = withoutTimings(Files.readAllLines(a));
    List<String> second = withoutTimings(Files.readAllLines(b));
    assertThat(second).isEqualTo(first);
    // and the order does not depend on reflection: record components in declaration order, then computed
    // properties by name, at the top level and in the nested word counts
    assertThat(keys(first, "  \"")).isEqualTo(expectedOrder(EvaluationReport.class, keys(first, "  \"")));
    int words = first.indexOf("  \"words\" : {");
    List<String> wordKeys = keys(first.subList(words + 1, first.size()), "    \"").subList(0, 7);
    assertThat(wordKeys).containsExactly("substitutions", "deletions", "insertions", "reference_length", "errors",
        "hits", "rate");
  }

  private static List<String> expectedOrder(Class<? extends Record> type, List<String> written) {
    var snake = new com.fasterxml.jackson.databind.PropertyNamingStrategies.SnakeCaseStrategy();
    List<String> components = java.util.Arrays.stream(type.getRecordComponents())
        .map(c -> snake.translate(c.getName())).filter(written::contains).toList();
    List<String> rest = written.stream().filter(k -> !components.contains(k)).sorted().toList();
    List<String> all = new java.util.ArrayList<>(components);
    all.addAll(rest);
    return all;
  }

  private static List<String> keys(List<String> lines, String indent) {
    return lines.stream().filter(l -> l.startsWith(indent) && !l.startsWith(indent + " "))
        .map(l -> l.substring(indent.length(), l.indexOf('"', indent.length()))).toList();
  }

  private static List<String> withoutTimings(List<String> lines) {
    return lines.stream().filter(l -> !TIMING.matcher(l).matches()).toList();
  }

  @Test
  void mapsAreWrittenInKeyOrder() throws Exception {
    Map<String, Integer> unordered = new java.util.HashMap<>();
    for (String k : new String[] {"zeta", "alpha", "mu", "beta", "omega"}) unordered.put(k, k.length());
    assertThat(dev.mha2mla.io.Json.MAPPER.writeValueAsString(unordered))
        .isEqualTo(dev.mha2mla.io.Json.MAPPER.writeValueAsString(new TreeMap<>(unordered)));
  }
}
