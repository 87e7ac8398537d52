package dev.mha2mla.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Hand-checked alignments. EditCounts(S, D, I, N): substitutions, deletions, insertions, reference length. */
class ErrorRateTest {
  @Test
  void identicalTextsHaveNoErrors() {
    EditCounts w = ErrorRate.words("THE CAT SAT", "THE CAT SAT");
    assertThat(w).isEqualTo(new EditCounts(0, 0, 0, 3));
    assertThat(w.rate()).isZero();
    assertThat(w.hits()).isEqualTo(3);
  }

  @Test
  void emptyHypothesisDeletesEveryWord() {
    EditCounts w = ErrorRate.words("THE CAT SAT", "");
    assertThat(w).isEqualTo(new EditCounts(0, 3, 0, 3));
    assertThat(w.rate()).isEqualTo(1.0);
    // 11 characters, spaces included
    assertThat(ErrorRate.characters("THE CAT SAT", "")).isEqualTo(new EditCounts(0, 11, 0, 11));
  }

  @Test
  void emptyReferenceCountsInsertionsOverOne() {
    EditCounts w = ErrorRate.words("", "UH HUH");
    assertThat(w).isEqualTo(new EditCounts(0, 0, 2, 0));
    assertThat(w.rate()).isEqualTo(2.0);
    assertThat(ErrorRate.words("", "").rate()).isZero();
    assertThat(ErrorRate.characters("", "")).isEqualTo(EditCounts.ZERO);
  }

  @Test
  void substitutionsAndInsertionsMix() {
    // THE CAT SAT ON THE MAT / THE BAT SAT ON ON THE HAT: CAT->BAT, +ON, MAT->HAT
    EditCounts w = ErrorRate.words("THE CAT SAT ON THE MAT", "THE BAT SAT ON ON THE HAT");
    assertThat(w).isEqualTo(new EditCounts(2, 0, 1, 6));
    assertThat(w.rate()).isEqualTo(0.5);
  }

  @Test
  void deletionInTheMiddle() {
    assertThat(ErrorRate.words("A B C D", "A C D")).isEqualTo(new EditCounts(0, 1, 0, 4));
  }

  @Test
  void ratesCanExceedOne() {
    EditCounts w = ErrorRate.words("HI", "OH HI THERE YOU");
    assertThat(w).isEqualTo(new EditCounts(0, 0, 3, 1));
    assertThat(w.rate()).isEqualTo(3.0);
  }

  @Test
  void tiesPreferSubstitutionsOverADeletionPlusAnInsertion() {
    // "A B" -> "B C" costs 2 either as two substitutions or as delete A, keep B, insert C; the diagonal wins
    assertThat(ErrorRate.words("A B", "B C")).isEqualTo(new EditCounts(2, 0, 0, 2));
  }

  @Test
  void charactersIncludeSpaces() {
    // KITTEN -> SITTING: K->S, E->I, +G (the textbook case)
    assertThat(ErrorRate.characters("KITTEN", "SITTING")).isEqualTo(new EditCounts(2, 0, 1, 6));
    // "AB CD" vs "ABCD": one deleted space out of 5 characters
    assertThat(ErrorRate.characters("AB CD", "ABCD")).isEqualTo(new EditCounts(0, 1, 0, 5));
    // surrounding and repeated whitespace is not a character of either text
    assertThat(ErrorRate.characters(" AB  CD ", "AB CD")).isEqualTo(new EditCounts(0, 0, 0, 5));
  }

  @Test
  void corpusRateSumsErrorsInsteadOfAveragingUtteranceRates() {
    // utterance 1: 1 error in 1 word (WER 1.0); utterance 2: 0 errors in 9 words (WER 0)
    EditCounts a = ErrorRate.words("YES", "NO");
    EditCounts b = ErrorRate.words("ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE", "ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE");
    double meanOfRates = (a.rate() + b.rate()) / 2;

    EditCounts corpus = a.plus(b);

    assertThat(corpus).isEqualTo(new EditCounts(1, 0, 0, 10));
    assertThat(corpus.rate()).isEqualTo(0.1);
    assertThat(meanOfRates).isEqualTo(0.5);
  }

  @Test
  void alignsAnyTokens() {
    assertThat(ErrorRate.align(List.of(1, 2, 3), List.of(1, 3, 3, 4))).isEqualTo(new EditCounts(1, 0, 1, 3));
  }
}
