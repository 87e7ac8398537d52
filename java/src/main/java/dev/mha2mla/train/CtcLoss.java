package dev.mha2mla.train;

import dev.mha2mla.model.ConformerConfig;
import java.util.List;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The CTC loss of HuggingFace's {@code Wav2Vec2ConformerForCTC.forward}:
 *
 * <pre>
 *   log_probs = log_softmax(logits, -1, dtype=float32).transpose(0, 1)        [T, B, V]
 *   nll_b     = -log sum over alignments of labels_b in log_probs[:frames_b, b]  (blank = pad_token_id)
 *   nll_b     = 0 where nll_b is infinite, if ctc_zero_infinity
 *   loss      = sum_b nll_b                                   ctc_loss_reduction "sum"
 *             = mean_b (nll_b / max(1, |labels_b|))            ctc_loss_reduction "mean"
 * </pre>
 *
 * Targets are the labels of each row concatenated, so label padding never enters. The per-utterance values are
 * computed once (reduction none) and reduced here exactly as {@code torch.nn.functional.ctc_loss} reduces them.
 */
public final class CtcLoss {
  private final int blank;
  private final boolean mean;
  private final boolean zeroInfinity;

  public CtcLoss(int blank, boolean mean, boolean zeroInfinity) {
    this.blank = blank;
    this.mean = mean;
    this.zeroInfinity = zeroInfinity;
  }

  public static CtcLoss of(ConformerConfig config) {
    return new CtcLoss(config.padTokenId(), config.ctcLossReduction().equals("mean"), config.ctcZeroInfinity());
  }

  /** nll_b for each row [B] (float32, differentiable). */
  public Tensor perUtterance(Tensor logits, long[] frameLengths, List<long[]> labels) {
    Tensor logProbs = torch.log_softmax(logits, -1, new ScalarTypeOptional(ScalarType.Float)).transpose(0, 1);
    int total = 0;
    for (long[] l : labels) total += l.length;
    long[] flat = new long[total];
    long[] targetLengths = new long[labels.size()];
    int at = 0;
    for (int b = 0; b < labels.size(); b++) {
      System.arraycopy(labels.get(b), 0, flat, at, labels.get(b).length);
      at += labels.get(b).length;
      targetLengths[b] = labels.get(b).length;
    }
    Tensor targets = Tensor.create(flat, total).to(logits.device(), ScalarType.Long);
    return torch.ctc_loss(logProbs, targets, frameLengths, targetLengths, blank, 0 /* none */, zeroInfinity);
  }

  /** The configured reduction of per-utterance values. */
  public Tensor reduce(Tensor perUtterance, List<long[]> labels) {
    if (!mean) return perUtterance.sum();
    float[] lengths = new float[labels.size()];
    for (int b = 0; b < lengths.length; b++) lengths[b] = Math.max(1, labels.get(b).length);
    return perUtterance.div(Tensor.create(lengths, lengths.length).to(perUtterance.device(), ScalarType.Float)).mean();
  }

  /**
   * This rank's share of the loss of a global batch of {@code globalCount} utterances split over ranks, so that the
   * shares (and their gradients) sum to the global batch's {@link #reduce}: sum_b nll_b for "sum",
   * sum_b (nll_b / max(1, |labels_b|)) / globalCount for "mean".
   */
  public Tensor reduceShare(Tensor perUtterance, List<long[]> labels, int globalCount) {
    if (!mean) return perUtterance.sum();
    float[] lengths = new float[labels.size()];
    for (int b = 0; b < lengths.length; b++) lengths[b] = Math.max(1, labels.get(b).length);
    return perUtterance.div(Tensor.create(lengths, lengths.length).to(perUtterance.device(), ScalarType.Float)).sum()
        .div(new org.bytedeco.pytorch.Scalar((double) globalCount));
  }

  /**
   * One utterance's share of the reported loss: nll_b for "sum", nll_b / |labels_b| for "mean". Validation loss is
   * the average of these over the set, so it does not depend on the batch size.
   */
  public double perUtteranceShare(double nll, int labelCount) {
    return mean ? nll / Math.max(1, labelCount) : nll;
  }

  public boolean meanReduction() {
    return mean;
  }
}
