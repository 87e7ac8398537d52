package dev.mha2mla.train;

import dev.mha2mla.model.ConformerConfig;
import java.util.random.RandomGenerator;

/**
 * SpecAugment as a Wav2Vec2 model applies it in training, with the model config's settings: time masks
 * ({@code mask_time_prob}, {@code mask_time_length}, {@code mask_time_min_masks}; masked frames take the learned
 * {@code masked_spec_embed}) and feature masks ({@code mask_feature_*}; masked channels become 0). Spans are placed
 * by {@link #spans}, a transcription of HuggingFace's {@code _compute_mask_indices} with a seeded Java generator in
 * place of NumPy's global one.
 *
 * @param enabled the config's {@code apply_spec_augment} (default true)
 */
public record SpecAugment(boolean enabled, double timeProb, int timeLength, int timeMinMasks,
    double featureProb, int featureLength, int featureMinMasks) {

  public static SpecAugment of(ConformerConfig config) {
    var raw = config.raw();
    return new SpecAugment(raw.path("apply_spec_augment").asBoolean(true), config.maskTimeProb(), config.maskTimeLength(),
        config.maskTimeMinMasks(), raw.path("mask_feature_prob").asDouble(0.0), raw.path("mask_feature_length").asInt(10),
        raw.path("mask_feature_min_masks").asInt(0));
  }

  public static SpecAugment off() {
    return new SpecAugment(false, 0, 10, 0, 0, 10, 0);
  }

  public boolean masksTime() {
    return enabled && timeProb > 0;
  }

  public boolean masksFeatures() {
    return enabled && featureProb > 0;
  }

  /**
   * Time masks [B][T] for a batch whose row b has {@code frameLengths[b]} real frames out of {@code frames}, or null
   * when no span fits (HF raises when mask_time_length exceeds the padded length; a batch that short is left unmasked).
   */
  public boolean[][] timeMask(long[] frameLengths, int frames, RandomGenerator random) {
    if (!masksTime() || timeLength > frames) return null;
    return spans(frameLengths.length, frames, frameLengths, timeProb, timeLength, timeMinMasks, random);
  }

  /** Feature masks [B][D]: one draw per row over the hidden channels (HF passes no attention mask here). */
  public boolean[][] featureMask(int batch, int hidden, RandomGenerator random) {
    if (!masksFeatures() || featureLength > hidden) return null;
    return spans(batch, hidden, null, featureProb, featureLength, featureMinMasks, random);
  }

  /**
   * HF's {@code _compute_mask_indices}. With one epsilon ~ U[0, 1) per batch, a row of length L gets
   *
   * <pre>
   *   n(L) = max(min_masks, floor(prob * L / length + epsilon)), capped at sequence // length and at L - length + 1
   * </pre>
   *
   * span starts drawn without replacement from [0, L - length], each masking [start, start + length) clipped to the
   * sequence. Rows padded to the batch's largest n repeat their first start; a row with no span at all gets the
   * dummy start sequence - 1 (HF's behaviour, which masks the last padded frame).
   *
   * @param lengths real length of each row, or null when every row is {@code sequence} long
   */
  public static boolean[][] spans(int batch, int sequence, long[] lengths, double prob, int length, int minMasks,
      RandomGenerator random) {
    if (length < 1) throw new IllegalArgumentException("mask length must be >= 1, got " + length);
    if (length > sequence) {
      throw new IllegalArgumentException("mask length " + length + " exceeds the sequence length " + sequence);
    }
    double epsilon = random.nextDouble();
    boolean[][] mask = new boolean[batch][sequence];
    int maxSpans = count(sequence, sequence, prob, length, minMasks, epsilon);
    if (maxSpans == 0) return mask;
    for (int b = 0; b < batch; b++) {
      int rowLength = lengths == null ? sequence : (int) lengths[b];
      int n = count(rowLength, sequence, prob, length, minMasks, epsilon);
      int[] starts = choose(Math.max(rowLength - (length - 1), 0), n, random);
      int dummy = starts.length == 0 ? sequence - 1 : starts[0];
      for (int s = 0; s < maxSpans; s++) {
        int start = s < starts.length ? starts[s] : dummy;
        for (int o = 0; o < length; o++) mask[b][Math.min(start + o, sequence - 1)] = true;
      }
    }
    return mask;
  }

  private static int count(int inputLength, int sequence, double prob, int length, int minMasks, double epsilon) {
    int n = (int) (prob * inputLength / length + epsilon);
    n = Math.max(n, minMasks);
    if ((long) n * length > sequence) n = sequence / length;
    if (inputLength - (length - 1) < n) n = Math.max(inputLength - (length - 1), 0);
    return n;
  }

  /** k distinct values of [0, n) in draw order (numpy's choice(n, k, replace=False) semantics, Fisher-Yates). */
  private static int[] choose(int n, int k, RandomGenerator random) {
    int[] pool = new int[n];
    for (int i = 0; i < n; i++) pool[i] = i;
    int[] out = new int[Math.min(k, n)];
    for (int i = 0; i < out.length; i++) {
      int j = i + random.nextInt(n - i);
      int t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
      out[i] = pool[i];
    }
    return out;
  }
}
