package dev.mha2mla.data.synth;

import java.util.Locale;

/**
 * One planned utterance of a synthetic corpus: where it goes, what is said, and how.
 *
 * @param chapter 1 for train, 2 for validation, 3 for test, so ids are unique across the corpus
 * @param id {@code SPEAKER-CHAPTER-NNNN}, as in LibriSpeech
 * @param transcript upper-case words, the model's vocabulary
 * @param wordsPerMinute espeak-ng {@code -s}
 * @param pitch espeak-ng {@code -p}, 0-99
 */
public record SyntheticUtterance(
    String split, SyntheticVoice voice, int chapter, String id, String transcript, int wordsPerMinute, int pitch) {

  /** What espeak-ng reads: lower case (so no word is spelled out as an acronym) and a full stop for falling intonation. */
  public String spokenText() {
    return transcript.toLowerCase(Locale.ROOT) + ".";
  }

  /** {@code SPEAKER/CHAPTER}, relative to the split folder. */
  public String folder() {
    return voice.speaker() + "/" + chapter;
  }
}
