package dev.mha2mla.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Writes pickle opcodes by hand, for tests that need exact (including hostile) pickles. */
final class PickleBuilder {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  /** Raw opcode bytes. */
  PickleBuilder op(int... bytes) {
    for (int b : bytes) {
      out.write(b);
    }
    return this;
  }

  PickleBuilder proto(int version) {
    return op(0x80, version);
  }

  /** GLOBAL: "c" module "\n" name "\n". */
  PickleBuilder global(String module, String name) {
    op('c');
    out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    return this;
  }

  /** BINUNICODE: "X", u32 length, UTF-8 bytes. */
  PickleBuilder str(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    op('X');
    out.writeBytes(le(4).putInt(utf8.length).array());
    out.writeBytes(utf8);
    return this;
  }

  /** The smallest integer opcode that holds {@code v}: BININT1, BININT2, BININT or LONG1. */
  PickleBuilder integer(long v) {
    if (v >= 0 && v < 256) {
      return op('K', (int) v);
    }
    if (v >= 0 && v < 65536) {
      op('M');
      out.writeBytes(le(2).putShort((short) v).array());
      return this;
    }
    if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
      op('J');
      out.writeBytes(le(4).putInt((int) v).array());
      return this;
    }
    op(0x8a, 8);
    out.writeBytes(le(8).putLong(v).array());
    return this;
  }

  /** MARK, the integers, TUPLE. */
  PickleBuilder intTuple(long... values) {
    mark();
    for (long v : values) {
      integer(v);
    }
    return tuple();
  }

  PickleBuilder mark() {
    return op('(');
  }

  PickleBuilder tuple() {
    return op('t');
  }

  PickleBuilder emptyTuple() {
    return op(')');
  }

  PickleBuilder emptyDict() {
    return op('}');
  }

  PickleBuilder emptyList() {
    return op(']');
  }

  PickleBuilder reduce() {
    return op('R');
  }

  PickleBuilder build() {
    return op('b');
  }

  PickleBuilder setItem() {
    return op('s');
  }

  PickleBuilder setItems() {
    return op('u');
  }

  PickleBuilder binPersId() {
    return op('Q');
  }

  PickleBuilder newFalse() {
    return op(0x89);
  }

  PickleBuilder stop() {
    return op('.');
  }

  /** {@code collections.OrderedDict()}: the empty dict torch.save writes for state dicts and hooks. */
  PickleBuilder orderedDict() {
    return global("collections", "OrderedDict").emptyTuple().reduce();
  }

  /**
   * {@code torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}, with the
   * storage given as persistent id ('storage', torch.{storageClass}, key, 'cpu', storageNumel).
   */
  PickleBuilder tensor(String storageClass, String key, long storageNumel, long offset, long[] size, long[] stride) {
    global("torch._utils", "_rebuild_tensor_v2");
    mark();
    mark().str("storage").global("torch", storageClass).str(key).str("cpu").integer(storageNumel).tuple();
    binPersId();
    integer(offset).intTuple(size).intTuple(stride).newFalse().orderedDict();
    tuple();
    return reduce();
  }

  byte[] bytes() {
    return out.toByteArray();
  }

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }
}
