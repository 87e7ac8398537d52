package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class RawTensorTest {

  @Test
  void ofFloatsStoresLittleEndianRowMajorBytes() {
    RawTensor t = RawTensor.ofFloats(new long[] {2, 2}, new float[] {1f, 2f, 3f, -0.5f});
    assertThat(t.dtype()).isEqualTo(DType.F32);
    assertThat(t.shape()).containsExactly(2, 2);
    assertThat(t.numel()).isEqualTo(4);
    assertThat(t.byteSize()).isEqualTo(16);
    // 1.0f = 0x3F800000, stored low byte first
    assertThat(t.toByteArray()).startsWith(0x00, 0x00, (byte) 0x80, 0x3F);
    assertThat(t.toFloatArray()).containsExactly(1f, 2f, 3f, -0.5f);
    assertThat(t.data().position()).isZero();
    assertThat(t.data().order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
  }

  @Test
  void scalarHasEmptyShapeAndOneElement() {
    RawTensor t = RawTensor.ofLongs(new long[0], new long[] {7});
    assertThat(t.rank()).isZero();
    assertThat(t.numel()).isEqualTo(1);
    assertThat(t.toLongArray()).containsExactly(7L);
  }

  @Test
  void shapeIsCopiedInAndOut() {
    long[] shape = {3};
    RawTensor t = RawTensor.ofLongs(shape, new long[] {1, 2, 3});
    shape[0] = 99;
    t.shape()[0] = 99;
    assertThat(t.shape()).containsExactly(3);
  }

  @Test
  void halfAndBfloat16AndDoubleConvertToFloat() {
    // F16: 0x3C00 = 1.0, 0xC000 = -2.0, 0x0001 = 2^-24 (smallest subnormal), 0x7C00 = +inf
    RawTensor half = new RawTensor(DType.F16, new long[] {4},
        ByteBuffer.wrap(new byte[] {0x00, 0x3C, 0x00, (byte) 0xC0, 0x01, 0x00, 0x00, 0x7C}));
    assertThat(half.toFloatArray()).containsExactly(1f, -2f, 0x1p-24f, Float.POSITIVE_INFINITY);
    // BF16: the upper 16 bits of a float32; 0x3FC0 = 1.5
    RawTensor bf16 = new RawTensor(DType.BF16, new long[] {1}, ByteBuffer.wrap(new byte[] {(byte) 0xC0, 0x3F}));
    assertThat(bf16.toFloatArray()).containsExactly(1.5f);
    ByteBuffer doubles = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(0, 0.1);
    assertThat(new RawTensor(DType.F64, new long[] {1}, doubles).toFloatArray()).containsExactly(0.1f);
  }

  @Test
  void integerTypesConvertToLong() {
    assertThat(new RawTensor(DType.U8, new long[] {2}, ByteBuffer.wrap(new byte[] {(byte) 255, 1})).toLongArray())
        .containsExactly(255L, 1L);
    assertThat(new RawTensor(DType.I8, new long[] {2}, ByteBuffer.wrap(new byte[] {(byte) 255, 1})).toLongArray())
        .containsExactly(-1L, 1L);
    assertThat(new RawTensor(DType.I32, new long[] {1}, ByteBuffer.wrap(new byte[] {-2, -1, -1, -1})).toLongArray())
        .containsExactly(-2L);
    assertThat(new RawTensor(DType.BOOL, new long[] {2}, ByteBuffer.wrap(new byte[] {0, 5})).toLongArray())
        .containsExactly(0L, 1L);
  }

  @Test
  void conversionsRefuseTheWrongKind() {
    RawTensor floats = RawTensor.ofFloats(new long[] {1}, new float[] {1f});
    RawTensor longs = RawTensor.ofLongs(new long[] {1}, new long[] {1});
    assertThatThrownBy(floats::toLongArray).isInstanceOf(IllegalStateException.class).hasMessageContaining("F32");
    assertThatThrownBy(longs::toFloatArray).isInstanceOf(IllegalStateException.class).hasMessageContaining("I64");
  }

  @Test
  void dataMustMatchShapeExactly() {
    assertThatThrownBy(() -> new RawTensor(DType.F32, new long[] {32, 64}, ByteBuffer.allocate(4096)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("data has 4096 bytes but shape [32, 64] F32 needs 8192");
    assertThatThrownBy(() -> RawTensor.ofFloats(new long[] {3}, new float[2]))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shapesAreCheckedForNegativeDimensionsAndOverflow() {
    assertThatThrownBy(() -> RawTensor.numelOf(new long[] {4, -1}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
    assertThatThrownBy(() -> RawTensor.numelOf(new long[] {1L << 40, 1L << 40}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2^63");
    assertThatThrownBy(() -> RawTensor.byteSizeOf(DType.F32, new long[] {1L << 30}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 GiB");
    assertThat(RawTensor.numelOf(new long[] {5, 0, 3})).isZero();
  }

  @Test
  void viewStartsAtTheBufferPosition() {
    ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 9f).putFloat(4, 1f).putFloat(8, 2f);
    b.position(4);
    RawTensor t = new RawTensor(DType.F32, new long[] {2}, b);
    assertThat(t.toFloatArray()).containsExactly(1f, 2f);
  }

  @Test
  void equalityComparesTypeShapeAndBytes() {
    RawTensor a = RawTensor.ofFloats(new long[] {2}, new float[] {1f, 2f});
    assertThat(a).isEqualTo(RawTensor.ofFloats(new long[] {2}, new float[] {1f, 2f}));
    assertThat(a).hasSameHashCodeAs(RawTensor.ofFloats(new long[] {2}, new float[] {1f, 2f}));
    assertThat(a).isNotEqualTo(RawTensor.ofFloats(new long[] {1, 2}, new float[] {1f, 2f}));
    assertThat(a).isNotEqualTo(RawTensor.ofFloats(new long[] {2}, new float[] {1f, 3f}));
    assertThat(a).hasToString("RawTensor[F32 [2]]");
  }
}
