package dev.mha2mla.data;

import java.text.Normalizer;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Brings a transcript into the model's character vocabulary: upper-case A-Z, the apostrophe, and single
 * spaces between words (the CTC vocabulary of LibriSpeech-trained wav2vec2 models, whose word delimiter
 * {@code |} decodes to a space). Every dataset reader applies it once, when the dataset is opened.
 *
 * <p>The rules, in order:
 * <ol>
 *   <li>Unicode NFKC compatibility folding (full-width letters, ligatures such as {@code ﬁ} become plain letters).
 *   <li>Upper-casing with {@link Locale#ROOT}.
 *   <li>Apostrophe look-alikes {@code ’ ‘ ʼ ′ ` ´} become {@code '}.
 *   <li>Hyphens and dashes ({@code - ‐ ‑ ‒ – — ―}) and all whitespace become a space: {@code WELL-KNOWN} is two words.
 *   <li>Punctuation that is not spoken is removed: {@code . , ; : ! ? " “ ” „ « » ( ) [ ] { } …}.
 *   <li>{@code A-Z}, {@code '} and space are kept. Anything else (digits, {@code & % $ @ # / + =}, accented or
 *       non-Latin letters) is <em>unknown</em>: it is listed in {@link Result#unknown()} and the caller reports
 *       the utterance instead of training or scoring on a transcript that does not say what the audio says.
 *       Spell such text out ({@code 42} as {@code FORTY TWO}) before use.
 *   <li>Runs of spaces become one space; leading and trailing spaces are removed.
 * </ol>
 * Apostrophes are kept wherever they are ({@code DON'T}, {@code THE SISTERS'}), as in LibriSpeech.
 */
public final class TextNormalizer {
  /** The vocabulary in words, for messages. */
  public static final String VOCABULARY = "A-Z, apostrophe and space";

  private static final String APOSTROPHES = "\u2019\u2018\u02BC\u2032`\u00B4";
  private static final String DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015";
  private static final String REMOVED = ".,;:!?\"\u201C\u201D\u201E\u00AB\u00BB()[]{}\u2026";

  private TextNormalizer() {}

  /**
   * The normalised text and the characters that were not in the vocabulary (removed from {@code text}).
   *
   * @param unknown distinct unknown characters in code-point order; empty when the transcript is usable
   */
  public record Result(String text, String unknown) {
    public boolean isClean() {
      return unknown.isEmpty();
    }
  }

  public static Result normalize(String raw) {
    String folded = Normalizer.normalize(raw, Normalizer.Form.NFKC).toUpperCase(Locale.ROOT);
    StringBuilder out = new StringBuilder(folded.length());
    Set<Integer> unknown = new TreeSet<>();
    boolean pendingSpace = false;
    for (int i = 0; i < folded.length(); ) {
      int c = folded.codePointAt(i);
      i += Character.charCount(c);
      if (APOSTROPHES.indexOf(c) >= 0) c = '\'';
      if (Character.isWhitespace(c) || Character.isSpaceChar(c) || DASHES.indexOf(c) >= 0) {
        pendingSpace = out.length() > 0;
      } else if ((c >= 'A' && c <= 'Z') || c == '\'') {
        if (pendingSpace) out.append(' ');
        pendingSpace = false;
        out.append((char) c);
      } else if (REMOVED.indexOf(c) < 0) {
        unknown.add(c);
      }
    }
    StringBuilder chars = new StringBuilder();
    for (int c : unknown) chars.appendCodePoint(c);
    return new Result(out.toString(), chars.toString());
  }

  /** Words of an already normalised text (or of a model's output): split on runs of whitespace. */
  public static String[] words(String text) {
    String t = text.strip();
    return t.isEmpty() ? new String[0] : t.split("\\s+");
  }
}
