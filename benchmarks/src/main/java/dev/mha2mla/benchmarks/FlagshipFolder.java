package dev.mha2mla.benchmarks;

import dev.mha2mla.benchmarks.workload.EncoderWorkload;
import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsWriter;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.InitialWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Writes a model folder of the flagship's size and layout (facebook/wav2vec2-conformer-rel-pos-large-960h-ft's
 * config: 24 layers, d = 1024, 16 heads, 618.6M parameters) with weights drawn as HuggingFace initialises them, for
 * runs that need a flagship-size folder where the checkpoint cannot be downloaded. Its transcripts are noise: it
 * measures memory, time and whether a command copes with the size, never accuracy.
 *
 * <p>{@code java -cp ... dev.mha2mla.benchmarks.FlagshipFolder OUT [SEED]}; the vocabulary and feature-extractor
 * settings are the shipped small model's (the flagship's 32 letters and the same extractor).
 */
public final class FlagshipFolder {
  private FlagshipFolder() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1 || args.length > 2) {
      System.err.println("usage: FlagshipFolder OUT [SEED]");
      System.exit(2);
    }
    Path out = Path.of(args[0]);
    long seed = args.length > 1 ? Long.parseLong(args[1]) : 1;
    if (Files.exists(out.resolve("model.safetensors"))) {
      System.err.println(out + ": already holds a model; give a new folder");
      System.exit(2);
    }
    Files.createDirectories(out);
    ConformerConfig config = EncoderWorkload.flagshipConfig(null);
    Map<String, RawTensor> weights = InitialWeights.draw(config, seed);
    long parameters = 0;
    for (RawTensor t : weights.values()) parameters += t.numel();
    Path shipped = Path.of("models/conformer-small-synthetic");
    for (String name : new String[] {"vocab.json", "preprocessor_config.json"}) {
      Files.copy(shipped.resolve(name), out.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }
    AtomicFiles.writeString(out.resolve("config.json"), config.toJson());
    SafeTensorsWriter.write(out.resolve("model.safetensors"), weights, Map.of("format", "pt"));
    System.out.printf("%s: %d tensors, %.1fM parameters, seed %d%n", out, weights.size(), parameters / 1e6, seed);
  }
}
