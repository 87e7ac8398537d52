package dev.mha2mla.cli;

import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Datasets;
import dev.mha2mla.distributed.Group;
import dev.mha2mla.distributed.Rendezvous;
import dev.mha2mla.eval.EvaluationReport;
import dev.mha2mla.eval.OutOfVocabulary;
import dev.mha2mla.eval.Evaluator;
import dev.mha2mla.io.Json;
import dev.mha2mla.model.CpuThreads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code mha2mla evaluate}: word and character error rates of a model on a dataset. */
@Command(
    name = "evaluate",
    header = "Score a model on a dataset: WER with its 95%% interval, CER, real-time factor.",
    mixinStandardHelpOptions = true,
    description = {
      "Score a model's transcripts of a dataset: WER, CER, error counts, real-time factor.",
      "",
      "Corpus WER and CER add up the errors (substitutions, deletions, insertions) of",
      "all utterances and divide by all reference words or characters; the JSON",
      "report also holds every utterance's result and lists the worst ones.",
      "DATA is a LibriSpeech folder (SPEAKER/CHAPTER/*.flac + *.trans.txt; one part",
      "such as test-clean), a TSV manifest (path<TAB>transcript, paths relative to",
      "it), or a split of a corpus made by 'mha2mla synth'. Transcripts are",
      "upper-cased and checked against the model's letters (A-Z, apostrophe, space).",
      "Over several processes (--nproc N, or torchrun's variables, or --world-size,",
      "--rank and --master) each takes every N-th batch; rank 0 writes the one report.",
      ""
    })
final class EvaluateCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR",
      description = "Model folder: config.json, model.safetensors or pytorch_model.bin, vocab.json.")
  Path model;

  @Option(names = "--data", required = true, paramLabel = "DATA", description = "Dataset to score (see above).")
  Path data;

  @Option(names = "--out", required = true, paramLabel = "FILE.json", description = "Where to write the full report.")
  Path out;

  @Option(names = "--limit", paramLabel = "N", description = "Score only the first N utterances (after --seed's shuffle, if given).")
  Integer limit;

  @Option(names = "--seed", paramLabel = "S",
      description = "Shuffle the utterances with this seed before --limit, for a random but repeatable subset.")
  Long seed;

  @Option(names = "--batch-size", defaultValue = "1", paramLabel = "B",
      description = "Utterances per forward pass; >1 pads and masks like HuggingFace. Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Mixin
  DeviceOption device;

  @Option(names = "--worst", defaultValue = "10", paramLabel = "K",
      description = "How many worst utterances (most word errors) to list. Default: ${DEFAULT-VALUE}.")
  int worst;

  @Option(names = "--stream-chunk", paramLabel = "FRAMES",
      description = "Decode as a live stream instead of whole utterances: chunks of FRAMES encoder frames (20 ms each), "
          + "audio fed one chunk at a time. Its WER against a run without it is the cost of streaming.")
  Integer streamChunk;

  /** With --stream-chunk. */
  @Mixin
  StreamFlags streaming;

  @Mixin
  ManifestPathsOption outsidePaths;

  @Mixin
  DistributedOptions distributed;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Rendezvous where = distributed.rendezvous(spec);
    int local = distributed.localProcesses(spec);
    if (batchSize < 1) throw Usage.error(spec, "--batch-size must be at least 1, got " + batchSize);
    if (streamChunk != null) {
      streaming.check("--stream-chunk", streamChunk);
      if (batchSize != 1) throw Usage.error(spec, "--batch-size does not apply to --stream-chunk (one stream per utterance)");
    }
    if (limit != null && limit < 1) throw Usage.error(spec, "--limit must be at least 1, got " + limit);
    if (worst < 0) throw Usage.error(spec, "--worst must be >= 0, got " + worst);
    String deviceName = device.name();
    Dataset dataset = Datasets.open(data, outsidePaths.allowed);
    if (!dataset.hasTranscripts()) {
      throw new IllegalArgumentException(data + ": has no transcripts to score against (a folder of audio files); "
          + "use a TSV manifest (path<TAB>transcript) or a LibriSpeech folder");
    }
    if (seed != null) dataset = dataset.shuffled(seed);
    if (limit != null) dataset = dataset.limit(limit);
    if (dataset.size() == 0) throw new IllegalArgumentException(data + ": the dataset has no utterances");
    if (local > 0) return LocalWorkers.run("evaluate", local, distributed, Main.arguments);
    CpuThreads.configure(distributed.threads(where));
    Path outDir = out.toAbsolutePath().getParent();
    if (outDir != null && where.rank() == 0) Files.createDirectories(outDir);

    EvaluationReport report;
    try (Group group = Group.connect(where); SpeechRecognizer asr = SpeechRecognizer.open(model, deviceName);
        ProgressBar bar = new ProgressBarBuilder().setTaskName("evaluate" + (group.isSingle() ? "" : " (" + where.describe() + ")"))
            .setInitialMax(utterancesOf(dataset.size(), streamChunk == null ? batchSize : 1, where))
            .setStyle(ProgressBarStyle.ASCII)
            .setConsumer(new ConsoleProgressBarConsumer(where.rank() == 0 ? System.err : new java.io.PrintStream(
                java.io.OutputStream.nullOutputStream())))
            .setUnit(" utt", 1).build()) {
      Evaluator evaluator = streamChunk == null ? Evaluator.of(asr, batchSize)
          : Evaluator.streaming(asr, streaming.options(streamChunk, asr.normalizer().samplingRate()));
      report = evaluator.withWorstCount(worst).evaluate(dataset, model.toString(), deviceName,
          (done, words) -> {
            bar.stepTo(done);
            bar.setExtraMessage(String.format("WER %.2f%%", 100 * words.rate()));
          }, group);
    }
    if (where.rank() != 0) return 0;
    Json.write(out, report);
    String outside = OutOfVocabulary.warningOf(report.outOfVocabulary());
    if (outside != null) System.err.println(outside);
    if (streamChunk != null) System.out.println(report.decoding());
    System.out.printf("WER %.2f%% (%s; %d/%d words: %d sub, %d del, %d ins)  CER %.2f%%  RTF %.3f  %d utterances, %.1f s audio -> %s%n",
        100 * report.wer(), report.werCi95() == null ? "no utterances"
            : String.format("95%% CI %.2f-%.2f", 100 * report.werCi95().low(), 100 * report.werCi95().high()),
        report.words().errors(), report.words().referenceLength(), report.words().substitutions(),
        report.words().deletions(), report.words().insertions(), 100 * report.cer(), report.realTimeFactor(),
        report.utteranceCount(), report.audioSeconds(), out);
    return 0;
  }

  /** The utterances this rank transcribes: those of batches rank, rank + W, ... (Evaluator's split). */
  private static int utterancesOf(int total, int batch, Rendezvous where) {
    int count = 0;
    for (int from = where.rank() * batch; from < total; from += where.worldSize() * batch) {
      count += Math.min(batch, total - from);
    }
    return count;
  }
}
