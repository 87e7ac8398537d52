package dev.mha2mla.benchmarks;

import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsFile;
import dev.mha2mla.io.SafeTensorsReader;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Copies a model folder with its weights in torch.save's layout ({@code pytorch_model.bin}) instead of
 * {@code model.safetensors}, so that the .bin loader can be measured at flagship size where PyTorch is not installed.
 * The archive is what torch.save writes for a state dict: {@code archive/data.pkl} (an OrderedDict of
 * {@code _rebuild_tensor_v2} calls, pickle protocol 2), one stored (uncompressed) little-endian
 * {@code archive/data/<i>} per tensor, {@code archive/byteorder} and {@code archive/version}.
 *
 * <p>{@code java -cp ... dev.mha2mla.benchmarks.TorchSaveCopy SRC OUT}
 */
public final class TorchSaveCopy {
  private TorchSaveCopy() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: TorchSaveCopy SRC OUT");
      System.exit(2);
    }
    Path src = Path.of(args[0]);
    Path out = Path.of(args[1]);
    Files.createDirectories(out);
    for (String name : new String[] {"config.json", "vocab.json", "preprocessor_config.json"}) {
      Files.copy(src.resolve(name), out.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }
    SafeTensorsFile weights = SafeTensorsReader.open(src.resolve("model.safetensors"));
    Pickle pickle = new Pickle();
    pickle.op(0x80, 2).orderedDict().op('(');
    int key = 0;
    for (String name : weights.names()) {
      RawTensor t = weights.get(name);
      long[] stride = new long[t.shape().length];
      long s = 1;
      for (int i = stride.length - 1; i >= 0; i--) {
        stride[i] = s;
        s *= t.shape()[i];
      }
      pickle.str(name).global("torch._utils", "_rebuild_tensor_v2").op('(')
          .op('(').str("storage").global("torch", t.dtype().torchStorageClass()).str(Integer.toString(key++))
          .str("cpu").integer(t.numel()).op('t').op('Q')
          .integer(0).ints(t.shape()).ints(stride).op(0x89).orderedDict().op('t').op('R');
    }
    pickle.op('u').op('.');
    Path bin = out.resolve("pytorch_model.bin");
    try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(bin), 1 << 20);
        ZipOutputStream zip = new ZipOutputStream(file)) {
      zip.setMethod(ZipEntry.STORED);
      entry(zip, "archive/data.pkl", ByteBuffer.wrap(pickle.bytes.toByteArray()));
      key = 0;
      for (String name : weights.names()) entry(zip, "archive/data/" + key++, weights.get(name).data());
      entry(zip, "archive/byteorder", ByteBuffer.wrap("little".getBytes(StandardCharsets.US_ASCII)));
      entry(zip, "archive/version", ByteBuffer.wrap("3\n".getBytes(StandardCharsets.US_ASCII)));
    }
    System.out.printf("%s: %d tensors, %.2f GB%n", bin, key, Files.size(bin) / 1e9);
  }

  /** A stored entry: its CRC and size first (one pass over the bytes), then the bytes in 1 MiB pieces. */
  private static void entry(ZipOutputStream zip, String name, ByteBuffer bytes) throws IOException {
    byte[] piece = new byte[1 << 20];
    CRC32 crc = new CRC32();
    crc.update(bytes.duplicate());
    ZipEntry e = new ZipEntry(name);
    e.setSize(bytes.remaining());
    e.setCrc(crc.getValue());
    zip.putNextEntry(e);
    ByteBuffer b = bytes.duplicate();
    while (b.hasRemaining()) {
      int n = Math.min(piece.length, b.remaining());
      b.get(piece, 0, n);
      zip.write(piece, 0, n);
    }
    zip.closeEntry();
  }

  /** The few pickle opcodes a state dict needs. */
  private static final class Pickle {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    Pickle op(int... codes) {
      for (int c : codes) bytes.write(c);
      return this;
    }

    Pickle global(String module, String name) {
      op('c');
      bytes.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
      return this;
    }

    /** BINUNICODE. */
    Pickle str(String s) {
      byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
      op('X');
      bytes.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(utf8.length).array());
      bytes.writeBytes(utf8);
      return this;
    }

    /** LONG1 with 8 bytes: any non-negative count or offset. */
    Pickle integer(long v) {
      op(0x8a, 8);
      bytes.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
      return this;
    }

    Pickle ints(long[] values) {
      op('(');
      for (long v : values) integer(v);
      return op('t');
    }

    /** collections.OrderedDict(): GLOBAL, EMPTY_TUPLE, REDUCE. */
    Pickle orderedDict() {
      return global("collections", "OrderedDict").op(')').op('R');
    }
  }
}
