package dev.mha2mla.train;

/**
 * The loss or the gradient norm became NaN or infinite. Training stops before the bad update is applied; the last
 * checkpoint written (at {@link #lastCheckpointStep()}) is left untouched, so a run with a lower learning rate or a
 * longer warm-up can resume from it.
 */
public class TrainingDivergedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final long step;
  private final long lastCheckpointStep;

  public TrainingDivergedException(String message, long step, long lastCheckpointStep) {
    super(message);
    this.step = step;
    this.lastCheckpointStep = lastCheckpointStep;
  }

  /** Updates completed before the failing one. */
  public long step() {
    return step;
  }

  /** Step of the checkpoint left in place, or -1 when none was written yet. */
  public long lastCheckpointStep() {
    return lastCheckpointStep;
  }
}
