package dev.mha2mla.data.synth;

import java.util.ArrayList;
import java.util.List;

/**
 * An espeak-ng voice ({@code -v language+variant}) standing in for a speaker. Speaker numbers are
 * {@code 100 * (language index + 1) + variant index + 1}: 101 is en-us+m1, 411 is en-029+f4.
 */
public record SyntheticVoice(int speaker, String language, String variant) {
  public static final List<String> LANGUAGES = List.of("en-us", "en", "en-gb-x-rp", "en-029");
  public static final List<String> VARIANTS = List.of("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4");

  /** All 44 voices, by speaker number. */
  public static List<SyntheticVoice> all() {
    List<SyntheticVoice> out = new ArrayList<>();
    for (int l = 0; l < LANGUAGES.size(); l++) {
      for (int v = 0; v < VARIANTS.size(); v++) {
        out.add(new SyntheticVoice(100 * (l + 1) + v + 1, LANGUAGES.get(l), VARIANTS.get(v)));
      }
    }
    return out;
  }

  /** The {@code -v} argument of espeak-ng. */
  public String espeakName() {
    return language + "+" + variant;
  }
}
