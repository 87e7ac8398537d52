package dev.mha2mla.train;

import java.util.List;

/**
 * Training or validation data that cannot be trained on: an empty dataset, no transcripts, characters outside the
 * CTC vocabulary, a transcript longer than its audio allows. The message names the dataset and every offending
 * utterance (the first ten), so all of them can be fixed in one pass.
 */
public class TrainingDataException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private static final int SHOWN = 10;

  private final transient List<String> utterances;

  public TrainingDataException(String message) {
    this(message, List.of());
  }

  public TrainingDataException(String message, List<String> utterances) {
    super(message);
    this.utterances = List.copyOf(utterances);
  }

  /** Builds "DATASET: N utterances PROBLEM:\n  detail\n  ...\nFIX". */
  static TrainingDataException listing(String dataset, String problem, List<String> ids, List<String> details, String fix) {
    StringBuilder m = new StringBuilder(dataset).append(": ").append(ids.size())
        .append(ids.size() == 1 ? " utterance " : " utterances ").append(problem).append(':');
    for (String d : details.subList(0, Math.min(SHOWN, details.size()))) m.append("\n  ").append(d);
    if (details.size() > SHOWN) m.append("\n  ... and ").append(details.size() - SHOWN).append(" more");
    return new TrainingDataException(m.append('\n').append(fix).toString(), ids);
  }

  /** Ids of the offending utterances (empty when the problem is the dataset as a whole). */
  public List<String> utterances() {
    return utterances;
  }
}
