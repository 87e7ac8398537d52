package dev.mha2mla.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * An ordered list of utterances whose audio stays on disk until read. Implementations read the
 * LibriSpeech layout, a TSV manifest or a folder of audio files; {@link Datasets#open} picks one.
 * The list (ids, paths, transcripts) is in memory; audio is read one utterance at a time through
 * {@link Utterance#readSamples}.
 *
 * <pre>{@code
 * Dataset test = Datasets.open(Path.of("LibriSpeech/test-clean")).shuffled(7).limit(200);
 * for (Utterance u : test.utterances()) {
 *   float[] samples = u.readSamples(16_000);
 * }
 * }</pre>
 */
public interface Dataset {
  /** Where it came from, and any subset taken, for reports. */
  String name();

  List<Utterance> utterances();

  default int size() {
    return utterances().size();
  }

  /** False for a folder of audio without transcripts: fine to transcribe, nothing to score against. */
  default boolean hasTranscripts() {
    return true;
  }

  /**
   * The same utterances in an order fixed by {@code seed}: a Fisher-Yates shuffle driven by
   * {@link SplittableRandom}, whose sequence the JDK specifies, so a seed gives the same order everywhere.
   */
  default Dataset shuffled(long seed) {
    List<Utterance> list = new ArrayList<>(utterances());
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = list.size() - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      Utterance t = list.get(i);
      list.set(i, list.get(j));
      list.set(j, t);
    }
    return Datasets.simple(name() + " shuffled(seed " + seed + ")", list, hasTranscripts());
  }

  /** The first {@code n} utterances (all of them if there are fewer). */
  default Dataset limit(int n) {
    if (n < 0) throw new IllegalArgumentException("a dataset limit must be >= 0, got " + n);
    if (n >= size()) return this;
    return Datasets.simple(name() + " first " + n, utterances().subList(0, n), hasTranscripts());
  }
}
