package dev.mha2mla.train;

/**
 * Linear warm-up then linear decay to zero, as HuggingFace's {@code get_linear_schedule_with_warmup}: the update
 * that follows {@code s} completed updates uses
 *
 * <pre>
 *   lr(s) = peak * s / warmup                           s &lt; warmup
 *   lr(s) = peak * max(0, (total - s) / (total - warmup))   otherwise
 * </pre>
 *
 * A pure function of the step, so a resumed run needs no scheduler state beyond the step count.
 */
public record LearningRateSchedule(double peak, long warmupSteps, long totalSteps) {
  public LearningRateSchedule {
    if (!(peak > 0) || Double.isInfinite(peak)) throw new IllegalArgumentException("--lr must be positive, got " + peak);
    if (warmupSteps < 0) throw new IllegalArgumentException("--warmup must be >= 0, got " + warmupSteps);
    if (totalSteps < 1) throw new IllegalArgumentException("training needs at least one step, got " + totalSteps);
  }

  public double at(long step) {
    if (step < warmupSteps) return peak * step / Math.max(1, warmupSteps);
    return peak * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  }
}
