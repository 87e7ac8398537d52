package dev.mha2mla.data;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TextNormalizerTest {
  private static String clean(String raw) {
    TextNormalizer.Result r = TextNormalizer.normalize(raw);
    assertThat(r.isClean()).as("unknown characters in %s: %s", raw, r.unknown()).isTrue();
    return r.text();
  }

  @Test
  void upperCasesAndCollapsesWhitespace() {
    assertThat(clean("  the quick\tbrown\n fox  ")).isEqualTo("THE QUICK BROWN FOX");
  }

  @Test
  void keepsApostrophesAndMapsCurlyOnes() {
    assertThat(clean("Don\u2019t stop, it\u2018s the sisters' turn")).isEqualTo("DON'T STOP IT'S THE SISTERS' TURN");
  }

  @Test
  void dropsUnspokenPunctuationAndSplitsHyphenatedWords() {
    assertThat(clean("\u201CWell-known,\u201D she said\u2014quietly (really)... yes?!")).isEqualTo("WELL KNOWN SHE SAID QUIETLY REALLY YES");
  }

  @Test
  void foldsCompatibilityForms() {
    assertThat(clean("\uFB01ne \uFF21BC")).isEqualTo("FINE ABC");
  }

  @Test
  void reportsDigitsSymbolsAndAccentsInsteadOfDroppingThem() {
    TextNormalizer.Result r = TextNormalizer.normalize("Room 101 & caf\u00E9 at 5%");
    assertThat(r.isClean()).isFalse();
    assertThat(r.unknown()).isEqualTo("%&015\u00C9");
  }

  @Test
  void emptyStaysEmpty() {
    assertThat(clean("")).isEmpty();
    assertThat(clean(" . , ")).isEmpty();
  }

  @Test
  void librispeechTextIsAlreadyNormal() {
    String line = "HE HOPED THERE WOULD BE STEW FOR DINNER TURNIPS AND CARROTS AND BRUISED POTATOES";
    assertThat(clean(line)).isEqualTo(line);
  }

  @Test
  void wordsSplitOnAnyWhitespace() {
    assertThat(TextNormalizer.words(" A  B\tC ")).containsExactly("A", "B", "C");
    assertThat(TextNormalizer.words("   ")).isEmpty();
  }
}
