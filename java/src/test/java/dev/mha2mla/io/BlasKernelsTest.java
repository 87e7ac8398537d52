package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class BlasKernelsTest {
  // /proc/cpuinfo flags, trimmed: this project's machine (AMD family 1Ah), an Intel Skylake-SP server, a Haswell
  private static final Set<String> ZEN5 = flags("fpu sse2 avx fma avx2 avx512f avx512dq avx512ifma avx512cd avx512bw "
      + "avx512vl avx512_bf16 avx512vbmi avx512_vnni");
  private static final Set<String> SKYLAKE_SP = flags("fpu sse2 avx fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl");
  private static final Set<String> HASWELL = flags("fpu sse2 avx fma avx2");

  private static Set<String> flags(String line) {
    return Arrays.stream(line.split(" ")).collect(Collectors.toSet());
  }

  @Test
  void anAvx2SetIsBelowAnAvx512Cpu() {
    assertThat(BlasKernels.belowCpu("Haswell", ZEN5)).isTrue();
    assertThat(BlasKernels.belowCpu("Zen", ZEN5)).isTrue();
    assertThat(BlasKernels.belowCpu("Haswell", SKYLAKE_SP)).isTrue();
  }

  @Test
  void anAvx512SetOrAnAvx2CpuIsNot() {
    assertThat(BlasKernels.belowCpu("Cooperlake", ZEN5)).isFalse();
    assertThat(BlasKernels.belowCpu("SKYLAKEX", SKYLAKE_SP)).isFalse();
    assertThat(BlasKernels.belowCpu("Haswell", HASWELL)).isFalse();
    // without AVX-512 VL OpenBLAS's AVX-512 sets cannot run: nothing better is on offer
    Set<String> noVl = flags(String.join(" ", SKYLAKE_SP).replace("avx512vl", ""));
    assertThat(BlasKernels.belowCpu("Haswell", noVl)).isFalse();
  }

  @Test
  void asksTheLoadedOpenBlasAndFollowsTheEnvironment() {
    try (PointerScope scope = new PointerScope()) {
      // a float32 product through LibTorch, which runs on OpenBLAS
      assertThat(torch.mm(torch.ones(4, 4), torch.ones(4, 4)).sum().item_float()).isEqualTo(64f);
    }
    String inUse = BlasKernels.inUse();
    assertThat(inUse).isNotEqualTo("not loaded").isNotBlank();
    String pinned = System.getenv(BlasKernels.VARIABLE);
    if (pinned != null && !pinned.isBlank()) assertThat(inUse).isEqualToIgnoringCase(pinned);
    assertThat(RunInfo.capture("cpu").blasKernels()).startsWith(inUse + " (");
    if (BlasKernels.advice() != null) assertThat(BlasKernels.advice()).contains(inUse).contains(BlasKernels.VARIABLE);
  }
}
