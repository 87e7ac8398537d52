package dev.mha2mla.model;

import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsFile;
import dev.mha2mla.io.SafeTensorsReader;
import dev.mha2mla.io.TorchPickleReader;
import dev.mha2mla.kernels.TorchTensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The weights of a model folder as HuggingFace names them, loaded once, handed out by name with a shape
 * check, and audited at the end: every key of the file must have been taken by some layer (or
 * explicitly kept as unused), and every key a layer asks for must exist.
 */
public final class StateDict {
  public static final String SAFETENSORS = "model.safetensors";
  public static final String PYTORCH_BIN = "pytorch_model.bin";

  private final String source;
  private final Map<String, RawTensor> raw;
  // floating-point weights already read into LibTorch tensors (safetensors files), handed out by take()
  private final Map<String, Tensor> loaded;
  private final Set<String> taken = new LinkedHashSet<>();
  private final List<String> missing = new ArrayList<>();
  private Device device;

  public StateDict(String source, Map<String, RawTensor> raw) {
    this(source, raw, new LinkedHashMap<>());
  }

  private StateDict(String source, Map<String, RawTensor> raw, Map<String, Tensor> loaded) {
    this.source = source;
    this.raw = raw;
    this.loaded = loaded;
  }

  /**
   * Reads {@code model.safetensors}, or {@code pytorch_model.bin} where there is no safetensors file. The floating-point
   * tensors of a safetensors file are read straight into LibTorch memory (the file is mapped only to validate its
   * layout and to hand out the few tensors a model keeps unused), so each weight is resident once.
   */
  public static StateDict read(Path modelDir) throws IOException {
    Path st = modelDir.resolve(SAFETENSORS);
    if (Files.isRegularFile(st)) {
      SafeTensorsFile file = SafeTensorsReader.open(st);
      Map<String, Long> offsets = new LinkedHashMap<>();
      for (String name : file.names()) offsets.put(name, file.offset(name));
      return load(st, file.tensors(), offsets);
    }
    Path bin = modelDir.resolve(PYTORCH_BIN);
    if (Files.isRegularFile(bin)) {
      Map<String, Long> offsets = new LinkedHashMap<>();
      Map<String, RawTensor> map = TorchPickleReader.read(bin, offsets);
      return load(bin, map, offsets);
    }
    throw new NoSuchFileException(modelDir + ": no " + SAFETENSORS + " or " + PYTORCH_BIN + " in the model folder");
  }

