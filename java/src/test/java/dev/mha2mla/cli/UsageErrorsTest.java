package dev.mha2mla.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.io.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad usage exits 2 on every command, whatever is wrong: an unknown option, a value of the wrong type, or a value
 * out of its range (sizes below 1, negative counts, unknown choices). The message names the option, and nothing is
 * written: every case has real input files, so the bad value is the only thing wrong.
 */
class UsageErrorsTest {
  @TempDir static Path temp;

  static Stream<Arguments> cases() {
    String model = Fixtures.conformerTiny().toString();
    String audio = Fixtures.conformerTiny().resolve("audio.wav").toString();
    String out = "OUT";
    List<Arguments> c = new ArrayList<>();
    add(c, "--bogus", "transcribe", "--model", model, "--bogus", audio);
    add(c, "--batch-size", "transcribe", "--model", model, "--batch-size", "0", audio);
    add(c, "--batch-size", "transcribe", "--model", model, "--batch-size", "many", audio);
    add(c, "--device", "transcribe", "--model", model, "--device", "tpu", audio);
    add(c, "--latent-dim", "convert", "--model", model, "--out", out, "--latent-dim", "0");
    add(c, "--latent-dim", "convert", "--model", model, "--out", out, "--latent-dim", "-3");
    add(c, "--method", "convert", "--model", model, "--out", out, "--method", "diagonal");
    add(c, "--cache-budget", "convert", "--model", model, "--out", out, "--cache-budget", "0.7");
    add(c, "--cache-budget", "convert", "--model", model, "--out", out, "--cache-budget", "0.0001");
    add(c, "--cache-budget", "convert", "--model", model, "--out", out, "--cache-budget", "0.1", "--latent-dim", "8");
    add(c, "--cache-budget", "convert", "--model", model, "--out", out, "--cache-budget", "0.1", "--method", "split");
    add(c, "--ridge", "convert", "--model", model, "--out", out, "--ridge", "-1", "--whiten", "--calibration", audio);
    add(c, "--limit", "evaluate", "--model", model, "--data", audio, "--out", out, "--limit", "0");
    add(c, "--stream-chunk", "evaluate", "--model", model, "--data", audio, "--out", out, "--stream-chunk", "0");
    add(c, "--chunk", "stream", "--model", model, "--chunk", "0", audio);
    add(c, "--left-context", "stream", "--model", model, "--left-context", "-1", audio);
    add(c, "--feed-ms", "stream", "--model", model, "--feed-ms", "0", audio);
    add(c, "--cache", "stream", "--model", model, "--cache", "huge", audio);
    add(c, "--cache", "evaluate", "--model", model, "--data", audio, "--out", out, "--stream-chunk", "4", "--cache", "kv2");
    add(c, "--device", "evaluate", "--model", model, "--data", audio, "--out", out, "--device", "tpu");
    add(c, "--device", "convert", "--model", model, "--out", out, "--device", "gpu0");
    add(c, "--count", "synth", "--out", out, "--count", "0", "--seed", "1");
    add(c, "--vocabulary-size", "synth", "--out", out, "--count", "10", "--seed", "1", "--vocabulary-size", "0");
    add(c, "--batch-size", "finetune", "--model", model, "--train", audio, "--valid", audio, "--out", out, "--batch-size", "0");
    add(c, "--train-scope", "finetune", "--model", model, "--train", audio, "--valid", audio, "--out", out, "--train-scope",
        "heads");
    add(c, "--latent-form", "benchmark", "--model", model, "--latent-form", "folded");
    add(c, "--attention", "transcribe", "--model", model, "--attention", "cuda", audio);
    add(c, "--lr", "finetune", "--model", model, "--train", audio, "--valid", audio, "--out", out, "--lr", "-1");
    add(c, "--chunks", "finetune", "--model", model, "--train", audio, "--valid", audio, "--out", out, "--streaming",
        "--chunks", "0,4");
    add(c, "--seconds", "benchmark", "--model", model, "--seconds", "0");
    add(c, "--repeats", "benchmark", "--model", model, "--repeats", "0");
    add(c, "--threads", "benchmark", "--model", model, "--threads", "-2");
    add(c, "--latent-dim", "pipeline", "quick", "--results", out, "--latent-dim", "0");
    add(c, "--stream-chunks", "pipeline", "quick", "--results", out, "--stream-chunks", "0,4");
    add(c, "quick|full", "pipeline", "medium", "--results", out);
    add(c, "--cache-budget", "pipeline", "quick", "--results", out, "--cache-budget", "0.9");
    String data = Fixtures.conformerTiny().toString();
    add(c, "--cache-budgets", "sweep", "--model", model, "--train", data, "--valid", data, "--test", data, "--results", out,
        "--cache-budgets", "0.125,0.6");
    add(c, "--cache-budgets", "sweep", "--model", model, "--train", data, "--valid", data, "--test", data, "--results", out,
        "--cache-budgets", "an eighth");
    add(c, "unknown method", "sweep", "--model", model, "--train", data, "--valid", data, "--test", data, "--results", out,
        "--methods", "uniform-plain,random");
    add(c, "--steps", "sweep", "--model", model, "--train", data, "--valid", data, "--test", data, "--results", out,
        "--steps", "0");
    return c.stream();
  }

  private static void add(List<Arguments> cases, String named, String... args) {
    cases.add(Arguments.of(String.join(" ", args).replace(Fixtures.root().toString(), "FIXTURES"), named, args));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void exitsTwoNamingTheOptionAndWritesNothing(String shown, String named, String[] args) throws Exception {
    Path dir = Files.createTempDirectory(temp, "case");
    Path out = dir.resolve("out");
    String[] resolved = java.util.Arrays.stream(args).map(a -> a.equals("OUT") ? out.toString() : a).toArray(String[]::new);
    CliRun run = CliRun.of(resolved);
    assertThat(run.code()).as(run.stderr()).isEqualTo(2);
    assertThat(run.stderr()).contains(named.contains("|") ? named.split("\\|")[0] : named);
    assertThat(out).doesNotExist();
  }
}
