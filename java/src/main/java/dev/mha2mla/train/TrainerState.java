package dev.mha2mla.train;

import dev.mha2mla.io.RunInfo;
import java.util.List;

/**
 * {@code trainer_state.json}: where a run stands and what it has seen, rewritten after every validation and at the
 * end. A checkpoint holds the copy that matches its weights.
 *
 * @param status running, finished, stopped_early, paused or diverged
 * @param step updates completed
 * @param bestStep step of the model in best/ (lowest validation loss; 0 is the model as given)
 * @param evaluationsWithoutImprovement validations since the best one (early stopping fires at the patience)
 * @param trainSeconds wall time spent in training and validation, summed over resumed sessions
 */
public record TrainerState(
    RunInfo run,
    String status,
    String model,
    String trainData,
    String validData,
    Recipe recipe,
    long step,
    long totalSteps,
    long stepsPerEpoch,
    long epoch,
    Long bestStep,
    Double bestValidLoss,
    Double bestValidWer,
    int evaluationsWithoutImprovement,
    String stopReason,
    Double lastTrainLoss,
    double trainSeconds,
    List<Evaluation> evaluations) {

  public static final String FILE = "trainer_state.json";

  public TrainerState {
    evaluations = evaluations == null ? List.of() : List.copyOf(evaluations);
  }
}
