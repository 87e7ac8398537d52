package dev.mha2mla.train;

import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsFile;
import dev.mha2mla.io.SafeTensorsReader;
import dev.mha2mla.io.WavWriter;
import dev.mha2mla.mla.ConversionMethod;
import dev.mha2mla.mla.ConversionOptions;
import dev.mha2mla.mla.MlaConverter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Small models and datasets for trainer tests: the conformer-tiny fixture converted to MLA, a few transcribed clips. */
final class TrainingFixtures {
  private TrainingFixtures() {}

  /** conformer-tiny (d = 64) converted by joint SVD at r = d/4 = 16 into {@code dir}. */
  static Path convertedTiny(Path dir) throws IOException {
    Path out = dir.resolve("mla-r16");
    new MlaConverter(ConversionOptions.plain(16, ConversionMethod.JOINT), null).convert(Fixtures.conformerTiny(), out, false);
    return out;
  }

  /** The converted tiny model with the four-clip training manifest and its two-clip validation manifest. */
  record TinyRun(Path model, Path train, Path valid) {
    static TinyRun in(Path dir) throws IOException {
      Path train = manifest(dir.resolve("data"));
      return new TinyRun(convertedTiny(dir), train, train.resolveSibling("valid.tsv"));
    }

    /** Batches of 2, lr 3e-3 after 2 warm-up updates, no early stopping, seed 7. */
    FinetuneOptions.Builder options(Path out) {
      return FinetuneOptions.builder().model(model).train(train).valid(valid).out(out)
          .batchSize(2).learningRate(3e-3).warmupSteps(2).patience(0).seed(7);
    }
  }

  /**
   * A manifest of four clips: the fixture's two recordings and two synthetic tone sequences (written with WavWriter),
   * each with a short transcript.
   */
  static Path manifest(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path tiny = Fixtures.conformerTiny();
    writeTones(dir.resolve("tones-a.wav"), 17600, 220, 3);
    writeTones(dir.resolve("tones-b.wav"), 12800, 330, 5);
    // manifests may name only audio below their own folder
    Files.copy(tiny.resolve("audio.wav"), dir.resolve("audio.wav"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(tiny.resolve("audio1.wav"), dir.resolve("audio1.wav"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    String tsv = "audio.wav\tHELLO WORLD\n"
        + "audio1.wav\tHI THERE\n"
        + "tones-a.wav\tA TONE\n"
        + "tones-b.wav\tSEE\n";
    Path manifest = dir.resolve("data.tsv");
    Files.writeString(manifest, tsv);
    // validation: the two shorter clips (the trainer is checked to fit what it trains on, not to generalise)
    Files.writeString(dir.resolve("valid.tsv"), "audio1.wav\tHI THERE\n" + "tones-b.wav\tSEE\n");
    return manifest;
  }

  /**
   * A manifest with the given lines (path TAB transcript). An absolute path outside {@code dir} is copied into
   * {@code dir} and named by its file name there, as manifests may name only audio below their own folder.
   */
  static Path manifest(Path dir, String name, String... lines) throws IOException {
    Files.createDirectories(dir);
    Path manifest = dir.resolve(name);
    lines = lines.clone();
    for (int i = 0; i < lines.length; i++) {
      String[] parts = lines[i].split("\t", 2);
      Path p = Path.of(parts[0]);
      if (p.isAbsolute() && !p.startsWith(dir.toAbsolutePath()) && Files.isRegularFile(p)) {
        Files.copy(p, dir.resolve(p.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        lines[i] = p.getFileName() + (parts.length > 1 ? "\t" + parts[1] : "");
      }
    }
    Files.writeString(manifest, lines.length == 0 ? "" : String.join("\n", lines) + "\n");
    return manifest;
  }

  /** Steps of {@code hz}-multiples, one per segment, at a modest level. */
  static void writeTones(Path file, int samples, double hz, int segments) throws IOException {
    float[] x = new float[samples];
    int per = samples / segments;
    for (int i = 0; i < samples; i++) {
      double f = hz * (1 + (i / per) % segments);
      x[i] = (float) (0.3 * Math.sin(2 * Math.PI * f * i / 16000.0) + 0.05 * Math.sin(2 * Math.PI * 1.5 * f * i / 16000.0));
    }
    WavWriter.write(file, 16000, x);
  }

  /** Every tensor of a safetensors file, bytes included. */
  static Map<String, RawTensor> tensors(Path file) throws IOException {
    SafeTensorsFile f = SafeTensorsReader.open(file);
    Map<String, RawTensor> out = new LinkedHashMap<>();
    for (String name : f.names()) out.put(name, f.get(name));
    return out;
  }
}
