package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DTypeTest {

  @Test
  void safetensorsCodesRoundTripAndSizesMatchTheFormat() {
    assertThat(DType.forSafetensorsCode("F32")).contains(DType.F32);
    assertThat(DType.forSafetensorsCode("BF16")).contains(DType.BF16);
    assertThat(DType.forSafetensorsCode("BOOL")).contains(DType.BOOL);
    assertThat(DType.forSafetensorsCode("f32")).isEmpty();
    assertThat(DType.forSafetensorsCode("F8_E4M3")).isEmpty();
    for (DType t : DType.values()) {
      assertThat(DType.forSafetensorsCode(t.safetensorsCode())).contains(t);
    }
    assertThat(DType.F64.byteSize()).isEqualTo(8);
    assertThat(DType.F16.byteSize()).isEqualTo(2);
    assertThat(DType.I64.byteSize()).isEqualTo(8);
    assertThat(DType.BOOL.byteSize()).isEqualTo(1);
  }

  @Test
  void torchStorageClassesMapToTheirElementTypes() {
    assertThat(DType.forTorchStorageClass("FloatStorage")).contains(DType.F32);
    assertThat(DType.forTorchStorageClass("DoubleStorage")).contains(DType.F64);
    assertThat(DType.forTorchStorageClass("HalfStorage")).contains(DType.F16);
    assertThat(DType.forTorchStorageClass("BFloat16Storage")).contains(DType.BF16);
    assertThat(DType.forTorchStorageClass("LongStorage")).contains(DType.I64);
    assertThat(DType.forTorchStorageClass("IntStorage")).contains(DType.I32);
    assertThat(DType.forTorchStorageClass("ShortStorage")).contains(DType.I16);
    assertThat(DType.forTorchStorageClass("CharStorage")).contains(DType.I8);
    assertThat(DType.forTorchStorageClass("ByteStorage")).contains(DType.U8);
    assertThat(DType.forTorchStorageClass("BoolStorage")).contains(DType.BOOL);
    assertThat(DType.forTorchStorageClass("UntypedStorage")).isEmpty();
  }
}
