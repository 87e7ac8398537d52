package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

class MallocTest {
  @Test
  void theEnvironmentFixingAThresholdWinsAndHugePagesAloneDoNot() {
    assertThat(Malloc.fixedBy(Map.of())).isNull();
    assertThat(Malloc.fixedBy(Map.of("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1"))).isNull();
    assertThat(Malloc.fixedBy(Map.of("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=0")))
        .isEqualTo("GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=0");
    assertThat(Malloc.fixedBy(Map.of("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")))
        .isEqualTo("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=65536");
    assertThat(Malloc.fixedBy(Map.of("MALLOC_TRIM_THRESHOLD_", "1000"))).isEqualTo("MALLOC_TRIM_THRESHOLD_=1000");
    assertThat(Malloc.fixedBy(Map.of("MALLOC_MMAP_THRESHOLD_", "1000"))).isEqualTo("MALLOC_MMAP_THRESHOLD_=1000");
  }

  @Test
  void aBlockBelowTheFixedThresholdComesFromTheHeapNotAMappingOfItsOwn() {
    assumeTrue(Malloc.fixedBy(System.getenv()) == null, "the environment fixes malloc's thresholds itself");
    assertThat(Malloc.retainFreedMemory()).isEqualTo("mmap threshold 4 MiB, trim threshold 256 MiB");
    assertThat(Malloc.describe()).isEqualTo(Malloc.retainFreedMemory());
    // glibc's own starting threshold is 128 KiB: a 3 MiB block would be mapped alone and unmapped on free
    long before = Malloc.mappedBlockBytes();
    Pointer block = Pointer.malloc(3 << 20);
    try {
      assertThat(block.isNull()).isFalse();
      assertThat(Malloc.mappedBlockBytes()).isEqualTo(before);
    } finally {
      Pointer.free(block);
    }
    // at the threshold and above, blocks are still mapped alone (weights: huge pages under glibc.malloc.hugetlb=1)
    Pointer large = Pointer.malloc(Malloc.MMAP_THRESHOLD);
    try {
      assertThat(Malloc.mappedBlockBytes()).isGreaterThanOrEqualTo(before + Malloc.MMAP_THRESHOLD);
    } finally {
      Pointer.free(large);
    }
  }
}
