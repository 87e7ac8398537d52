package dev.mha2mla.data.synth;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Everything about a synthetic corpus that a seed decides, worked out before any audio is made: the
 * sentences, their split, and for each utterance the voice, speed and pitch. Pure and deterministic
 * ({@link SplittableRandom}'s sequence is fixed by the JDK specification), so the audio can then be
 * rendered in any order on any number of threads.
 *
 * <p>Each sentence is spoken once, and the splits partition the sentences, so no sentence is in two
 * splits. Voices are drawn for every utterance independently: every voice can appear in every split.
 */
public record CorpusPlan(
    long seed, int vocabularySize, Splits splits, List<String> vocabulary, List<SyntheticUtterance> utterances) {
  public static final int MIN_WORDS = 4;
  public static final int MAX_WORDS = 12;
  public static final int MIN_SPEED = 130;
  public static final int MAX_SPEED = 200;
  public static final int MIN_PITCH = 30;
  public static final int MAX_PITCH = 70;

  public static CorpusPlan create(long seed, int count, int vocabularySize, Splits splits) {
    if (count < 1) throw new IllegalArgumentException("--count must be at least 1, got " + count);
    ClosedVocabulary vocabulary = ClosedVocabulary.embedded().top(vocabularySize);
    SplittableRandom root = new SplittableRandom(seed);
    // separate streams, so that the voices drawn do not depend on how many draws the sentences took
    SplittableRandom sentenceRandom = root.split();
    SplittableRandom voiceRandom = root.split();
    List<String> sentences = new SentenceSampler(vocabulary, MIN_WORDS, MAX_WORDS).distinct(count, sentenceRandom);
    int[] perSplit = splits.allocate(count);
    List<SyntheticVoice> voices = SyntheticVoice.all();
    Map<String, Integer> nextIndex = new HashMap<>();
    List<SyntheticUtterance> out = new ArrayList<>(count);
    int s = 0;
    for (int split = 0; split < 3; split++) {
      for (int k = 0; k < perSplit[split]; k++, s++) {
        SyntheticVoice voice = voices.get(voiceRandom.nextInt(voices.size()));
        int speed = MIN_SPEED + voiceRandom.nextInt(MAX_SPEED - MIN_SPEED + 1);
        int pitch = MIN_PITCH + voiceRandom.nextInt(MAX_PITCH - MIN_PITCH + 1);
        int chapter = split + 1;
        String prefix = voice.speaker() + "-" + chapter;
        int index = nextIndex.merge(prefix, 1, Integer::sum) - 1;
        String id = String.format("%s-%04d", prefix, index);
        out.add(new SyntheticUtterance(Splits.NAMES.get(split), voice, chapter, id, sentences.get(s), speed, pitch));
      }
    }
    return new CorpusPlan(seed, vocabularySize, splits, vocabulary.words(), List.copyOf(out));
  }

  public List<SyntheticUtterance> split(String name) {
    return utterances.stream().filter(u -> u.split().equals(name)).toList();
  }
}
