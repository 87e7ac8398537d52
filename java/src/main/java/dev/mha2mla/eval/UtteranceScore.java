package dev.mha2mla.eval;

/**
 * One utterance's result: what was said, what the model heard, and the alignment counts.
 *
 * @param wer word errors / reference words (see {@link EditCounts#rate} for an empty reference)
 * @param cer character errors / reference characters, spaces included
 */
public record UtteranceScore(
    String id,
    String reference,
    String hypothesis,
    double audioSeconds,
    double wer,
    double cer,
    EditCounts words,
    EditCounts characters) {

  public static UtteranceScore of(String id, String reference, String hypothesis, double audioSeconds) {
    EditCounts w = ErrorRate.words(reference, hypothesis);
    EditCounts c = ErrorRate.characters(reference, hypothesis);
    return new UtteranceScore(id, reference, hypothesis, audioSeconds, w.rate(), c.rate(), w, c);
  }
}
