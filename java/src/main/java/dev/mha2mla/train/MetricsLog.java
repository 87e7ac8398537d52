package dev.mha2mla.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-step metrics as {@code metrics.csv} (one row per update or validation, split "train" or "valid") and
 * {@code metrics.jsonl} (the same rows as JSON objects), plus TensorBoard scalars {@code train/loss},
 * {@code train/learning_rate}, {@code train/grad_norm}, {@code valid/loss}, {@code valid/wer} (and, in chunk-aware
 * training, {@code valid/wer_chunk_<size>}). Rows are appended and
 * flushed as they come; a resumed run first drops what the interrupted one logged after its checkpoint.
 */
public final class MetricsLog implements AutoCloseable {
  public static final String CSV = "metrics.csv";
  public static final String JSONL = "metrics.jsonl";
  private static final String HEADER = "step,epoch,split,loss,wer,learning_rate,grad_norm,utterances,frames,seconds,wall_time";

  private final BufferedWriter csv;
  private final BufferedWriter jsonl;
  private final TensorBoardWriter events;

  private MetricsLog(BufferedWriter csv, BufferedWriter jsonl, TensorBoardWriter events) {
    this.csv = csv;
    this.jsonl = jsonl;
    this.events = events;
  }

  /**
   * Opens the logs in {@code dir} for appending, after removing every row past {@code keepThroughStep}
   * (-1 starts them afresh).
   */
  public static MetricsLog open(Path dir, long keepThroughStep) throws IOException {
    Files.createDirectories(dir);
    truncate(dir.resolve(CSV), keepThroughStep, true);
    truncate(dir.resolve(JSONL), keepThroughStep, false);
    if (keepThroughStep >= 0) TensorBoardWriter.truncateAfter(dir, keepThroughStep);
    else deleteEventFiles(dir);
    boolean fresh = !Files.exists(dir.resolve(CSV));
    BufferedWriter csv = Files.newBufferedWriter(dir.resolve(CSV), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    if (fresh) {
      csv.write(HEADER);
      csv.newLine();
    }
    BufferedWriter jsonl = Files.newBufferedWriter(dir.resolve(JSONL), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    return new MetricsLog(csv, jsonl, TensorBoardWriter.create(dir));
  }

  public Path eventFile() {
    return events.file();
  }

  public void step(StepMetrics m) throws IOException {
    row(m.step(), m.epoch(), "train", m.loss(), null, m.learningRate(), m.gradNorm(), m.utterances(), m.frames(), m.seconds());
    events.scalar("train/loss", m.step(), m.loss());
    events.scalar("train/learning_rate", m.step(), m.learningRate());
    events.scalar("train/grad_norm", m.step(), m.gradNorm());
  }

  public void evaluation(Evaluation e) throws IOException {
    row(e.step(), e.epoch(), "valid", e.loss(), e.wordErrorRate(), null, null, e.utterances(), null, e.seconds());
    events.scalar("valid/loss", e.step(), e.loss());
    events.scalar("valid/wer", e.step(), e.wordErrorRate());
    if (e.chunkWordErrorRates() != null) {
      for (Map.Entry<String, Double> c : e.chunkWordErrorRates().entrySet()) {
        events.scalar("valid/wer_chunk_" + c.getKey(), e.step(), c.getValue());
      }
    }
  }

  private void row(long step, long epoch, String split, double loss, Double wer, Double lr, Double gradNorm,
      int utterances, Long frames, double seconds) throws IOException {
    double wall = System.currentTimeMillis() / 1000.0;
    csv.write(String.join(",", Long.toString(step), Long.toString(epoch), split, number(loss), number(wer), number(lr),
        number(gradNorm), Integer.toString(utterances), frames == null ? "" : frames.toString(), number(seconds),
        String.format(Locale.ROOT, "%.3f", wall)));
    csv.newLine();
    csv.flush();
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("step", step);
    json.put("epoch", epoch);
    json.put("split", split);
    json.put("loss", finite(loss));
    if (wer != null) json.put("wer", wer);
    if (lr != null) json.put("learning_rate", lr);
    if (gradNorm != null) json.put("grad_norm", finite(gradNorm));
    json.put("utterances", utterances);
    if (frames != null) json.put("frames", frames);
    json.put("seconds", seconds);
    json.put("wall_time", wall);
    jsonl.write(Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
        .writeValueAsString(json));
    jsonl.newLine();
    jsonl.flush();
  }

  private static Object finite(double v) {
    return Double.isFinite(v) ? (Object) v : Double.toString(v);
  }

  private static String number(Double v) {
    return v == null ? "" : Double.toString(v);
  }

  /** Keeps the rows whose step is at most {@code keep} (and the CSV header); drops a torn last line. */
  private static void truncate(Path file, long keep, boolean csvFile) throws IOException {
    if (!Files.exists(file)) return;
    if (keep < 0) {
      Files.delete(file);
      return;
    }
    List<String> kept = new ArrayList<>();
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (csvFile && i == 0) {
        kept.add(line);
        continue;
      }
      Long step = csvFile ? csvStep(line) : jsonStep(line);
      if (step != null && step <= keep) kept.add(line);
    }
    StringBuilder text = new StringBuilder();
    for (String line : kept) text.append(line).append('\n');
    AtomicFiles.writeString(file, text.toString());
  }

  private static Long csvStep(String line) {
    String[] cells = line.split(",", -1);
    if (cells.length != HEADER.split(",").length) return null;
    try {
      return Long.parseLong(cells[0]);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static Long jsonStep(String line) {
    try {
      JsonNode node = Json.MAPPER.readTree(line);
      return node != null && node.path("step").canConvertToLong() ? node.get("step").asLong() : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static void deleteEventFiles(Path dir) throws IOException {
    try (var list = Files.list(dir)) {
      for (Path p : list.filter(p -> p.getFileName().toString().startsWith(TensorBoardWriter.FILE_PREFIX)).toList()) {
        Files.delete(p);
      }
    }
  }

  @Override
  public void close() throws IOException {
    try (csv; jsonl; events) {
      // closes all three
    }
  }
}
