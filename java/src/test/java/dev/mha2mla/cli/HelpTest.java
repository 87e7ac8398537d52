package dev.mha2mla.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every command's help renders without picocli's format warnings, and the command list shows each command's
 * one-sentence summary whole (the first description line would be cut mid-sentence).
 */
class HelpTest {
  @Test
  void everyCommandHasAWholeOneLineSummary() {
    Map<String, CommandLine> commands = new CommandLine(new Main()).getSubcommands();
    assertThat(commands).containsKeys("transcribe", "convert", "finetune", "evaluate", "synth", "pipeline", "sweep",
        "benchmark", "stream");
    commands.forEach((name, cli) -> {
      if (name.equals("help")) return;
      String[] header = cli.getCommandSpec().usageMessage().header();
      assertThat(header).as(name).hasSize(1);
      assertThat(header[0]).as(name).endsWith(".").hasSizeLessThanOrEqualTo(100);
    });
  }

  @Test
  void everyHelpRendersWithoutWarnings() {
    CliRun top = CliRun.of("--help");
    assertThat(top.code()).isZero();
    assertThat(top.stderr()).doesNotContain("WARN");
    for (String name : new CommandLine(new Main()).getSubcommands().keySet()) {
      CliRun run = CliRun.of(name, "--help");
      assertThat(run.code()).as(name).isZero();
      assertThat(run.stderr()).as(name).doesNotContain("WARN");
    }
  }
}
