package dev.mha2mla.train;

import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsFile;
import dev.mha2mla.io.SafeTensorsReader;
import dev.mha2mla.io.SafeTensorsWriter;
import dev.mha2mla.kernels.TorchTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;

/**
 * The folder {@code OUT/checkpoint/} from which {@code --resume} continues a run bit for bit:
 *
 * <ul>
 *   <li>{@code trainable.safetensors}: the trained tensors (HF names). Frozen tensors are not stored: they are re-read
 *       from the source model (or re-drawn from the seed), and {@link State#frozenChecksum} proves they are the same.
 *   <li>{@code optimizer.safetensors}: AdamW's moments and step count ({@link AdamW#state()}).
 *   <li>{@code checkpoint.json}: the step, the data order of the current epoch, the randomness scheme, fingerprints of
 *       the data, the recipe and the trainer state ({@link State}). The learning-rate schedule and every random draw
 *       are pure functions of (seed, step), so the step is their whole state.
 * </ul>
 *
 * The folder is built under a temporary name and swapped in with {@link AtomicFiles#replaceDirectory}: a run killed
 * at any instant leaves the previous checkpoint or the new one, never a mix.
 */
public final class Checkpoint {
  public static final String DIR = "checkpoint";
  static final String TRAINABLE = "trainable.safetensors";
  static final String OPTIMIZER = "optimizer.safetensors";
  static final String STATE = "checkpoint.json";
  static final int FORMAT = 1;

  private Checkpoint() {}

  /**
   * @param step updates completed
   * @param epoch epoch of the next batch; {@code batchInEpoch} its index there
   * @param epochBatches the batch order of that epoch (indices into the training data), to verify on resume
   * @param randomness how every random draw is derived from (seed, step)
   * @param frozenChecksum SHA-256 of every frozen tensor (names, shapes, bytes)
   * @param worldSize the processes the run's global batches were split over (null in checkpoints of one process
   *     written before data-parallel training existed)
   */
  public record State(int format, long step, long epoch, long batchInEpoch, long seed, String randomness,
      List<int[]> epochBatches, String trainFingerprint, String validFingerprint, String frozenChecksum,
      String source, Recipe recipe, TrainerState trainer, Integer worldSize) {}

  /** A checkpoint read back. */
  public record Loaded(State state, Map<String, RawTensor> trainable, Map<String, RawTensor> optimizer) {}

  public static Path dir(Path out) {
    return out.resolve(DIR);
  }

  public static void write(Path out, Map<String, Tensor> trainable, AdamW optimizer, State state) throws IOException {
    Path target = dir(out);
    Path tmp = out.resolve("." + DIR + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    try {
      Files.createDirectories(tmp);
      Map<String, RawTensor> weights = new LinkedHashMap<>();
      for (Map.Entry<String, Tensor> e : trainable.entrySet()) weights.put(e.getKey(), TorchTensors.toRaw(e.getValue()));
      SafeTensorsWriter.write(tmp.resolve(TRAINABLE), weights, Map.of("step", Long.toString(state.step())));
      SafeTensorsWriter.write(tmp.resolve(OPTIMIZER), optimizer.state(), Map.of("step", Long.toString(state.step())));
      Json.write(tmp.resolve(STATE), state);
      AtomicFiles.replaceDirectory(tmp, target);
    } catch (IOException | RuntimeException e) {
      AtomicFiles.deleteRecursively(tmp);
      throw e;
    }
  }

  /**
   * Reads {@code OUT/checkpoint}, or returns null when there is none. A checkpoint swap that was killed between
   * its two renames leaves the previous checkpoint under a hidden {@code .checkpoint.*.old} name: it is moved back.
   * Temporary folders of killed writes are deleted.
   */
  public static Loaded read(Path out) throws IOException {
    recover(out);
    Path dir = dir(out);
    if (!Files.isDirectory(dir)) return null;
    State state = Json.read(dir.resolve(STATE), State.class);
    if (state.format() != FORMAT) {
      throw new IllegalArgumentException(dir + ": checkpoint format " + state.format() + " is not " + FORMAT
          + " (written by another mha2mla version); start a new run in another --out");
    }
    return new Loaded(state, readAll(dir.resolve(TRAINABLE)), readAll(dir.resolve(OPTIMIZER)));
  }

  private static Map<String, RawTensor> readAll(Path file) throws IOException {
    SafeTensorsFile f = SafeTensorsReader.open(file);
    Map<String, RawTensor> out = new LinkedHashMap<>();
    for (String name : f.names()) out.put(name, f.get(name));
    return out;
  }

  static void recover(Path out) throws IOException {
    if (!Files.isDirectory(out)) return;
    List<Path> hidden;
    try (Stream<Path> list = Files.list(out)) {
      hidden = list.filter(p -> p.getFileName().toString().startsWith("." + DIR + ".")).sorted().toList();
    }
    for (Path p : hidden) {
      String name = p.getFileName().toString();
      if (name.endsWith(".old") && !Files.exists(dir(out)) && Files.isRegularFile(p.resolve(STATE))) {
        Files.move(p, dir(out));
      } else if (name.startsWith("." + DIR + ".tmp-") || name.endsWith(".old")) {
        AtomicFiles.deleteRecursively(p);
      }
    }
  }
}
