package dev.mha2mla.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads the safetensors format (https://github.com/huggingface/safetensors):
 * <pre>
 *   u64 little-endian N | N bytes of UTF-8 JSON header | data section (the rest of the file)
 * </pre>
 * The header is one JSON object. Each key is a tensor name mapping to
 * {@code {"dtype": "F32", "shape": [32, 64], "data_offsets": [begin, end]}}, offsets in bytes
 * relative to the start of the data section, end exclusive; the optional key {@code "__metadata__"}
 * maps to a string-to-string object. The tensors' byte ranges must tile the data section exactly:
 * sorted by offset, each begins where the previous ends, the first at 0, the last at the file's end.
 *
 * <p>Every rule is checked, so a damaged or hostile file fails with a {@link MalformedFileException}
 * that says what is wrong instead of producing garbage tensors.
 */
public final class SafeTensorsReader {
  /** The limit the reference implementation puts on the header (100 MB). */
  public static final long MAX_HEADER_BYTES = 100_000_000L;

  static final String METADATA_KEY = "__metadata__";

  // One mapping per run of consecutive tensors up to 2 GiB, the most a ByteBuffer can address.
  static final long MAX_SEGMENT_BYTES = Integer.MAX_VALUE;

  private static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  private SafeTensorsReader() {
  }

  /** Opens, validates and memory-maps a safetensors file. */
  public static SafeTensorsFile open(Path path) throws IOException {
    return open(path, MAX_SEGMENT_BYTES);
  }

  /** As {@link #open(Path)}, mapping at most {@code maxSegmentBytes} per mapping (smaller values test the splitting). */
  static SafeTensorsFile open(Path path, long maxSegmentBytes) throws IOException {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      long fileSize = channel.size();
      if (fileSize < 8) {
        throw new MalformedFileException(path, "file is " + fileSize
            + " bytes, too short for the 8-byte header length of a safetensors file");
      }
      ByteBuffer lengthBytes = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
      long headerLength = lengthBytes.getLong(0);
      if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
        throw new MalformedFileException(path, "header length " + Long.toUnsignedString(headerLength)
            + " exceeds the " + MAX_HEADER_BYTES + "-byte limit: not a safetensors file");
      }
      if (headerLength > fileSize - 8) {
        throw new MalformedFileException(path, "header length " + headerLength + " runs past the end of the "
            + fileSize + "-byte file: truncated, or not a safetensors file");
      }
      ByteBuffer headerBytes = readFully(channel, 8, (int) headerLength);
      long dataStart = 8 + headerLength;
      long dataSize = fileSize - dataStart;

      LinkedHashMap<String, String> metadata = new LinkedHashMap<>();
      List<Entry> entries = parseHeader(path, headerBytes, metadata);
      for (Entry e : entries) {
        if (e.end > dataSize) {
          throw new MalformedFileException(path, "tensor '" + e.name + "' data_offsets [" + e.begin + ", "
              + e.end + "] run past the end of the " + dataSize + "-byte data section: truncated file?");
        }
      }
      List<Entry> byOffset = new ArrayList<>(entries);
      byOffset.sort(Comparator.<Entry>comparingLong(e -> e.begin).thenComparingLong(e -> e.end));
      checkTiling(path, byOffset, dataSize);

      LinkedHashMap<String, RawTensor> tensors = new LinkedHashMap<>();
      Map<String, Long> offsets = new LinkedHashMap<>();
      for (Entry e : entries) {
        tensors.put(e.name, null);
        offsets.put(e.name, dataStart + e.begin);
      }
      mapTensors(channel, dataStart, byOffset, tensors, maxSegmentBytes);
      return new SafeTensorsFile(path, tensors, metadata, offsets);
    }
  }

  private record Entry(String name, DType dtype, long[] shape, long begin, long end) {
  }

  private static List<Entry> parseHeader(Path path, ByteBuffer headerBytes, Map<String, String> metadata)
      throws MalformedFileException {
    JsonNode root;
    try {
      root = JSON.readTree(headerBytes.array(), headerBytes.arrayOffset(), headerBytes.remaining());
    } catch (JacksonException e) {
      throw new MalformedFileException(path, "header is not valid JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new MalformedFileException(path, "header is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new MalformedFileException(path, "header is not a JSON object");
    }
    List<Entry> entries = new ArrayList<>();
    for (Map.Entry<String, JsonNode> field : root.properties()) {
      String name = field.getKey();
      JsonNode value = field.getValue();
      if (name.equals(METADATA_KEY)) {
        parseMetadata(path, value, metadata);
      } else {
        entries.add(parseEntry(path, name, value));
      }
    }
    return entries;
  }

  private static void parseMetadata(Path path, JsonNode node, Map<String, String> metadata)
      throws MalformedFileException {
    if (!node.isObject()) {
      throw new MalformedFileException(path, "__metadata__ is not a JSON object of strings");
    }
    for (Map.Entry<String, JsonNode> f : node.properties()) {
      if (!f.getValue().isTextual()) {
        throw new MalformedFileException(path, "__metadata__ value of '" + f.getKey()
            + "' is not a string: " + f.getValue());
      }
      metadata.put(f.getKey(), f.getValue().textValue());
    }
  }

  private static Entry parseEntry(Path path, String name, JsonNode node) throws MalformedFileException {
    String where = "tensor '" + name + "'";
    if (!node.isObject()) {
      throw new MalformedFileException(path, where + " is not a JSON object");
    }
    JsonNode dtypeNode = node.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw new MalformedFileException(path, where + " has no string 'dtype'");
    }
    DType dtype = DType.forSafetensorsCode(dtypeNode.textValue()).orElseThrow(() -> new MalformedFileException(
        path, where + " has dtype '" + dtypeNode.textValue() + "', which this reader does not support (supported: "
            + Arrays.stream(DType.values()).map(DType::safetensorsCode).collect(Collectors.joining(", ")) + ")"));
    long[] shape = longArray(path, where, "shape", node.get("shape"), -1);
    long[] offsets = longArray(path, where, "data_offsets", node.get("data_offsets"), 2);
    long begin = offsets[0];
    long end = offsets[1];
    if (begin > end) {
      throw new MalformedFileException(path, where + " has data_offsets [" + begin + ", " + end
          + "] that end before they begin");
    }
    long needed;
    try {
      needed = RawTensor.byteSizeOf(dtype, shape);
    } catch (IllegalArgumentException e) {
      throw new MalformedFileException(path, where + ": " + e.getMessage());
    }
    if (end - begin != needed) {
      throw new MalformedFileException(path, where + " declares " + (end - begin) + " bytes but shape "
          + RawTensor.shapeString(shape) + " " + dtype + " needs " + needed);
    }
    return new Entry(name, dtype, shape, begin, end);
  }

  /** A JSON array of non-negative integers that fit a long; {@code length} -1 means any length. */
  private static long[] longArray(Path path, String where, String key, JsonNode node, int length)
      throws MalformedFileException {
    if (node == null || !node.isArray()) {
      throw new MalformedFileException(path, where + " has no array '" + key + "'");
    }
    if (length >= 0 && node.size() != length) {
      throw new MalformedFileException(path, where + " '" + key + "' has " + node.size()
          + " entries, expected " + length);
    }
    long[] out = new long[node.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode v = node.get(i);
      if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
        throw new MalformedFileException(path, where + " '" + key + "' holds " + v
            + ", expected integers from 0 to 2^63-1");
      }
      out[i] = v.longValue();
    }
    return out;
  }

  private static void checkTiling(Path path, List<Entry> byOffset, long dataSize) throws MalformedFileException {
    long expected = 0;
    Entry previous = null;
    for (Entry e : byOffset) {
      if (e.begin < expected) {
        throw new MalformedFileException(path, "tensor '" + e.name + "' bytes [" + e.begin + ", " + e.end
            + ") overlap tensor '" + previous.name + "' bytes [" + previous.begin + ", " + previous.end + ")");
      }
      if (e.begin > expected) {
        throw new MalformedFileException(path, "data section has " + (e.begin - expected)
            + " unused bytes at offset " + expected + " before tensor '" + e.name
            + "'; tensors must tile the data section");
      }
      expected = e.end;
      previous = e;
    }
    if (expected != dataSize) {
      throw new MalformedFileException(path, "data section is " + dataSize + " bytes but the tensors cover "
          + expected + "; tensors must tile the data section");
    }
  }

  private static void mapTensors(FileChannel channel, long dataStart, List<Entry> byOffset,
      Map<String, RawTensor> tensors, long maxSegmentBytes) throws IOException {
    int i = 0;
    while (i < byOffset.size()) {
      long segmentBegin = byOffset.get(i).begin;
      int j = i;
      // every segment takes at least one tensor (byteSizeOf caps a tensor at 2 GiB)
      do {
        j++;
      } while (j < byOffset.size() && byOffset.get(j).end - segmentBegin <= maxSegmentBytes);
      long segmentEnd = byOffset.get(j - 1).end;
      MappedByteBuffer segment = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + segmentBegin,
          segmentEnd - segmentBegin);
      for (int k = i; k < j; k++) {
        Entry e = byOffset.get(k);
        ByteBuffer slice = segment.slice((int) (e.begin - segmentBegin), (int) (e.end - e.begin));
        tensors.put(e.name, new RawTensor(e.dtype, e.shape, slice));
      }
      i = j;
    }
  }

  private static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(length);
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, position + buffer.position());
      if (n < 0) {
        throw new IOException("unexpected end of file");
      }
    }
    buffer.flip();
    return buffer;
  }
}
