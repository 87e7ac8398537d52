package dev.mha2mla.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Writes the safetensors format (see {@link SafeTensorsReader} for the layout). Tensors are laid
 * out back to back in the map's iteration order; the JSON header is padded with spaces to a
 * multiple of 8 bytes so the data section starts 8-byte aligned, as the reference writer does.
 * The file is replaced atomically ({@link AtomicFiles}).
 */
public final class SafeTensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SafeTensorsWriter() {
  }

  /**
   * Writes {@code tensors} (in iteration order) and {@code metadata} (omitted when empty) to {@code path}.
   *
   * @throws IllegalArgumentException if a tensor is named {@code __metadata__}
   */
  public static void write(Path path, Map<String, RawTensor> tensors, Map<String, String> metadata)
      throws IOException {
    byte[] header = header(tensors, metadata);
    AtomicFiles.write(path, out -> {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length).array());
      out.write(header);
      writeData(out, tensors);
    });
  }

  /** Writes {@code tensors} without metadata. */
  public static void write(Path path, Map<String, RawTensor> tensors) throws IOException {
    write(path, tensors, Map.of());
  }

  private static byte[] header(Map<String, RawTensor> tensors, Map<String, String> metadata) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = root.putObject(SafeTensorsReader.METADATA_KEY);
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Map.Entry<String, RawTensor> e : tensors.entrySet()) {
      if (e.getKey().equals(SafeTensorsReader.METADATA_KEY)) {
        throw new IllegalArgumentException("'" + SafeTensorsReader.METADATA_KEY
            + "' is reserved by the format and cannot name a tensor");
      }
      RawTensor t = e.getValue();
      ObjectNode entry = root.putObject(e.getKey());
      entry.put("dtype", t.dtype().safetensorsCode());
      ArrayNode shape = entry.putArray("shape");
      Arrays.stream(t.shape()).forEach(shape::add);
      entry.putArray("data_offsets").add(offset).add(offset + t.byteSize());
      offset += t.byteSize();
    }
    byte[] json = JSON.writeValueAsBytes(root);
    int padded = (json.length + 7) / 8 * 8;
    byte[] header = Arrays.copyOf(json, padded);
    Arrays.fill(header, json.length, padded, (byte) ' ');
    return header;
  }

  private static void writeData(OutputStream out, Map<String, RawTensor> tensors) throws IOException {
    WritableByteChannel channel = Channels.newChannel(out);
    for (RawTensor t : tensors.values()) {
      ByteBuffer data = t.data();
      while (data.hasRemaining()) {
        channel.write(data);
      }
    }
  }
}
