package dev.mha2mla.io;

import java.io.IOException;
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
   * The file offset of tensor {@code name}'s first byte: a caller that keeps its own copy of every tensor (a model
   * loading its weights) reads them there with positional reads, so it holds the bytes once; copying from the
   * mapping would also make every page of the file resident in the process for as long as the mapping lives.
   */
  public long offset(String name) {
    get(name);
    return offsets.get(name);
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
