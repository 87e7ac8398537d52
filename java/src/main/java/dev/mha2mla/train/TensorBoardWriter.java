package dev.mha2mla.train;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Scalars in TensorBoard's event-file format, so that {@code tensorboard --logdir OUT} plots a run. The file
 * {@code events.out.tfevents.<seconds>.<host>} holds TFRecords of {@code tensorflow.Event} protos:
 *
 * <pre>
 *   Event   { 1: double wall_time, 2: int64 step, 3: string file_version ("brain.Event:2"), 5: Summary summary }
 *   Summary { 1: repeated Value value }
 *   Value   { 1: string tag, 2: float simple_value }
 * </pre>
 *
 * The first record carries the file version; each scalar is one Event. Records are flushed as written, so a
 * killed run loses at most the scalar being written.
 */
public final class TensorBoardWriter implements AutoCloseable {
  public static final String FILE_PREFIX = "events.out.tfevents.";
  static final String FILE_VERSION = "brain.Event:2";

  private final Path file;
  private final OutputStream out;

  private TensorBoardWriter(Path file) throws IOException {
    this.file = file;
    this.out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    writeEvent(new TfRecords.Proto().fixed64(1, now()).varint(2, 0).string(3, FILE_VERSION));
  }

  /** Starts a new event file in {@code logDir}. */
  public static TensorBoardWriter create(Path logDir) throws IOException {
    Files.createDirectories(logDir);
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    long seconds = System.currentTimeMillis() / 1000;
    Path file = logDir.resolve(FILE_PREFIX + seconds + "." + host);
    for (int i = 1; Files.exists(file); i++) file = logDir.resolve(FILE_PREFIX + seconds + "." + host + "." + i);
    return new TensorBoardWriter(file);
  }

  public Path file() {
    return file;
  }

  /** One scalar point of the series {@code tag}. */
  public void scalar(String tag, long step, double value) throws IOException {
    TfRecords.Proto v = new TfRecords.Proto().string(1, tag).fixed32(2, (float) value);
    TfRecords.Proto summary = new TfRecords.Proto().message(1, v);
    writeEvent(new TfRecords.Proto().fixed64(1, now()).varint(2, step).message(5, summary));
  }

  private void writeEvent(TfRecords.Proto event) throws IOException {
    TfRecords.write(out, event.toByteArray());
    out.flush();
  }

  private static double now() {
    return System.currentTimeMillis() / 1000.0;
  }

  @Override
  public void close() throws IOException {
    out.close();
  }

  /**
   * Drops the events after {@code step} from every event file in {@code logDir} (the file-version record stays):
   * what a killed run logged past its last checkpoint would otherwise show twice once the resumed run logs it again.
   * A file whose last record was cut by the kill keeps its complete records.
   */
  public static void truncateAfter(Path logDir, long step) throws IOException {
    if (!Files.isDirectory(logDir)) return;
    List<Path> files;
    try (Stream<Path> list = Files.list(logDir)) {
      files = list.filter(p -> p.getFileName().toString().startsWith(FILE_PREFIX)).sorted().toList();
    }
    for (Path f : files) {
      byte[] bytes = Files.readAllBytes(f);
      List<byte[]> kept = new ArrayList<>();
      for (byte[] record : readPrefix(bytes)) {
        EventRecord event;
        try {
          event = EventRecord.parse(record);
        } catch (RuntimeException e) {
          kept.add(record); // not an event this writer makes: leave it alone
          continue;
        }
        if (event.step() <= step || event.fileVersion() != null) kept.add(record);
      }
      ByteArrayOutputStream rewritten = new ByteArrayOutputStream();
      for (byte[] record : kept) TfRecords.write(rewritten, record);
      if (!java.util.Arrays.equals(rewritten.toByteArray(), bytes)) {
        dev.mha2mla.io.AtomicFiles.write(f, rewritten.toByteArray());
      }
    }
  }

  /** The complete, CRC-valid records at the start of {@code bytes}; reading stops at the first damaged one. */
  private static List<byte[]> readPrefix(byte[] bytes) {
    List<byte[]> out = new ArrayList<>();
    int at = 0;
    while (at + 12 <= bytes.length) {
      long length = java.nio.ByteBuffer.wrap(bytes, at, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
      if (length < 0 || at + 16 + length > bytes.length) break;
      byte[] one = java.util.Arrays.copyOfRange(bytes, at, (int) (at + 16 + length));
      try {
        out.addAll(TfRecords.readAll(new ByteArrayInputStream(one)));
      } catch (IOException e) {
        break;
      }
      at += 16 + (int) length;
    }
    return out;
  }

  /** The fields of an Event record this writer produces (for reading files back). */
  public record EventRecord(double wallTime, long step, String fileVersion, String tag, Float value) {
    public static EventRecord parse(byte[] event) {
      ProtoReader r = new ProtoReader(event);
      double wall = 0;
      long step = 0;
      String version = null;
      String tag = null;
      Float value = null;
      while (r.more()) {
        int key = (int) r.varint();
        switch (key) {
          case (1 << 3) | 1 -> wall = Double.longBitsToDouble(r.fixed64());
          case (2 << 3) -> step = r.varint();
          case (3 << 3) | 2 -> version = new String(r.bytes(), java.nio.charset.StandardCharsets.UTF_8);
          case (5 << 3) | 2 -> {
            ProtoReader summary = new ProtoReader(r.bytes());
            while (summary.more()) {
              if ((int) summary.varint() != ((1 << 3) | 2)) throw new IllegalArgumentException("unexpected Summary field");
              ProtoReader v = new ProtoReader(summary.bytes());
              while (v.more()) {
                int k = (int) v.varint();
                if (k == ((1 << 3) | 2)) tag = new String(v.bytes(), java.nio.charset.StandardCharsets.UTF_8);
                else if (k == ((2 << 3) | 5)) value = Float.intBitsToFloat(v.fixed32());
                else throw new IllegalArgumentException("unexpected Summary.Value field key " + k);
              }
            }
          }
          default -> throw new IllegalArgumentException("unexpected Event field key " + key);
        }
      }
      return new EventRecord(wall, step, version, tag, value);
    }
  }

  /** Reads protobuf wire format: varints, fixed 32/64, length-delimited. */
  static final class ProtoReader {
    private final byte[] b;
    private int at;

    ProtoReader(byte[] b) {
      this.b = b;
    }

    boolean more() {
      return at < b.length;
    }

    long varint() {
      long v = 0;
      for (int shift = 0; ; shift += 7) {
        int x = b[at++] & 0xff;
        v |= (long) (x & 0x7f) << shift;
        if ((x & 0x80) == 0) return v;
      }
    }

    long fixed64() {
      long v = java.nio.ByteBuffer.wrap(b, at, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
      at += 8;
      return v;
    }

    int fixed32() {
      int v = java.nio.ByteBuffer.wrap(b, at, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
      at += 4;
      return v;
    }

    byte[] bytes() {
      int n = (int) varint();
      byte[] out = java.util.Arrays.copyOfRange(b, at, at + n);
      at += n;
      return out;
    }
  }
}
