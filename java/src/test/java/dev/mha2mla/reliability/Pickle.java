package dev.mha2mla.reliability;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes pickle opcodes by hand (protocol 2 and 4 spellings), for archives whose every byte a test must control:
 * hostile ones above all. Opcode letters are those of CPython's {@code pickletools}.
 */
final class Pickle {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  Pickle op(int... bytes) {
    for (int b : bytes) out.write(b);
    return this;
  }

  Pickle proto(int version) {
    return op(0x80, version);
  }

  /** GLOBAL: {@code c module \n name \n}. */
  Pickle global(String module, String name) {
    op('c');
    out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    return this;
  }

  /** Protocol 4's spelling of a global: two strings, then STACK_GLOBAL. */
  Pickle stackGlobal(String module, String name) {
    return str(module).str(name).op(0x93);
  }

  /** BINUNICODE. */
  Pickle str(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    op('X');
    out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(utf8.length).array());
    out.writeBytes(utf8);
    return this;
  }

  /** BININT (32-bit) or, beyond that, LONG1 with 8 bytes. */
  Pickle integer(long v) {
    if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
      op('J');
      out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
    } else {
      op(0x8a, 8);
      out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }
    return this;
  }

  Pickle intTuple(long... values) {
    mark();
    for (long v : values) integer(v);
    return tuple();
  }

  Pickle mark() {
    return op('(');
  }

  Pickle tuple() {
    return op('t');
  }

  Pickle reduce() {
    return op('R');
  }

  Pickle stop() {
    return op('.');
  }

  /** {@code collections.OrderedDict()}. */
  Pickle orderedDict() {
    return global("collections", "OrderedDict").op(')').reduce();
  }

  /** The persistent id torch.save writes for a storage: ('storage', torch.{storageClass}, key, 'cpu', numel). */
  Pickle storage(String storageClass, String key, long numel) {
    return mark().str("storage").global("torch", storageClass).str(key).str("cpu").integer(numel).tuple().op('Q');
  }

  /** {@code _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}. */
  Pickle tensor(String storageClass, String key, long storageNumel, long offset, long[] size, long[] stride) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    storage(storageClass, key, storageNumel);
    integer(offset).intTuple(size).intTuple(stride).op(0x89).orderedDict();
    return tuple().reduce();
  }

  /** A state dict {@code {name: contiguous 1-D float tensor of storage "0"}} around whatever {@code value} writes. */
  static byte[] stateDict(String name, java.util.function.Consumer<Pickle> value) {
    Pickle p = new Pickle().proto(2).orderedDict().str(name);
    value.accept(p);
    return p.op('s').stop().bytes();
  }

  byte[] bytes() {
    return out.toByteArray();
  }
}