  /**
   * The floating-point tensors whose bytes lie contiguous in {@code file} at {@code offsets} are read with positional
   * reads straight into LibTorch memory, never through the mapping, so each weight is resident once; the others
   * (integers, or tensors a torch.save archive holds compressed, big-endian or strided) stay as read. Every
   * floating-point tensor is checked for NaN and infinities.
   */
  private static StateDict load(Path file, Map<String, RawTensor> views, Map<String, Long> offsets) throws IOException {
    Map<String, Tensor> loaded = new LinkedHashMap<>();
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      for (Map.Entry<String, RawTensor> e : views.entrySet()) {
        String name = e.getKey();
        RawTensor view = e.getValue();
        Long at = offsets.get(name);
        if (!view.dtype().isFloatingPoint() || at == null) {
          if (view.dtype().isFloatingPoint()) requireFinite(file, name, view);
          continue;
        }
        Tensor t = TorchTensors.keep(torch.empty(view.shape(), new TensorOptions(TorchTensors.scalarType(view.dtype())),
            new MemoryFormatOptional()));
        loaded.put(name, t);
        ByteBuffer bytes = new BytePointer(t.data_ptr()).capacity(view.byteSize()).asBuffer();
        readFully(file, channel, name, at, bytes);
        requireFinite(file, name, new RawTensor(view.dtype(), view.shape(), bytes.rewind()));
      }
    } catch (IOException | RuntimeException e) {
      for (Tensor t : loaded.values()) t.close();
      throw e;
    }
    return new StateDict(file.toString(), views, loaded);
  }

  private static void readFully(Path file, FileChannel channel, String name, long at, ByteBuffer dst) throws IOException {
    while (dst.hasRemaining()) {
      if (channel.read(dst, at + dst.position()) < 0) {
        throw new MalformedFileException(file, "ended while reading tensor '" + name + "': the file was truncated "
            + "after it was opened");
      }
    }
  }

  /**
   * Refuses weights holding NaN or an infinity: one such value propagates through every layer to NaN logits,
   * which decode to an empty transcript without an error. A linear scan, a small cost next to reading the file.
   */
  private static void requireFinite(Path file, String name, RawTensor t) throws MalformedFileException {
    long at = t.indexOfNonFinite();
    if (at >= 0) {
      throw new MalformedFileException(file, "tensor '" + name + "' (" + t.dtype() + " "
          + Arrays.toString(t.shape()) + ") holds " + t.floatingValueAt(at) + " at flat index " + at
          + "; weights must be finite (a diverged training run or a damaged file)");
    }
  }

  public String source() {
    return source;
  }

  /** Tensors handed out from now on are placed on {@code device} (null = CPU). */
  public void placeOn(Device device) {
    this.device = device;
  }

  /** Takes every stored tensor whose name starts with {@code prefix} as unused-but-kept, into {@code out}. */
  public void keepAllWithPrefix(String prefix, Map<String, RawTensor> out) {
    for (Map.Entry<String, RawTensor> e : raw.entrySet()) {
      if (e.getKey().startsWith(prefix)) {
        taken.add(e.getKey());
        out.put(e.getKey(), e.getValue());
      }
    }
  }

  public boolean contains(String name) {
    return raw.containsKey(name);
  }

  /** The named tensor as a new CPU tensor, after checking its shape; a missing name is remembered and reported by {@link #finish()}. */
  public Tensor take(String name, long... shape) {
    RawTensor t = raw.get(name);
    if (t == null) {
      missing.add(name + " " + Arrays.toString(shape));
      return null;
    }
    if (!Arrays.equals(t.shape(), shape)) {
      throw new UnsupportedModelException(source + ": tensor '" + name + "' has shape " + Arrays.toString(t.shape())
          + " but config.json implies " + Arrays.toString(shape) + " (config and weights disagree)");
    }
    if (!t.dtype().isFloatingPoint()) {
      throw new UnsupportedModelException(source + ": tensor '" + name + "' has dtype " + t.dtype()
          + "; weights must be floating point (F32, F16, BF16 or F64)");
    }
    taken.add(name);
    Tensor read = loaded.remove(name);
    Tensor out = read != null ? read : TorchTensors.keep(TorchTensors.fromRaw(t));
    if (!TorchTensors.isType(out, ScalarType.Float) || device != null) {
      Tensor converted = TorchTensors.keep(out.to(device == null ? out.device() : device, ScalarType.Float));
      out.close();
      out = converted;
    }
    return out;
  }

  /** Marks a stored tensor that the CTC forward pass does not use (kept so a converted model can write it back). */
  public RawTensor keepUnused(String name) {
    RawTensor t = raw.get(name);
    if (t != null) taken.add(name);
    return t;
  }

  /** Frees the tensors read from the file that no layer has taken (a finished or failed load). */
  public void releaseUntaken() {
    for (Tensor t : loaded.values()) t.close();
    loaded.clear();
  }

  /** Fails if a layer asked for a missing tensor or the file holds tensors no layer took; frees what no layer took. */
  public void finish() {
    releaseUntaken();
    Set<String> unknown = new TreeSet<>(raw.keySet());
    unknown.removeAll(taken);
    if (!missing.isEmpty() || !unknown.isEmpty()) {
      StringBuilder sb = new StringBuilder(source).append(": weights do not match config.json.");
      if (!missing.isEmpty()) sb.append(" Missing ").append(missing.size()).append(": ").append(head(missing)).append('.');
      if (!unknown.isEmpty()) sb.append(" Unexpected ").append(unknown.size()).append(": ").append(head(new ArrayList<>(unknown))).append('.');
      throw new UnsupportedModelException(sb.toString());
    }
  }

  private static String head(List<String> names) {
    return names.size() <= 8 ? names.toString() : names.subList(0, 8) + " ...";
  }
}
