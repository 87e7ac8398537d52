package dev.mha2mla.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * An opened safetensors file: its tensors in header order and its {@code __metadata__}.
 * Tensors are read-only views of the memory-mapped file, so opening costs no copy and the
 * operating system pages data in as it is read. Obtain one with {@link SafeTensorsReader#open}.
 */
public final class SafeTensorsFile {
  private final Path path;
  private final Map<String, RawTensor> tensors;
  private final Map<String, String> metadata;

  private final Map<String, Long> offsets;

  SafeTensorsFile(Path path, LinkedHashMap<String, RawTensor> tensors, LinkedHashMap<String, String> metadata,
      Map<String, Long> offsets) {
    this.path = path;
    this.tensors = Collections.unmodifiableMap(tensors);
    this.metadata = Collections.unmodifiableMap(metadata);
    this.offsets = Map.copyOf(offsets);
  }

  /**
   * Copies the bytes of tensor {@code name} into {@code dst} (from its position, exactly the tensor's byte size) by
   * reading the file through {@code channel} (opened on {@link #path()} for reading), without touching the mapping. A caller that keeps its own copy of every tensor (a model loading
   * its weights) so holds the bytes once in memory: copying from the mapping would also make every page of the file
   * resident in the process (counted in its RSS) for as long as the mapping lives.
   *
   * @throws MalformedFileException if the file has become shorter than its header says
   */
  public void readInto(FileChannel channel, String name, ByteBuffer dst) throws IOException {
    RawTensor t = get(name);
    long bytes = t.byteSize();
    if (dst.remaining() < bytes) {
      throw new IllegalArgumentException("buffer holds " + dst.remaining() + " bytes, tensor '" + name + "' needs " + bytes);
    }
    ByteBuffer target = dst.slice().limit((int) bytes);
    long at = offsets.get(name);
    while (target.hasRemaining()) {
      if (channel.read(target, at + target.position()) < 0) {
        throw new MalformedFileException(path, "ended while reading tensor '" + name + "': the file was truncated "
            + "after it was opened");
      }
    }
  }

  public Path path() {
    return path;
  }

  /** Tensor names in the order the header lists them. */
  public List<String> names() {
    return List.copyOf(tensors.keySet());
  }

  public int size() {
    return tensors.size();
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /**
   * The tensor called {@code name}.
   *
   * @throws NoSuchElementException if the file has no such tensor
   */
  public RawTensor get(String name) {
    RawTensor t = tensors.get(name);
    if (t == null) {
      throw new NoSuchElementException(path + ": no tensor named '" + name + "'");
    }
    return t;
  }

  /** All tensors by name, in header order (unmodifiable). */
  public Map<String, RawTensor> tensors() {
    return tensors;
  }

  /** The header's {@code __metadata__} string map, empty if absent (unmodifiable). */
  public Map<String, String> metadata() {
    return metadata;
  }

  @Override
  public String toString() {
    return "SafeTensorsFile[" + path + ", " + tensors.size() + " tensors]";
  }
}
