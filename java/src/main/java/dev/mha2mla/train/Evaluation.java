package dev.mha2mla.train;

/**
 * One pass over the validation data.
 *
 * @param step updates completed when it ran (0: the model as given)
 * @param loss mean per-utterance CTC loss (for reduction "mean" each utterance's loss is divided by its label count)
 * @param wordErrorRate corpus WER of greedy CTC transcripts against the references
 * @param wordErrors substitutions + deletions + insertions over the set
 * @param referenceWords words in the references
 * @param improved whether the loss was the lowest so far (the model was saved as best/)
 * @param chunkWordErrorRates in chunk-aware training, the WER of the batches decoded at each chunk size ("1", ...,
 *     "full"); null otherwise
 */
public record Evaluation(long step, long epoch, double loss, double wordErrorRate, long wordErrors, long referenceWords,
    int utterances, double seconds, boolean improved, java.util.Map<String, Double> chunkWordErrorRates) {

  public Evaluation(long step, long epoch, double loss, double wordErrorRate, long wordErrors, long referenceWords,
      int utterances, double seconds, boolean improved) {
    this(step, epoch, loss, wordErrorRate, wordErrors, referenceWords, utterances, seconds, improved, null);
  }
}
