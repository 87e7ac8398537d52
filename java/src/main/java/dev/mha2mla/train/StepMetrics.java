package dev.mha2mla.train;

/**
 * One optimizer update.
 *
 * @param step updates completed, this one included (1 for the first)
 * @param epoch the epoch the batch came from (0-based)
 * @param loss the batch's training loss, with the config's CTC reduction
 * @param learningRate the rate this update used
 * @param gradNorm global gradient L2 norm before clipping
 * @param utterances batch size
 * @param frames real frames in the batch
 * @param seconds wall time of the update (read, forward, backward, step)
 */
public record StepMetrics(long step, long epoch, double loss, double learningRate, double gradNorm, int utterances,
    long frames, double seconds) {}
