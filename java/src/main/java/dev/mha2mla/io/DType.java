package dev.mha2mla.io;

import java.util.Optional;

/**
 * Element types of tensors stored on disk, with the names two file formats use for them:
 * the safetensors header code ({@code "F32"}) and the legacy PyTorch storage class that
 * {@code torch.save} pickles ({@code torch.FloatStorage}).
 */
public enum DType {
  F64(8, "F64", "DoubleStorage"),
  F32(4, "F32", "FloatStorage"),
  F16(2, "F16", "HalfStorage"),
  BF16(2, "BF16", "BFloat16Storage"),
  I64(8, "I64", "LongStorage"),
  I32(4, "I32", "IntStorage"),
  I16(2, "I16", "ShortStorage"),
  I8(1, "I8", "CharStorage"),
  U8(1, "U8", "ByteStorage"),
  BOOL(1, "BOOL", "BoolStorage");

  private final int byteSize;
  private final String safetensorsCode;
  private final String torchStorageClass;

  DType(int byteSize, String safetensorsCode, String torchStorageClass) {
    this.byteSize = byteSize;
    this.safetensorsCode = safetensorsCode;
    this.torchStorageClass = torchStorageClass;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** The {@code dtype} string of a safetensors header, e.g. {@code "BF16"}. */
  public String safetensorsCode() {
    return safetensorsCode;
  }

  /** The class name in module {@code torch} that {@code torch.save} records for a storage of this type. */
  public String torchStorageClass() {
    return torchStorageClass;
  }

  /** True for F64, F32, F16 and BF16. */
  public boolean isFloatingPoint() {
    return this == F64 || this == F32 || this == F16 || this == BF16;
  }

  /** The type whose safetensors code is {@code code} (exact, case-sensitive), if this library supports it. */
  public static Optional<DType> forSafetensorsCode(String code) {
    for (DType t : values()) {
      if (t.safetensorsCode.equals(code)) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }

  /** The type of PyTorch storage class {@code className} (e.g. {@code "HalfStorage"}), if supported. */
  public static Optional<DType> forTorchStorageClass(String className) {
    for (DType t : values()) {
      if (t.torchStorageClass.equals(className)) {
        return Optional.of(t);
      }
    }
    return Optional.empty();
  }
}
