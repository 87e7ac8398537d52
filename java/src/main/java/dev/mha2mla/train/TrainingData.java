package dev.mha2mla.train;

import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Utterance;
import dev.mha2mla.distributed.Group;
import dev.mha2mla.io.Json;
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
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * A dataset checked and prepared for CTC training: every utterance's sample count and label ids, read once when
 * the data is opened. Checking everything up front means a bad utterance stops the run before the first update,
 * with a message that names it, rather than as a NaN hours later. Audio is read again for each batch, except that
 * sets small enough ({@link #CACHE_SAMPLES} samples in all) keep their normalised audio in memory once read.
 *
 * <p>In a run of several processes each rank reads only its contiguous share of the set ({@link Group#share}) and
 * the ranks exchange what they measured (sample counts and sums), so the set is read once per run rather than once
 * per rank, and every rank ends with the same items, statistics and fingerprint as one process would.
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

  /**
   * What one rank read of utterances {@code from, from + 1, ...}: each one's sample count, sum and sum of squares;
   * reading stopped at {@code failedAt} (-1: it did not) with {@code failure}, the error's message.
   */
  record Share(int from, long[] samples, double[] sums, double[] squares, int failedAt, String failure) {}

  private final String name;
  private final List<Item> items;
  private final AudioNormalizer normalizer;
  // normalised audio by utterance (null: not read yet), or null when the set is too large to keep
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
   * Reads and checks every utterance of {@code dataset} in this process.
   *
   * @param role how the CLI names the set ("--train", "--valid"), for messages
   * @param progress told the index of each utterance read
   * @throws TrainingDataException if the set is empty, has no transcripts, or any utterance cannot be trained on
   */
  public static TrainingData prepare(String role, Dataset dataset, CtcLabels labels, FeatureEncoder encoder,
      AudioNormalizer normalizer, IntConsumer progress) throws IOException {
    return prepare(role, dataset, labels, encoder, normalizer, progress, Group.SINGLE);
  }

  /**
   * As {@link #prepare(String, Dataset, CtcLabels, FeatureEncoder, AudioNormalizer, IntConsumer)}, over the ranks
   * of {@code group}: this rank reads utterances {@code group.share(n)} alone. An utterance that cannot be read
   * fails every rank with the message of the first such utterance (the error one process would give).
   */
  public static TrainingData prepare(String role, Dataset dataset, CtcLabels labels, FeatureEncoder encoder,
      AudioNormalizer normalizer, IntConsumer progress, Group group) throws IOException {
    check(role, dataset);
    String where = role + " " + dataset.name();
    List<Utterance> utterances = dataset.utterances();
    float[][] cache = new float[utterances.size()][];
    List<Share> shares = exchange(where, read(utterances, group, normalizer, cache, progress), group);
    Share failed = null;
    for (Share s : shares) if (s.failedAt() >= 0 && (failed == null || s.failedAt() < failed.failedAt())) failed = s;
    if (failed != null) {
      throw new IOException(failed.failure() + " (read by rank " + shares.indexOf(failed) + " of " + group.worldSize() + ")");
    }

    List<Item> items = new ArrayList<>(utterances.size());
    List<String> oovIds = new ArrayList<>();
    List<String> oov = new ArrayList<>();
    List<String> tooLongIds = new ArrayList<>();
    List<String> tooLong = new ArrayList<>();
    long total = 0;
    WaveformStatistics.Accumulator raw = new WaveformStatistics.Accumulator();
    for (Share share : shares) {
      for (int j = 0; j < share.samples().length; j++) {
        Utterance u = utterances.get(share.from() + j);
        long samples = share.samples()[j];
        raw.add(samples, share.sums()[j], share.squares()[j]);
        StringBuilder unknown = new StringBuilder();
        long[] ids = labels.encode(u.transcript(), unknown);
        long frames = encoder.frames(samples);
        if (unknown.length() > 0) {
          oovIds.add(u.id());
          oov.add(u.id() + ": characters without a CTC token: '" + unknown + "'");
        } else if (frames < Math.max(1, CtcLabels.minimumFrames(ids))) {
          tooLongIds.add(u.id());
          tooLong.add(String.format("%s: %d samples give %d frames, but its %d labels need at least %d (\"%s\")", u.id(),
              samples, frames, ids.length, Math.max(1, CtcLabels.minimumFrames(ids)), abbreviate(u.transcript())));
        }
        items.add(new Item(u, samples, frames, ids));
        total += samples;
      }
    }
    if (!oov.isEmpty()) {
      throw TrainingDataException.listing(where, "have transcripts the model's vocabulary cannot spell", oovIds, oov,
          "normalise the transcripts to the vocabulary (upper-case letters, apostrophe, single spaces) or remove them");
    }
    if (!tooLong.isEmpty()) {
      throw TrainingDataException.listing(where, "have transcripts longer than their audio can carry under CTC",
          tooLongIds, tooLong, "fix or drop these utterances (wrong transcript, or audio cut short)");
    }
    return new TrainingData(dataset.name(), List.copyOf(items), normalizer, total <= CACHE_SAMPLES ? cache : null, raw);
  }

  /**
   * What can be told of a set without reading its audio.
   *
   * @throws TrainingDataException if the set is empty or has no transcripts
   */
  public static void check(String role, Dataset dataset) {
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
  }

  /**
   * SHA-256 over the ids and transcripts of a set, in order: ranks that list different sets (or the same one in
   * another order) would otherwise exchange measurements of different utterances.
   */
  public static String listing(Dataset dataset) {
    return sha256(sha -> {
      for (Utterance u : dataset.utterances()) {
        sha.update((u.id() + "\t" + u.transcript() + "\n").getBytes(StandardCharsets.UTF_8));
      }
    });
  }

  /** The hex SHA-256 of what {@code content} feeds the digest: the fingerprints a resumed or distributed run compares. */
  static String sha256(Consumer<MessageDigest> content) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      content.accept(sha);
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }


  // reads this rank's share; keeps normalised audio in cache while it holds at most CACHE_SAMPLES samples
  private static Share read(List<Utterance> utterances, Group group, AudioNormalizer normalizer, float[][] cache,
      IntConsumer progress) throws IOException {
    int[] range = group.share(utterances.size());
    int n = range[1] - range[0];
    long[] samples = new long[n];
    double[] sums = new double[n];
    double[] squares = new double[n];
    long kept = 0;
    for (int i = range[0]; i < range[1]; i++) {
      float[] x;
      try {
        x = utterances.get(i).readSamples(normalizer.samplingRate());
      } catch (IOException | RuntimeException e) {
        // alone, fail here; in a run, the others must learn of it through the exchange rather than wait for it
        if (group.isSingle()) throw e;
        int done = i - range[0];
        return new Share(range[0], Arrays.copyOf(samples, done), Arrays.copyOf(sums, done), Arrays.copyOf(squares, done),
            i, e.getMessage() != null ? e.getMessage() : e.toString());
      }
      WaveformStatistics.Accumulator one = new WaveformStatistics.Accumulator();
      one.add(x);
      samples[i - range[0]] = x.length;
      sums[i - range[0]] = one.sum();
      squares[i - range[0]] = one.sumOfSquares();
      if (kept + x.length <= CACHE_SAMPLES) {
        cache[i] = normalizer.normalize(x);
        kept += x.length;
      }
      progress.accept(i);
    }
    return new Share(range[0], samples, sums, squares, -1, null);
  }

  private static List<Share> exchange(String where, Share mine, Group group) throws IOException {
    if (group.isSingle()) return List.of(mine);
    List<Share> all = new ArrayList<>(group.worldSize());
    for (byte[] part : group.allGather("reading " + where, Json.MAPPER.writeValueAsBytes(mine))) {
      all.add(Json.MAPPER.readValue(part, Share.class));
    }
    return all;
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
      float[] x = cache != null ? cache[indices[b]] : null;
      if (x == null) {
        x = normalizer.normalize(item.utterance().readSamples(normalizer.samplingRate()));
        if (cache != null) cache[indices[b]] = x;
      }
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
    return sha256(sha -> {
      for (Item item : items) {
        sha.update(item.utterance().id().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(Long.toString(item.samples()).getBytes(StandardCharsets.US_ASCII));
        sha.update((byte) 0);
        sha.update(Arrays.toString(item.labels()).getBytes(StandardCharsets.US_ASCII));
        sha.update((byte) '\n');
      }
    });
  }

}
