package dev.mha2mla.train;

import dev.mha2mla.model.Chunking;
import dev.mha2mla.model.WaveformStatistics;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

/**
 * Chunk-aware training ({@code finetune --streaming}), after WeNet's dynamic chunk training: every update draws one chunk
 * size from {@code chunkSizes} (uniformly, from the seed and the step) and runs the forward pass restricted as a stream
 * with that chunk and {@code leftContextFrames} would run ({@link Chunking}), so the model learns the function its
 * streams compute, at every latency of the set at once. A size of {@link #FULL} (0) is the unrestricted whole-utterance
 * pass. Validation decodes its batches at the sizes of the set in turn.
 *
 * <p>The waveform is normalised with fixed statistics, folded into the first convolution before training, so that the
 * trained model reads raw samples in its full pass and in its streams alike ({@code do_normalize} false).
 *
 * @param chunkSizes frames per chunk to draw from, each at least 1, or {@link #FULL}
 * @param leftContextFrames the earlier frames a chunk attends to (use the left context the model will stream with)
 * @param statistics the fixed waveform statistics, or null: the ones the model folder records, else those of --train
 */
public record StreamingTraining(List<Integer> chunkSizes, int leftContextFrames, WaveformStatistics statistics) {
  /** The whole utterance, unrestricted. */
  public static final int FULL = 0;
  /** 20 ms to 640 ms chunks and whole utterances. */
  public static final List<Integer> DEFAULT_CHUNKS = List.of(1, 4, 8, 16, 32, FULL);
  /** What chunk-aware training updates unless told otherwise (measured: see MODEL.md of the shipped streaming model). */
  public static final TrainScope DEFAULT_SCOPE = TrainScope.ENCODER;
  /** The left context of {@code StreamOptions.DEFAULT}. */
  public static final int DEFAULT_LEFT_CONTEXT = 512;

  public StreamingTraining {
    if (chunkSizes == null || chunkSizes.isEmpty()) throw new IllegalArgumentException("--chunks needs at least one size");
    if (leftContextFrames < 0) {
      throw new IllegalArgumentException("--left-context must be 0 or more frames, got " + leftContextFrames);
    }
    if (new LinkedHashSet<>(chunkSizes).size() != chunkSizes.size()) {
      throw new IllegalArgumentException("--chunks lists a size twice: " + describe(chunkSizes));
    }
    for (int c : chunkSizes) {
      if (c < 0) throw new IllegalArgumentException("--chunks: a chunk must be at least 1 frame (or 'full'), got " + c);
      if (c != FULL) new Chunking(c, leftContextFrames);
    }
    chunkSizes = List.copyOf(chunkSizes);
  }

  public static StreamingTraining defaults() {
    return new StreamingTraining(DEFAULT_CHUNKS, DEFAULT_LEFT_CONTEXT, null);
  }

  /** The same settings with the statistics resolved. */
  public StreamingTraining withStatistics(WaveformStatistics s) {
    return new StreamingTraining(chunkSizes, leftContextFrames, s);
  }

  /** The restriction of chunk size {@code size}: null for {@link #FULL}. */
  public Chunking chunking(int size) {
    return size == FULL ? null : new Chunking(size, leftContextFrames);
  }

  /** "1,4,16,full" to sizes; the CLI's --chunks. */
  public static List<Integer> parseChunks(String text) {
    List<Integer> out = new ArrayList<>();
    for (String part : text.split(",")) {
      String p = part.trim().toLowerCase(Locale.ROOT);
      if (p.equals("full")) {
        out.add(FULL);
        continue;
      }
      try {
        int c = Integer.parseInt(p);
        if (c < 1) throw new IllegalArgumentException("--chunks: a chunk must be at least 1 frame (or 'full'), got " + c);
        out.add(c);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--chunks takes frame counts and 'full', comma-separated (e.g. 1,4,16,full), got '"
            + text + "'");
      }
    }
    return out;
  }

  public static String describe(List<Integer> sizes) {
    return String.join(",", sizes.stream().map(StreamingTraining::name).toList());
  }

  /** "16" or "full". */
  public static String name(int size) {
    return size == FULL ? "full" : Integer.toString(size);
  }

  /** What a checkpoint's recipe records, so a resumed run trains the same way. */
  String recipe() {
    return String.format(Locale.ROOT, "chunks %s, left context %d, waveform statistics %s", describe(chunkSizes),
        leftContextFrames, statistics == null ? "none (raw samples)"
            : String.format(Locale.ROOT, "mean %.9g std %.9g", statistics.mean(), statistics.std()));
  }
}
