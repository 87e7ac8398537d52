package dev.mha2mla.io;

import dev.mha2mla.io.SafeUnpickler.Tuple;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads a state dict saved by {@code torch.save} (PyTorch 1.6 and later), such as a HuggingFace
 * {@code pytorch_model.bin}, without running any of the pickle's code.
 *
 * <p>The file is a zip archive whose entries share one top folder, {@code <prefix>/}:
 * <ul>
 *   <li>{@code data.pkl}: the pickled object; tensors appear as
 *       {@code torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
 *       backward_hooks[, metadata])}, and each storage as a persistent id
 *       {@code ('storage', torch.<Type>Storage, key, location, numel)};</li>
 *   <li>{@code data/<key>}: the raw bytes of storage {@code key}, numel elements, no header;</li>
 *   <li>{@code byteorder} (PyTorch 2.1+): {@code little} or {@code big}, the storages' byte order
 *       (little when absent); {@code version}: the format version, not needed here.</li>
 * </ul>
 * Offsets, sizes and strides count elements. The pickle may only name
 * {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2},
 * {@code torch._utils._rebuild_parameter} and the {@code torch.<Type>Storage} classes; anything else
 * (such as {@code os.system}) is refused before it could be used.
 *
 * <p>Memory stays within what the archive holds: storages are read only as far as their entries really
 * extend, contiguous tensors are views of them, and the copies made for strided views may not add up
 * to more than the archive's storage bytes (so a stride-0 "broadcast" view cannot inflate a tiny file).
 * torch.save writes every entry STORED (uncompressed), so an entry's bytes are in the file, where a little-endian
 * storage is mapped in place ({@link ZipLayout} finds it) rather than copied onto the heap; a compressed
 * entry is read only if its declared size is the one the pickle implies (dtype x numel for a storage) and
 * inflates at most {@link #MAX_INFLATION_RATIO} times its compressed size (plus
 * {@link #INFLATION_SLACK_BYTES}), and all entries together may not inflate past that ratio times the file
 * size (plus the slack): a DEFLATE bomb (1 GiB of zeros deflates to 1 MiB) is refused before inflating.
 */
public final class TorchPickleReader {
  /** Largest {@code data.pkl} accepted; a state dict needs about 150 bytes per tensor. */
  public static final long MAX_PICKLE_BYTES = 64L << 20;

  /**
   * Most an entry may expand when inflated, as uncompressed / compressed bytes. torch.save stores entries
   * (ratio 1); re-zipped float weights deflate by 1.1x to 1.5x at best (their low mantissa bits are noise), so
   * 20 leaves room for sparse or low-precision tensors while a file can unpack to at most 20 times its size.
   */
  public static final long MAX_INFLATION_RATIO = 20;

  /**
   * Bytes an entry (and the archive as a whole) may inflate beyond {@link #MAX_INFLATION_RATIO} times its
   * compressed size: an all-zero tensor deflates about 1000:1, and one of up to a million floats (a zero bias,
   * a fresh embedding) must still load from a re-zipped archive.
   */
  public static final long INFLATION_SLACK_BYTES = 4L << 20;

  private static final String ALLOWED_GLOBALS = "collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
      + "torch._utils._rebuild_parameter and torch.<Type>Storage";

  private TorchPickleReader() {
  }

  /**
   * Reads every tensor of the state dict in {@code path}, in the order it was saved.
   * Contiguous tensors share bytes with their storage (and with each other where they did in PyTorch);
   * strided views are copied into contiguous row-major order.
   *
   * @throws MalformedFileException if the file is not a torch.save zip archive, is damaged, refers to a
   *     global outside the allow-list, or its top-level object is not a dict of name to tensor
   */
  public static Map<String, RawTensor> read(Path path) throws IOException {
    return read(path, null);
  }

  /**
   * As {@link #read(Path)}; stored (uncompressed) little-endian storages, as torch.save writes them, are mapped from
   * the file rather than read, so nothing of them passes through the Java heap and no page is resident until read.
   *
   * @param fileOffsets if not null, receives for each tensor that is a contiguous view of such a storage the file
   *     offset of its first byte, so that a caller can read it with positional reads without touching the mapping
   */
  public static Map<String, RawTensor> read(Path path, Map<String, Long> fileOffsets) throws IOException {
    ZipFile zip;
    try {
      zip = new ZipFile(path.toFile());
    } catch (ZipException e) {
      throw notAZip(path, e);
    }
    try (zip; FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      Archive archive = new Archive(path, zip, channel);
      Object top = new SafeUnpickler(path, archive.prefix + "data.pkl", archive.readPickle(), archive).load();
      Map<String, RawTensor> tensors = stateDict(path, top);
      if (fileOffsets != null) {
        tensors.forEach((name, t) -> {
          Long at = archive.tensorOffsets.get(t);
          if (at != null) fileOffsets.put(name, at);
        });
      }
      return tensors;
    } catch (ZipException e) {
      throw new MalformedFileException(path, "damaged zip archive: " + e.getMessage(), e);
    }
  }

  private static MalformedFileException notAZip(Path path, ZipException cause) throws IOException {
    byte[] start = new byte[2];
    try (InputStream in = Files.newInputStream(path)) {
      int n = in.readNBytes(start, 0, 2);
      // the pre-1.6 format is a bare pickle stream: PROTO opcode 0x80 first
      if (n == 2 && (start[0] & 0xff) == 0x80) {
        return new MalformedFileException(path, "legacy torch.save format (PyTorch < 1.6) is not supported; "
            + "re-save it with a current PyTorch or convert it to safetensors", cause);
      }
    }
    return new MalformedFileException(path, "not a torch.save zip archive (" + cause.getMessage() + ")", cause);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, RawTensor> stateDict(Path path, Object top) throws MalformedFileException {
    if (!(top instanceof LinkedHashMap<?, ?>)) {
      throw new MalformedFileException(path, "top-level object is a " + SafeUnpickler.typeName(top)
          + ", expected a state dict (tensor name -> tensor)");
    }
    LinkedHashMap<String, RawTensor> out = new LinkedHashMap<>();
    for (Map.Entry<Object, Object> e : ((Map<Object, Object>) top).entrySet()) {
      if (!(e.getKey() instanceof String name)) {
        throw new MalformedFileException(path, "state dict key of type " + SafeUnpickler.typeName(e.getKey())
            + "; expected tensor names");
      }
      if (!(e.getValue() instanceof RawTensor tensor)) {
        throw new MalformedFileException(path, "state dict entry '" + name + "' holds a "
            + SafeUnpickler.typeName(e.getValue()) + ", not a tensor");
      }
      out.put(name, tensor);
    }
    return out;
  }

  /** Functions the pickle may call. */
  private enum AllowedCallable { ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_PARAMETER }

  /** A {@code torch.<Type>Storage} class, as named by a GLOBAL. */
  private record StorageType(DType dtype) {
  }

  /** A storage: numel elements of one dtype from {@code data/<key>}; fileOffset its first byte's, or -1 if read. */
  private record Storage(String key, DType dtype, long numel, ByteBuffer bytes, long fileOffset) {
  }

  /** The zip archive and the pickle handler that resolves its globals and storages. */
  private static final class Archive implements SafeUnpickler.Handler {
    private final Path path;
    private final ZipFile zip;
    private final FileChannel channel;
    private final long fileSize;
    private ZipLayout layout;
    // each contiguous view of a mapped storage, by identity, and the file offset of its first byte
    final Map<RawTensor, Long> tensorOffsets = new IdentityHashMap<>();
    private final String prefix;
    private final boolean bigEndian;
    private final Map<String, Storage> storages = new HashMap<>();
    // strided views are copied; their total may not exceed the storage bytes in the archive
    private long copyBudget;
    // bytes all compressed entries together may still inflate to, and all stored entries still hold
    private long inflationBudget;
    private long storedBudget;

    Archive(Path path, ZipFile zip, FileChannel channel) throws IOException {
      this.path = path;
      this.zip = zip;
      this.channel = channel;
      this.fileSize = channel.size();
      this.storedBudget = fileSize;
      this.inflationBudget = saturatedAdd(saturatedMultiply(fileSize, MAX_INFLATION_RATIO), INFLATION_SLACK_BYTES);
      this.prefix = findPrefix();
      this.bigEndian = readByteOrder();
      for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
        ZipEntry e = en.nextElement();
        if (e.getName().startsWith(prefix + "data/") && e.getSize() > 0) {
          copyBudget += e.getSize();
        }
      }
    }

    private String findPrefix() throws MalformedFileException {
      String found = null;
      for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
        String name = en.nextElement().getName();
        int slash = name.indexOf('/');
        if (slash > 0 && name.indexOf('/', slash + 1) < 0 && name.endsWith("/data.pkl")) {
          if (found != null) {
            throw new MalformedFileException(path, "archive holds two pickles, " + found
                + "data.pkl and " + name + "; expected one torch.save archive");
          }
          found = name.substring(0, slash + 1);
        }
      }
      if (found == null) {
        throw new MalformedFileException(path, "zip archive has no <folder>/data.pkl: not written by torch.save");
      }
      return found;
    }

    private boolean readByteOrder() throws IOException {
      ZipEntry e = zip.getEntry(prefix + "byteorder");
      if (e == null) {
        return false;
      }
      String order = new String(readEntry(e, 16, false), StandardCharsets.US_ASCII).trim();
      return switch (order) {
        case "little" -> false;
        case "big" -> true;
        default -> throw new MalformedFileException(path, prefix + "byteorder says '" + order
            + "', expected 'little' or 'big'");
      };
    }

    byte[] readPickle() throws IOException {
      ZipEntry e = zip.getEntry(prefix + "data.pkl");
      return readEntry(e, MAX_PICKLE_BYTES, false);
    }

    @Override
    public Object global(String module, String name) throws MalformedFileException {
      if (module.equals("collections") && name.equals("OrderedDict")) {
        return AllowedCallable.ORDERED_DICT;
      }
      if (module.equals("torch._utils") && name.equals("_rebuild_tensor_v2")) {
        return AllowedCallable.REBUILD_TENSOR_V2;
      }
      if (module.equals("torch._utils") && name.equals("_rebuild_parameter")) {
        return AllowedCallable.REBUILD_PARAMETER;
      }
      if (module.equals("torch")) {
        Optional<DType> dtype = DType.forTorchStorageClass(name);
        if (dtype.isPresent()) {
          return new StorageType(dtype.get());
        }
      }
      throw new MalformedFileException(path, "pickle refers to global '" + module + "." + name
          + "', which is not allowed (only " + ALLOWED_GLOBALS + "); refusing to load it."
          + " Load only plain state dicts (torch.save(model.state_dict(), ...)) from sources you trust.");
    }

    @Override
    public Object reduce(Object callable, Tuple args) throws IOException {
      if (callable == AllowedCallable.ORDERED_DICT) {
        if (args.size() != 0) {
          throw new MalformedFileException(path, "OrderedDict called with arguments; only OrderedDict() is supported");
        }
        return new LinkedHashMap<>();
      }
      if (callable == AllowedCallable.REBUILD_TENSOR_V2) {
        return rebuildTensor(args);
      }
      if (callable == AllowedCallable.REBUILD_PARAMETER) {
        // _rebuild_parameter(data, requires_grad, backward_hooks)
        if (args.size() != 3 || !(args.get(0) instanceof RawTensor tensor)) {
          throw new MalformedFileException(path, "_rebuild_parameter expects (tensor, requires_grad, hooks)");
        }
        return tensor;
      }
      throw new MalformedFileException(path, "pickle calls a " + describe(callable) + ", which is not callable here");
    }

    @Override
    public Object build(Object object, Object state) throws MalformedFileException {
      // state_dict() returns an OrderedDict carrying a _metadata attribute (module versions); not needed
      if (object instanceof LinkedHashMap<?, ?>) {
        return object;
      }
      throw new MalformedFileException(path, "pickle sets state on a " + describe(object) + "; only dicts are supported");
    }

    @Override
    public Object persistentLoad(Object pid) throws IOException {
      // ('storage', torch.<Type>Storage, key, location, numel)
      if (!(pid instanceof Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))
          || !(t.get(1) instanceof StorageType type) || !(t.get(2) instanceof String key)
          || !(t.get(3) instanceof String) || !(t.get(4) instanceof Long numel)) {
        throw new MalformedFileException(path, "persistent id is not ('storage', torch.<Type>Storage, key, "
            + "location, numel)");
      }
      Storage cached = storages.get(key);
      if (cached != null) {
        if (cached.dtype != type.dtype || cached.numel != numel) {
          throw new MalformedFileException(path, "storage '" + key + "' is referenced as both " + cached.numel
              + " x " + cached.dtype + " and " + numel + " x " + type.dtype);
        }
        return cached;
      }
      Storage storage = loadStorage(key, type.dtype, numel);
      storages.put(key, storage);
      return storage;
    }

    private Storage loadStorage(String key, DType dtype, long numel) throws IOException {
      String entryName = prefix + "data/" + key;
      ZipEntry entry = zip.getEntry(entryName);
      if (entry == null) {
        throw new MalformedFileException(path, "storage '" + key + "' is missing: no entry " + entryName);
      }
      long bytes;
      try {
        bytes = RawTensor.byteSizeOf(dtype, new long[] {numel});
      } catch (IllegalArgumentException e) {
        throw new MalformedFileException(path, "storage '" + key + "': " + e.getMessage());
      }
      if (entry.getSize() >= 0 && entry.getSize() != bytes) {
        throw new MalformedFileException(path, "storage '" + key + "' declares " + numel + " " + dtype
            + " elements (" + bytes + " bytes) but " + entryName + " holds " + entry.getSize() + " bytes");
      }
      if (!bigEndian && entry.getMethod() == ZipEntry.STORED && entry.getSize() == bytes
          && entry.getCompressedSize() == bytes && bytes <= Integer.MAX_VALUE - 8) {
        checkInflation(entry, bytes);
        if (layout == null) layout = new ZipLayout(path, channel);
        long at = layout.dataOffset(entryName);
        if (at + bytes > fileSize) {
          throw new MalformedFileException(path, entryName + ": " + bytes + " bytes from offset " + at
              + " run past the end of the " + fileSize + "-byte file");
        }
        ByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, at, bytes).order(ByteOrder.LITTLE_ENDIAN);
        return new Storage(key, dtype, numel, mapped, at);
      }
      byte[] data = readEntry(entry, bytes, true);
      if (bigEndian) {
        swapBytes(data, dtype.byteSize());
      }
      return new Storage(key, dtype, numel, ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN), -1);
    }

    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    private RawTensor rebuildTensor(Tuple args) throws MalformedFileException {
      if ((args.size() != 6 && args.size() != 7) || !(args.get(0) instanceof Storage storage)
          || !(args.get(1) instanceof Long offset) || !(args.get(2) instanceof Tuple sizeTuple)
          || !(args.get(3) instanceof Tuple strideTuple)) {
        throw new MalformedFileException(path, "_rebuild_tensor_v2 expects (storage, offset, size, stride, "
            + "requires_grad, backward_hooks[, metadata])");
      }
      long[] size = longs(sizeTuple, "size");
      long[] stride = longs(strideTuple, "stride");
      String what = "tensor of shape " + RawTensor.shapeString(size) + " in storage '" + storage.key + "'";
      if (offset < 0) {
        throw new MalformedFileException(path, what + " starts at negative storage offset " + offset);
      }
      if (size.length != stride.length) {
        throw new MalformedFileException(path, what + " has " + stride.length + " strides for "
            + size.length + " dimensions");
      }
      int elementSize = storage.dtype.byteSize();
      long numel;
      try {
        numel = RawTensor.byteSizeOf(storage.dtype, size) / elementSize;
      } catch (IllegalArgumentException e) {
        throw new MalformedFileException(path, what + ": " + e.getMessage());
      }
      if (numel == 0) {
        return new RawTensor(storage.dtype, size, ByteBuffer.allocate(0));
      }
      // the last element read is offset + sum((size_i - 1) * stride_i); it must lie in the storage
      long last = offset;
      try {
        for (int i = 0; i < size.length; i++) {
          last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
        }
      } catch (ArithmeticException e) {
        last = Long.MAX_VALUE;
      }
      if (last >= storage.numel) {
        throw new MalformedFileException(path, what + " at offset " + offset + " with strides "
            + RawTensor.shapeString(stride) + " reaches element " + last + " but the storage has "
            + storage.numel);
      }
      if (isContiguous(size, stride)) {
        ByteBuffer view = storage.bytes.slice((int) (offset * elementSize), (int) (numel * elementSize));
        RawTensor tensor = new RawTensor(storage.dtype, size, view);
        if (storage.fileOffset >= 0) tensorOffsets.put(tensor, storage.fileOffset + offset * elementSize);
        return tensor;
      }
      long bytes = numel * elementSize;
      if (bytes > copyBudget) {
        throw new MalformedFileException(path, what + " is a strided view whose copies would exceed the "
            + "archive's storage bytes (broadcast views are not supported; save tensor.contiguous())");
      }
      copyBudget -= bytes;
      return new RawTensor(storage.dtype, size, gather(storage, offset, size, stride, (int) numel));
    }

    private long[] longs(Tuple tuple, String what) throws MalformedFileException {
      long[] out = new long[tuple.size()];
      for (int i = 0; i < out.length; i++) {
        if (!(tuple.get(i) instanceof Long v) || v < 0) {
          throw new MalformedFileException(path, "_rebuild_tensor_v2 " + what
              + " holds a non-integer or negative entry");
        }
        out[i] = v;
      }
      return out;
    }

    private MalformedFileException malformedEntry(ZipEntry entry, String problem) {
      return new MalformedFileException(path, entry.getName() + ": " + problem);
    }

    /**
     * Reads a whole entry that must hold exactly {@code expected} bytes (or, when {@code exact} is false,
     * at most that many). Memory grows only with bytes actually read, except for stored (uncompressed)
     * entries whose size is already bounded by the file's.
     */
    private byte[] readEntry(ZipEntry entry, long expected, boolean exact) throws IOException {
      long cap = exact ? expected : Math.min(expected, entry.getSize() >= 0 ? entry.getSize() : expected);
      if (!exact && entry.getSize() > expected) {
        throw malformedEntry(entry, entry.getSize() + " bytes, more than the " + expected + " allowed");
      }
      if (cap > Integer.MAX_VALUE - 8) {
        throw malformedEntry(entry, cap + " bytes, more than 2 GiB");
      }
      checkInflation(entry, cap);
      boolean sizeKnown = entry.getMethod() == ZipEntry.STORED && entry.getSize() == entry.getCompressedSize()
          && entry.getCompressedSize() >= cap && entry.getCompressedSize() <= fileSize;
      byte[] buffer = new byte[(int) (sizeKnown ? cap : Math.min(cap, 1 << 20))];
      int n = 0;
      try (InputStream in = zip.getInputStream(entry)) {
        while (true) {
          if (n == buffer.length) {
            if (n == cap) {
              if (in.read() >= 0) {
                throw malformedEntry(entry, "holds more than the " + cap + " bytes expected");
              }
              break;
            }
            buffer = Arrays.copyOf(buffer, (int) Math.min(cap, 2L * buffer.length));
          }
          int r = in.read(buffer, n, buffer.length - n);
          if (r < 0) {
            break;
          }
          n += r;
        }
      }
      if (exact && n != expected) {
        throw malformedEntry(entry, "holds " + n + " bytes, expected " + expected + ": truncated file");
      }
      return n == buffer.length ? buffer : Arrays.copyOf(buffer, n);
    }

    /**
     * Refuses, before reading a byte, a compressed entry that would inflate to {@code bytes}: more than
     * {@link #MAX_INFLATION_RATIO} times its compressed size plus the slack, or past what is left of the
     * archive's budget. Stored entries together may not hold more bytes than the file.
     */
    private void checkInflation(ZipEntry entry, long bytes) throws MalformedFileException {
      long compressed = entry.getCompressedSize();
      if (compressed < 0 || compressed > fileSize) {
        throw malformedEntry(entry, "compressed size " + compressed + " does not fit in the " + fileSize
            + "-byte file");
      }
      if (entry.getMethod() == ZipEntry.STORED) {
        // stored entries that do not overlap hold at most the file's bytes between them
        if (bytes > storedBudget) {
          throw malformedEntry(entry, "reading " + bytes + " more stored bytes would exceed the " + fileSize
              + "-byte file: entries overlap");
        }
        storedBudget -= bytes;
        return;
      }
      long allowed = saturatedAdd(saturatedMultiply(compressed, MAX_INFLATION_RATIO), INFLATION_SLACK_BYTES);
      if (bytes > allowed) {
        throw malformedEntry(entry, "inflating " + compressed + " compressed bytes to " + bytes + " would exceed the "
            + "limit of " + MAX_INFLATION_RATIO + " x compressed size + " + INFLATION_SLACK_BYTES + " bytes = "
            + allowed + " (a zip bomb, or not written by torch.save, which stores entries uncompressed)");
      }
      if (bytes > inflationBudget) {
        throw malformedEntry(entry, "inflating it to " + bytes + " bytes would take the archive's compressed "
            + "entries past the limit of " + MAX_INFLATION_RATIO + " x the " + fileSize + "-byte file size + "
            + INFLATION_SLACK_BYTES + " bytes (a zip bomb, or not written by torch.save, which stores entries "
            + "uncompressed)");
      }
      inflationBudget -= bytes;
    }

    private String describe(Object value) {
      if (value instanceof StorageType s) {
        return "torch." + s.dtype.torchStorageClass() + " class";
      }
      if (value instanceof Storage) {
        return "storage";
      }
      if (value instanceof RawTensor) {
        return "tensor";
      }
      if (value instanceof AllowedCallable) {
        return "function";
      }
      return SafeUnpickler.typeName(value);
    }
  }

  // Row-major contiguity, ignoring strides of size-1 dimensions as PyTorch does.
  private static boolean isContiguous(long[] size, long[] stride) {
    long expected = 1;
    for (int i = size.length - 1; i >= 0; i--) {
      if (size[i] != 1 && stride[i] != expected) {
        return false;
      }
      expected *= size[i];
    }
    return true;
  }

  /** Copies a strided view into a new contiguous row-major buffer, walking indices like an odometer. */
  private static ByteBuffer gather(Storage storage, long offset, long[] size, long[] stride, int numel) {
    int elementSize = storage.dtype.byteSize();
    byte[] out = new byte[numel * elementSize];
    long[] index = new long[size.length];
    long source = offset;
    for (int k = 0; k < numel; k++) {
      storage.bytes.get((int) (source * elementSize), out, k * elementSize, elementSize);
      for (int d = size.length - 1; d >= 0; d--) {
        index[d]++;
        source += stride[d];
        if (index[d] < size[d]) {
          break;
        }
        source -= stride[d] * size[d];
        index[d] = 0;
      }
    }
    return ByteBuffer.wrap(out);
  }

  private static long saturatedMultiply(long a, long b) {
    long r = a * b;
    return (a != 0 && (r / a != b || r < 0)) ? Long.MAX_VALUE : r;
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return r < 0 ? Long.MAX_VALUE : r;
  }

  private static void swapBytes(byte[] data, int elementSize) {
    for (int at = 0; at + elementSize <= data.length; at += elementSize) {
      for (int i = 0, j = elementSize - 1; i < j; i++, j--) {
        byte t = data[at + i];
        data[at + i] = data[at + j];
        data[at + j] = t;
      }
    }
  }
}
