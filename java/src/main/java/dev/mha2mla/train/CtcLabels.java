package dev.mha2mla.train;

import dev.mha2mla.model.CtcVocabulary;
import java.util.HashMap;
import java.util.Map;

/**
 * Transcript text to CTC label ids, as HuggingFace's Wav2Vec2CTCTokenizer does for a character vocabulary: each
 * character is its own token and a space is the word delimiter {@code |}.
 */
public final class CtcLabels {
  private final Map<Integer, Integer> ids = new HashMap<>();
  private final int blank;

  public CtcLabels(CtcVocabulary vocabulary) {
    this.blank = vocabulary.blank();
    for (int i = 0; i < vocabulary.size(); i++) {
      String token = vocabulary.token(i);
      if (token.equals(CtcVocabulary.WORD_DELIMITER)) ids.put((int) ' ', i);
      else if (token.codePointCount(0, token.length()) == 1) ids.putIfAbsent(token.codePointAt(0), i);
    }
  }

  /** The label ids of {@code transcript}; characters without a token are collected into {@code unknown}. */
  public long[] encode(String transcript, StringBuilder unknown) {
    int[] cps = transcript.codePoints().toArray();
    long[] out = new long[cps.length];
    int n = 0;
    for (int c : cps) {
      Integer id = ids.get(c);
      if (id == null || id == blank) {
        if (unknown.indexOf(new String(Character.toChars(c))) < 0) unknown.appendCodePoint(c);
      } else {
        out[n++] = id;
      }
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /**
   * Frames CTC needs to emit {@code labels}: one per label plus one blank between each pair of equal neighbours
   * (an alignment cannot otherwise tell "LL" from "L"). Fewer frames make the loss infinite.
   */
  public static long minimumFrames(long[] labels) {
    long repeats = 0;
    for (int i = 1; i < labels.length; i++) if (labels[i] == labels[i - 1]) repeats++;
    return labels.length + repeats;
  }
}
