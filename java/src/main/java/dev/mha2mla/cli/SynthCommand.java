package dev.mha2mla.cli;

import dev.mha2mla.data.synth.CorpusDescription;
import dev.mha2mla.data.synth.CorpusPlan;
import dev.mha2mla.data.synth.SpeechTools;
import dev.mha2mla.data.synth.Splits;
import dev.mha2mla.data.synth.SyntheticCorpus;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code mha2mla synth}: a synthetic (espeak-ng) speech corpus in the LibriSpeech layout. */
@Command(
    name = "synth",
    header = "Make a synthetic (espeak-ng, robotic) English speech corpus in the LibriSpeech layout.",
    mixinStandardHelpOptions = true,
    description = {
      "Make a synthetic (espeak-ng, robotic) English speech corpus in the LibriSpeech layout.",
      "",
      "Sentences of 4-12 words from a closed vocabulary of common words are spoken",
      "by the espeak-ng synthesizer (44 voice/variant combinations, random speed and",
      "pitch) and resampled to 16 kHz 16-bit mono FLAC with sox. Output:",
      "OUT/{train,validation,test}/SPEAKER/CHAPTER/ (the splits share no sentence)",
      "and OUT/corpus.json. The same --seed gives the same corpus, byte for byte,",
      "wherever the espeak-ng and sox versions are the same.",
      "Needs: apt-get install -y espeak-ng sox (the launcher installs them if it can).",
      "This is not human speech: use it to test the pipeline offline, not to judge",
      "accuracy on real speech.",
      ""
    })
final class SynthCommand implements Callable<Integer> {
  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to create.")
  Path out;

  @Option(names = "--count", required = true, paramLabel = "N", description = "Utterances in all splits together.")
  int count;

  @Option(names = "--seed", defaultValue = "1", paramLabel = "S", description = "Decides sentences, voices, speeds, pitches. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--vocabulary-size", defaultValue = "200", paramLabel = "V",
      description = "Use the V most common words of the embedded 400-word list (200: the words the shipped models were trained on). Default: ${DEFAULT-VALUE}.")
  int vocabularySize;

  @Option(names = "--splits", defaultValue = "0.8,0.1,0.1", paramLabel = "TRAIN,VAL,TEST",
      description = "Fractions of sentences per split, adding up to 1. Default: ${DEFAULT-VALUE}.")
  String splits;

  @Option(names = "--jobs", paramLabel = "J", description = "Utterances rendered in parallel. Default: number of CPU cores.")
  Integer jobs;

  @Option(names = "--overwrite", description = "Replace --out if it exists (once the new corpus is complete).")
  boolean overwrite;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Usage.require(spec, count >= 1, "--count must be at least 1, got " + count);
    Usage.require(spec, jobs == null || jobs >= 1, "--jobs must be at least 1, got " + jobs);
    CorpusPlan plan = Usage.check(spec, () -> CorpusPlan.create(seed, count, vocabularySize, Splits.parse(splits)));
    SpeechTools tools = SpeechTools.find();
    int threads = jobs != null ? jobs : Runtime.getRuntime().availableProcessors();
    CorpusDescription d;
    try (ProgressBar bar = new ProgressBarBuilder().setTaskName("synth").setInitialMax(count)
        .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err)).setUnit(" utt", 1).build()) {
      d = SyntheticCorpus.write(plan, tools, out, overwrite, threads, bar::stepTo);
    }
    StringBuilder parts = new StringBuilder();
    double total = 0;
    for (Map.Entry<String, CorpusDescription.Split> e : d.splits().entrySet()) {
      if (parts.length() > 0) parts.append(", ");
      parts.append(e.getKey()).append(' ').append(e.getValue().utterances());
      total += e.getValue().audioSeconds();
    }
    System.out.printf("wrote %d synthetic (espeak-ng, robotic) utterances, %.1f min of audio (%s), %d-word vocabulary -> %s%n",
        d.utterances(), total / 60, parts, d.vocabularySize(), out);
    return 0;
  }
}
