package dev.mha2mla.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor as files store it: element type, shape and the raw bytes, little-endian, contiguous,
 * row-major (the last index varies fastest), exactly {@code numel * dtype.byteSize()} bytes.
 * A shape of {@code []} is a scalar with one element.
 *
 * <p>The constructor copies the shape and takes a zero-based view of {@code data} from its position
 * to its limit; it does not copy the bytes. Tensors from {@link SafeTensorsFile} are read-only
 * views of a memory-mapped file; tensors from {@link TorchPickleReader} may share bytes with
 * other tensors of the same storage. {@link #data()} returns a fresh view at position 0 on each call;
 * do not write into it.
 */
public record RawTensor(DType dtype, long[] shape, ByteBuffer data) {

  public RawTensor {
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(data, "data");
    shape = shape.clone();
    long needed = byteSizeOf(dtype, shape);
    if (data.remaining() != needed) {
      throw new IllegalArgumentException("data has " + data.remaining() + " bytes but shape "
          + shapeString(shape) + " " + dtype + " needs " + needed);
    }
    data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A copy of the shape. */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** A little-endian view of the bytes, position 0, limit {@link #byteSize()}. */
  @Override
  public ByteBuffer data() {
    return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  public int rank() {
    return shape.length;
  }

  /** Number of elements: the product of the shape, 1 for a scalar. */
  public long numel() {
    return numelOf(shape);
  }

  /** Number of data bytes: {@code numel * dtype.byteSize()}. */
  public long byteSize() {
    return data.capacity();
  }

  /**
   * The elements as floats: F32 as stored; F16, BF16 and F64 converted (F64 rounds to nearest).
   *
   * @throws IllegalStateException for integer and boolean tensors
   */
  public float[] toFloatArray() {
    ByteBuffer b = data();
    int n = (int) numel();
    float[] out = new float[n];
    switch (dtype) {
      case F32 -> b.asFloatBuffer().get(out);
      case F64 -> {
        for (int i = 0; i < n; i++) {
          out[i] = (float) b.getDouble(8 * i);
        }
      }
      case F16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = halfToFloat(b.getShort(2 * i));
        }
      }
      // bfloat16 is the upper half of a float32's bits
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
        }
      }
      default -> throw new IllegalStateException("toFloatArray needs a floating-point tensor, this one is " + dtype);
    }
    return out;
  }

  /**
   * The elements as longs: I64, I32, I16, I8 signed; U8 unsigned; BOOL as 0 or 1.
   *
   * @throws IllegalStateException for floating-point tensors
   */
  public long[] toLongArray() {
    ByteBuffer b = data();
    int n = (int) numel();
    long[] out = new long[n];
    switch (dtype) {
      case I64 -> b.asLongBuffer().get(out);
      case I32 -> {
        for (int i = 0; i < n; i++) {
          out[i] = b.getInt(4 * i);
        }
      }
      case I16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = b.getShort(2 * i);
        }
      }
      case I8 -> {
        for (int i = 0; i < n; i++) {
          out[i] = b.get(i);
        }
      }
      case U8 -> {
        for (int i = 0; i < n; i++) {
          out[i] = b.get(i) & 0xff;
        }
      }
      case BOOL -> {
        for (int i = 0; i < n; i++) {
          out[i] = b.get(i) != 0 ? 1 : 0;
        }
      }
      default -> throw new IllegalStateException("toLongArray needs an integer or bool tensor, this one is " + dtype);
    }
    return out;
  }

  /**
   * The flat (row-major) index of the first NaN or infinite element, or -1 when every element is finite or the
   * tensor is not floating point. An IEEE value is NaN or infinite exactly when its exponent bits are all ones:
   * 0x7f800000 of F32, 0x7ff0000000000000 of F64, 0x7c00 of F16, 0x7f80 of BF16.
   */
  public long indexOfNonFinite() {
    ByteBuffer b = data();
    long n = numel();
    switch (dtype) {
      case F32 -> {
        for (int i = 0; i < n; i++) {
          if ((b.getInt(4 * i) & 0x7f800000) == 0x7f800000) return i;
        }
      }
      case F64 -> {
        for (int i = 0; i < n; i++) {
          if ((b.getLong(8 * i) & 0x7ff0000000000000L) == 0x7ff0000000000000L) return i;
        }
      }
      case F16 -> {
        for (int i = 0; i < n; i++) {
          if ((b.getShort(2 * i) & 0x7c00) == 0x7c00) return i;
        }
      }
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          if ((b.getShort(2 * i) & 0x7f80) == 0x7f80) return i;
        }
      }
      default -> {
        return -1;
      }
    }
    return -1;
  }

  /** Element {@code i} of a floating-point tensor as a double (F16 and BF16 widened exactly). */
  public double floatingValueAt(long i) {
    ByteBuffer b = data();
    return switch (dtype) {
      case F32 -> b.getFloat((int) (4 * i));
      case F64 -> b.getDouble((int) (8 * i));
      case F16 -> halfToFloat(b.getShort((int) (2 * i)));
      case BF16 -> Float.intBitsToFloat((b.getShort((int) (2 * i)) & 0xffff) << 16);
      default -> throw new IllegalStateException("floatingValueAt needs a floating-point tensor, this one is " + dtype);
    };
  }

  /** A copy of the raw bytes. */
  public byte[] toByteArray() {
    byte[] out = new byte[data.capacity()];
    data().get(out);
    return out;
  }

  /** An F32 tensor holding a copy of {@code values}, which must have exactly numel(shape) elements. */
  public static RawTensor ofFloats(long[] shape, float[] values) {
    checkCount(shape, values.length);
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return new RawTensor(DType.F32, shape, b);
  }

  /** An I64 tensor holding a copy of {@code values}, which must have exactly numel(shape) elements. */
  public static RawTensor ofLongs(long[] shape, long[] values) {
    checkCount(shape, values.length);
    ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return new RawTensor(DType.I64, shape, b);
  }

  /**
   * The number of elements of {@code shape}.
   *
   * @throws IllegalArgumentException if a dimension is negative or the product overflows a long
   */
  public static long numelOf(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + shapeString(shape));
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException("shape " + shapeString(shape) + " has more than 2^63 elements", e);
      }
    }
    return n;
  }

  /**
   * The number of bytes a tensor of this type and shape occupies.
   *
   * @throws IllegalArgumentException if the shape is invalid or the size does not fit a ByteBuffer (2 GiB)
   */
  public static long byteSizeOf(DType dtype, long[] shape) {
    long numel = numelOf(shape);
    if (numel > Integer.MAX_VALUE / dtype.byteSize()) {
      throw new IllegalArgumentException("shape " + shapeString(shape) + " " + dtype
          + " needs more than 2 GiB, the most one tensor can hold here");
    }
    return numel * dtype.byteSize();
  }

  /** The shape as {@code [32, 64]}. */
  public static String shapeString(long[] shape) {
    return Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RawTensor t && dtype == t.dtype && Arrays.equals(shape, t.shape) && data.equals(t.data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(dtype, Arrays.hashCode(shape), data);
  }

  @Override
  public String toString() {
    return "RawTensor[" + dtype + " " + shapeString(shape) + "]";
  }

  private static void checkCount(long[] shape, int count) {
    if (numelOf(shape) != count) {
      throw new IllegalArgumentException("shape " + shapeString(shape) + " has " + numelOf(shape)
          + " elements but " + count + " values were given");
    }
  }

  // IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits
  static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exponent = (bits >>> 10) & 0x1f;
    int mantissa = bits & 0x3ff;
    if (exponent == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      // zero or subnormal: mantissa * 2^-24
      float magnitude = mantissa * 0x1p-24f;
      return sign != 0 ? -magnitude : magnitude;
    }
    return Float.intBitsToFloat(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
  }
}
