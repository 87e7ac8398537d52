package dev.mha2mla.train;

import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Utterance;
import dev.mha2mla.model.AudioNormalizer;
import dev.mha2mla.model.FeatureEncoder;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * A dataset checked and prepared for CTC training: every utterance's sample count and label ids, read once when
 * the data is opened. Checking everything up front means a bad utterance stops the run before the first update,
 * with a message that names it, rather than as a NaN hours later. Audio is read again for each batch, except that
 * sets small enough ({@link #CACHE_SAMPLES} samples in all) keep their normalised audio in memory.
 */
public final class TrainingData {
  /** Keep normalised audio in memory up to this many samples (256 MB of floats, about 70 minutes at 16 kHz). */
  public static final long CACHE_SAMPLES = 64L << 20;

  /** One prepared utterance. */
  public record Item(Utterance utterance, long samples, long frames, long[] labels) {}

  /** A padded batch: audio [B, N] row-major, real samples per row, labels per row. */
  public record Batch(int[] indices, List<String> ids, float[] audio, int paddedSamples, long[] sampleLengths,
      List<long[]> labels) {
    public int size() {
      return indices.length;
    }
  }

  private final String name;
  private final List<Item> items;
  private final AudioNormalizer normalizer;
  private final float[][] cache;
  private final WaveformStatistics.Accumulator raw;

  private TrainingData(String name, List<Item> items, AudioNormalizer normalizer, float[][] cache,
      WaveformStatistics.Accumulator raw) {
    this.name = name;
    this.items = items;
    this.normalizer = normalizer;
    this.cache = cache;
    this.raw = raw;
  }

  /**
   * Reads and checks every utterance of {@code dataset}.
   *
   * @param role how the CLI names the set ("--train", "--valid"), for messages
   * @param progress told the index of each utterance read
   * @throws TrainingDataException if the set is empty, has no transcripts, or any utterance cannot be trained on
   */
  public static TrainingData prepare(String role, Dataset dataset, CtcLabels labels, FeatureEncoder encoder,
      AudioNormalizer normalizer, IntConsumer progress) throws IOException {
    String where = role + " " + dataset.name();
    List<Utterance> utterances = dataset.utterances();
    if (utterances.isEmpty()) {
      throw new TrainingDataException(where + ": the dataset holds no utterances; point " + role
          + " at a TSV manifest (path<TAB>transcript per line) or a LibriSpeech folder with audio");
    }
    if (!dataset.hasTranscripts() || utterances.stream().allMatch(u -> u.transcript().isBlank())) {
      throw new TrainingDataException(where + ": no utterance has a transcript, so there is nothing to train towards; "
          + "use a TSV manifest (path<TAB>transcript) or a LibriSpeech folder with its *.trans.txt files");
    }
    List<Item> items = new ArrayList<>(utterances.size());
    List<String> oovIds = new ArrayList<>();
    List<String> oov = new ArrayList<>();
    List<String> tooLongIds = new ArrayList<>();
    List<String> tooLong = new ArrayList<>();
    long total = 0;
    List<float[]> audio = new ArrayList<>();
    WaveformStatistics.Accumulator raw = new WaveformStatistics.Accumulator();
    for (int i = 0; i < utterances.size(); i++) {
      Utterance u = utterances.get(i);
      float[] samples = u.readSamples(normalizer.samplingRate());
      raw.add(samples);
      StringBuilder unknown = new StringBuilder();
      long[] ids = labels.encode(u.transcript(), unknown);
      long frames = encoder.frames(samples.length);
      if (unknown.length() > 0) {
        oovIds.add(u.id());
        oov.add(u.id() + ": characters without a CTC token: '" + unknown + "'");
      } else if (frames < Math.max(1, CtcLabels.minimumFrames(ids))) {
        tooLongIds.add(u.id());
        tooLong.add(String.format("%s: %d samples give %d frames, but its %d labels need at least %d (\"%s\")", u.id(),
            samples.length, frames, ids.length, Math.max(1, CtcLabels.minimumFrames(ids)), abbreviate(u.transcript())));
      }
      items.add(new Item(u, samples.length, frames, ids));
      total += samples.length;
      if (total <= CACHE_SAMPLES) audio.add(normalizer.normalize(samples));
      progress.accept(i);
    }
    if (!oov.isEmpty()) {
      throw TrainingDataException.listing(where, "have transcripts the model's vocabulary cannot spell", oovIds, oov,
          "normalise the transcripts to the vocabulary (upper-case letters, apostrophe, single spaces) or remove them");
    }
    if (!tooLong.isEmpty()) {
      throw TrainingDataException.listing(where, "have transcripts longer than their audio can carry under CTC",
          tooLongIds, tooLong, "fix or drop these utterances (wrong transcript, or audio cut short)");
    }
    float[][] cache = total <= CACHE_SAMPLES ? audio.toArray(new float[0][]) : null;
    return new TrainingData(dataset.name(), List.copyOf(items), normalizer, cache, raw);
  }

  private static String abbreviate(String s) {
    return s.length() <= 60 ? s : s.substring(0, 57) + "...";
  }

  /** The dataset's name (where it was read from). */
  public String name() {
    return name;
  }

  public int size() {
    return items.size();
  }

  public Item item(int i) {
    return items.get(i);
  }

  /** The mean and standard deviation of every sample of the set as read, before any normalisation. */
  public WaveformStatistics rawStatistics() {
    return raw.result();
  }

  public long[] sampleCounts() {
    return items.stream().mapToLong(Item::samples).toArray();
  }

  /** Normalised, right-padded audio and labels of the utterances at {@code indices}. */
  public Batch batch(int[] indices) throws IOException {
    return batch(indices, 0);
  }

  /**
   * As {@link #batch(int[])}, padded to at least {@code paddedSamples}: a rank's share of a global batch is padded as
   * the whole batch is, so that it computes what one process would.
   */
  public Batch batch(int[] indices, int paddedSamples) throws IOException {
    int longest = paddedSamples;
    for (int i : indices) longest = (int) Math.max(longest, items.get(i).samples());
    float[] flat = new float[indices.length * longest];
    long[] lengths = new long[indices.length];
    List<long[]> labels = new ArrayList<>(indices.length);
    List<String> ids = new ArrayList<>(indices.length);
    for (int b = 0; b < indices.length; b++) {
      Item item = items.get(indices[b]);
      float[] x = cache != null ? cache[indices[b]]
          : normalizer.normalize(item.utterance().readSamples(normalizer.samplingRate()));
      System.arraycopy(x, 0, flat, b * longest, x.length);
      Arrays.fill(flat, b * longest + x.length, (b + 1) * longest, normalizer.paddingValue());
      lengths[b] = x.length;
      labels.add(item.labels());
      ids.add(item.utterance().id());
    }
    return new Batch(indices.clone(), ids, flat, longest, lengths, labels);
  }

  /** SHA-256 over ids, sample counts and labels: a resumed run checks it trains on the same data. */
  public String fingerprint() {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Item item : items) {
        sha.update(item.utterance().id().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(Long.toString(item.samples()).getBytes(StandardCharsets.US_ASCII));
        sha.update((byte) 0);
        sha.update(Arrays.toString(item.labels()).getBytes(StandardCharsets.US_ASCII));
        sha.update((byte) '\n');
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
