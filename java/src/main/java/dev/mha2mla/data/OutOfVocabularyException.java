package dev.mha2mla.data;

import java.io.IOException;
import java.util.List;

/**
 * Transcripts of a dataset hold characters that {@link TextNormalizer} cannot map to the model's
 * vocabulary. Every such utterance is listed (the message shows the first ten) so that all of them
 * can be fixed in one pass; none is dropped silently.
 */
public class OutOfVocabularyException extends IOException {
  private static final long serialVersionUID = 1L;
  private static final int SHOWN = 10;

  /**
   * One offending transcript.
   *
   * @param location file and line, e.g. {@code test.tsv:12}
   * @param characters the unknown characters, each once
   */
  public record Offender(String location, String utteranceId, String characters) {}

  private final transient List<Offender> offenders;

  public OutOfVocabularyException(String dataset, List<Offender> offenders) {
    super(message(dataset, offenders));
    this.offenders = List.copyOf(offenders);
  }

  public List<Offender> offenders() {
    return offenders;
  }

  private static String message(String dataset, List<Offender> offenders) {
    StringBuilder m = new StringBuilder(dataset).append(": ").append(offenders.size())
        .append(offenders.size() == 1 ? " transcript has" : " transcripts have")
        .append(" characters outside the model's vocabulary (").append(TextNormalizer.VOCABULARY).append("):");
    for (Offender o : offenders.subList(0, Math.min(SHOWN, offenders.size()))) {
      m.append("\n  ").append(o.location()).append(" (").append(o.utteranceId()).append("): ");
      m.append(String.join(" ", o.characters().codePoints().mapToObj(OutOfVocabularyException::describe).toList()));
    }
    if (offenders.size() > SHOWN) m.append("\n  ... and ").append(offenders.size() - SHOWN).append(" more");
    return m.append("\nspell numbers and symbols out in words (42 -> FORTY TWO) and remove other characters").toString();
  }

  private static String describe(int c) {
    String name = Character.getName(c);
    return "'" + new String(Character.toChars(c)) + "'" + (c > 0x7E && name != null ? " (" + name + ")" : "");
  }
}
