package dev.mha2mla.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bootstrap intervals against hand cases and the binomial formula they approximate. */
class BootstrapTest {
  private static EditCounts errors(long substitutions, long words) {
    return new EditCounts(substitutions, 0, 0, words);
  }

  @Test
  void utterancesThatAllScoreTheSameGiveAPointInterval() {
    List<EditCounts> u = new ArrayList<>();
    for (int i = 0; i < 50; i++) u.add(errors(1, 10));
    Bootstrap.Interval ci = Bootstrap.corpusRate(u);
    assertEquals(0.1, ci.low(), 1e-12);
    assertEquals(0.1, ci.high(), 1e-12);
  }

  @Test
  void oneWordUtterancesGiveTheBinomialInterval() {
    // n one-word utterances, a tenth of them wrong: the rate is a binomial proportion with standard error
    // sqrt(p (1 - p) / n), and the 95% interval is about p +- 1.96 of it.
    int n = 4000;
    List<EditCounts> u = new ArrayList<>();
    for (int i = 0; i < n; i++) u.add(errors(i % 10 == 0 ? 1 : 0, 1));
    Bootstrap.Interval ci = Bootstrap.corpusRate(u);
    double half = 1.96 * Math.sqrt(0.1 * 0.9 / n);
    assertTrue(ci.contains(0.1), ci.toString());
    assertEquals(2 * half, ci.high() - ci.low(), 0.1 * 2 * half, ci.toString());
    assertEquals(0.1 - half, ci.low(), 0.15 * half);
  }

  @Test
  void aSystemComparedWithItselfDoesNotDiffer() {
    List<EditCounts> u = new ArrayList<>();
    for (int i = 0; i < 300; i++) u.add(errors(i % 7, 12));
    Bootstrap.PairedDifference d = Bootstrap.paired(u, u);
    assertEquals(0, d.difference());
    assertEquals(0, d.interval().low());
    assertEquals(0, d.interval().high());
    assertFalse(d.significant());
    assertEquals(1.0, d.pValue(), 1e-12);
  }

  @Test
  void aConsistentExtraErrorIsSignificantAndPairingNarrowsTheInterval() {
    List<EditCounts> a = new ArrayList<>();
    List<EditCounts> b = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      long base = (i * 37) % 5;
      a.add(errors(base, 10));
      b.add(errors(base + (i % 5 == 0 ? 1 : 0), 10));
    }
    Bootstrap.PairedDifference d = Bootstrap.paired(a, b);
    assertEquals(80.0 / 4000, d.difference(), 1e-12);
    assertTrue(d.significant(), d.toString());
    assertTrue(d.pValue() < 0.001, d.toString());
    // Unpaired, the two systems' intervals overlap (their spread is the utterances', not the difference's).
    Bootstrap.Interval ia = Bootstrap.corpusRate(a);
    Bootstrap.Interval ib = Bootstrap.corpusRate(b);
    assertTrue(ib.low() < ia.high(), ia + " " + ib);
    assertTrue(d.interval().high() - d.interval().low() < 0.5 * (ia.high() - ia.low()), d + " " + ia);
  }

  @Test
  void aChangeThatCancelsOutIsNotSignificant() {
    List<EditCounts> a = new ArrayList<>();
    List<EditCounts> b = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      a.add(errors(1, 10));
      b.add(errors(i == 3 ? 2 : i == 9 ? 0 : 1, 10));
    }
    Bootstrap.PairedDifference d = Bootstrap.paired(a, b);
    assertEquals(0, d.difference(), 1e-15);
    assertFalse(d.significant());
    assertTrue(d.pValue() > 0.5, d.toString());
  }

  @Test
  void pairingNeedsTheSameUtterances() {
    List<EditCounts> a = List.of(errors(1, 10), errors(0, 5));
    assertThrows(IllegalArgumentException.class, () -> Bootstrap.paired(a, List.of(errors(1, 10))));
    assertThrows(IllegalArgumentException.class, () -> Bootstrap.paired(a, List.of(errors(1, 10), errors(0, 6))));
    assertThrows(IllegalArgumentException.class, () -> Bootstrap.corpusRate(List.of()));
  }
}
