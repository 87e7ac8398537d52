package dev.mha2mla.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The settings that decide the numbers a run produces. A checkpoint records them, and {@code --resume} refuses to
 * continue under different ones, because the result would then match neither run. {@code streaming} describes
 * chunk-aware training ({@link StreamingTraining}), null when off. (Validation cadence, patience,
 * checkpoint cadence and the device may change on resume.)
 */
public record Recipe(String scope, int batchSize, double learningRate, long warmupSteps, long totalSteps,
    double beta1, double beta2, double epsilon, double weightDecay, double maxGradNorm, long seed,
    boolean specAugment, int lengthBucket, String streaming) {

  /** "field: checkpoint X, now Y" for each setting that differs. */
  public List<String> differences(Recipe now) {
    List<String> out = new ArrayList<>();
    diff(out, "train scope", scope, now.scope);
    diff(out, "batch size", batchSize, now.batchSize);
    diff(out, "learning rate", learningRate, now.learningRate);
    diff(out, "warm-up steps", warmupSteps, now.warmupSteps);
    diff(out, "total steps (--epochs/--max-steps)", totalSteps, now.totalSteps);
    diff(out, "AdamW beta1", beta1, now.beta1);
    diff(out, "AdamW beta2", beta2, now.beta2);
    diff(out, "AdamW epsilon", epsilon, now.epsilon);
    diff(out, "weight decay", weightDecay, now.weightDecay);
    diff(out, "max gradient norm", maxGradNorm, now.maxGradNorm);
    diff(out, "seed", seed, now.seed);
    diff(out, "SpecAugment", specAugment, now.specAugment);
    diff(out, "length bucket", lengthBucket, now.lengthBucket);
    diff(out, "streaming (--streaming, --chunks, --left-context)", streaming == null ? "off" : streaming,
        now.streaming == null ? "off" : now.streaming);
    return out;
  }

  private static void diff(List<String> out, String name, Object then, Object now) {
    if (!Objects.equals(then, now)) out.add(name + ": checkpoint " + then + ", now " + now);
  }
}
