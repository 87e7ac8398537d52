package dev.mha2mla.train;

/**
 * Receives a run's progress (a progress bar, a test). Every method has an empty default. An exception thrown here
 * stops the run as a crash would: the last checkpoint stays as it was.
 */
public interface TrainingListener {
  TrainingListener NONE = new TrainingListener() {};

  /** Utterance {@code done} of {@code total} of a dataset ("--train", "--valid") has been read and checked. */
  default void preparing(String role, int done, int total) {}

  /** Training starts (or resumes) after {@code step} of {@code totalSteps} updates. */
  default void started(long step, long totalSteps) {}

  default void stepDone(StepMetrics metrics) {}

  default void evaluated(Evaluation evaluation) {}

  /** A checkpoint at {@code step} is complete on disk. */
  default void checkpointed(long step) {}
}
