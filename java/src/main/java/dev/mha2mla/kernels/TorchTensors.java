package dev.mha2mla.kernels;

import dev.mha2mla.io.DType;
import dev.mha2mla.io.RawTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Copies between LibTorch tensors and Java-side data (arrays, {@link RawTensor}s). */
public final class TorchTensors {
  private TorchTensors() {}

  /** A new CPU tensor holding a copy of {@code raw}'s bytes. */
  public static Tensor fromRaw(RawTensor raw) {
    Tensor t = torch.empty(raw.shape(), new TensorOptions(scalarType(raw.dtype())), new org.bytedeco.pytorch.MemoryFormatOptional());
    long bytes = raw.numel() * raw.dtype().byteSize();
    if (bytes > 0) {
      ByteBuffer dst = new BytePointer(t.data_ptr()).capacity(bytes).asBuffer();
      dst.put(raw.data().duplicate().rewind());
    }
    return t;
  }

  /** A contiguous little-endian copy of a CPU or GPU tensor, for writing to a file. */
  public static RawTensor toRaw(Tensor t) {
    try (PointerScope scope = new PointerScope()) {
      Tensor c = t.detach().cpu().contiguous();
      long bytes = c.numel() * c.itemsize();
      ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
      if (bytes > 0) out.put(new BytePointer(c.data_ptr()).capacity(bytes).asBuffer());
      out.flip();
      return new RawTensor(dtype(scalarType(c)), c.shape(), out);
    }
  }

  public static float[] toFloats(Tensor t) {
    try (PointerScope scope = new PointerScope()) {
      Tensor c = t.detach().cpu().to(ScalarType.Float).contiguous();
      float[] out = new float[Math.toIntExact(c.numel())];
      if (out.length > 0) ((FloatBuffer) c.createBuffer()).get(out);
      return out;
    }
  }

  public static double[] toDoubles(Tensor t) {
    try (PointerScope scope = new PointerScope()) {
      Tensor c = t.detach().cpu().to(ScalarType.Double).contiguous();
      double[] out = new double[Math.toIntExact(c.numel())];
      if (out.length > 0) ((java.nio.DoubleBuffer) c.createBuffer()).get(out);
      return out;
    }
  }

  public static long[] toLongs(Tensor t) {
    try (PointerScope scope = new PointerScope()) {
      Tensor c = t.detach().cpu().to(ScalarType.Long).contiguous();
      long[] out = new long[Math.toIntExact(c.numel())];
      if (out.length > 0) ((LongBuffer) c.createBuffer()).get(out);
      return out;
    }
  }

  public static Tensor floats(float[] values, long... shape) {
    return Tensor.create(values, shape);
  }

  public static ScalarType scalarType(DType d) {
    return switch (d) {
      case F64 -> ScalarType.Double;
      case F32 -> ScalarType.Float;
      case F16 -> ScalarType.Half;
      case BF16 -> ScalarType.BFloat16;
      case I64 -> ScalarType.Long;
      case I32 -> ScalarType.Int;
      case I16 -> ScalarType.Short;
      case I8 -> ScalarType.Char;
      case U8 -> ScalarType.Byte;
      case BOOL -> ScalarType.Bool;
    };
  }

  /**
   * The canonical enum constant for a tensor's element type. JavaCPP hands back enum objects that carry
   * the right {@code value} but are not the constants themselves, so never compare them with == or switch on them.
   */
  public static ScalarType scalarType(Tensor t) {
    int value = t.scalar_type().value;
    for (ScalarType s : ScalarType.values()) if (s.value == value) return s;
    throw new IllegalArgumentException("unknown LibTorch scalar type " + value);
  }

  public static boolean isType(Tensor t, ScalarType type) {
    return t.scalar_type().value == type.value;
  }

  static DType dtype(ScalarType s) {
    return switch (s) {
      case Double -> DType.F64;
      case Float -> DType.F32;
      case Half -> DType.F16;
      case BFloat16 -> DType.BF16;
      case Long -> DType.I64;
      case Int -> DType.I32;
      case Short -> DType.I16;
      case Char -> DType.I8;
      case Byte -> DType.U8;
      case Bool -> DType.BOOL;
      default -> throw new IllegalArgumentException("no file dtype for LibTorch type " + s);
    };
  }

  /**
   * Runs {@code body} in a {@link PointerScope} of its own: every tensor it makes is released when it returns, except
   * the one it returns, which joins the scope open around this call. A forward pass that scopes each layer so holds one
   * layer's intermediates at a time instead of the whole network's (at T = 1500 frames of a d = 1024 model, ~0.25 GB
   * per layer); tensors autograd saved for a backward pass stay alive through autograd's own references. Without an
   * open scope the body runs as it is, its tensors left to their owners.
   */
  public static Tensor scoped(java.util.function.Supplier<Tensor> body) {
    PointerScope outer = PointerScope.getInnerScope();
    if (outer == null) return body.get();
    try (PointerScope inner = new PointerScope()) {
      Tensor out = body.get();
      outer.attach(out);
      return out;
    }
  }

  /**
   * x_{i+1} = step(i, x_i) for i < steps, each step {@link #scoped}: a step's own intermediates are released when it
   * returns and each x_i (i > 0) as soon as the next step has used it, so a chain of layers holds one layer's working
   * set and two activations at a time. x_0 = {@code input} is left to its owner; the last x joins the scope open
   * around this call.
   */
  public static Tensor chain(Tensor input, int steps, java.util.function.BiFunction<Integer, Tensor, Tensor> step) {
    PointerScope outer = PointerScope.getInnerScope();
    Tensor x = input;
    for (int i = 0; i < steps; i++) {
      Tensor in = x;
      int k = i;
      x = scoped(() -> step.apply(k, in));
      // `in` was attached to `outer` by the previous step: detaching releases that reference
      if (outer != null && in != input && in != x) outer.detach(in);
    }
    return x;
  }

  /**
   * Keeps {@code t} alive past the {@link PointerScope}s open now: they release one reference each when they
   * close, this adds one, so the tensor lives until its owner calls {@code close()}.
   */
  public static Tensor keep(Tensor t) {
    t.retainReference();
    return t;
  }
}
