package dev.mha2mla.train;

import java.nio.file.Path;

/**
 * How a run ended.
 *
 * @param status finished (all steps done), stopped_early (patience ran out) or paused (--stop-after)
 * @param steps updates completed
 * @param initial validation of the model as given (step 0)
 * @param best the validation whose model is in {@code bestModel}
 * @param last the last validation
 * @param checkpoint the folder {@code --resume} continues from
 */
public record TrainingResult(String status, long steps, long totalSteps, String stopReason, Evaluation initial,
    Evaluation best, Evaluation last, Path bestModel, Path checkpoint, Path trainerState, double seconds) {}
