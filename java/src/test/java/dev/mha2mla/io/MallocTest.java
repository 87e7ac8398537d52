package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Map;
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
  void glibcTakesTheFixedThresholdsOnceAndTheyStay() {
    assumeTrue(Malloc.fixedBy(System.getenv()) == null, "the environment fixes malloc's thresholds itself");
    assumeTrue(!"adaptive".equals(System.getProperty(Malloc.PROPERTY)), "-Dmha2mla.malloc=adaptive");
    // mallopt returns 1 only when glibc accepted the value; no block size tells fixed from adaptive thresholds apart
    // (glibc's adaptive mmap threshold also rises to 32 MiB, and any block may come from a heap's free top)
    assertThat(Malloc.retainFreedMemory()).isEqualTo("mmap threshold 32 MiB, trim threshold 256 MiB");
    assertThat(Malloc.retainFreedMemory()).isEqualTo(Malloc.describe());
  }
}
