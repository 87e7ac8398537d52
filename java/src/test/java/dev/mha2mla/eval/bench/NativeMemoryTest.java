package dev.mha2mla.eval.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** Resident memory from /proc/self/status: native allocations count, the JVM heap is not where tensors live. */
class NativeMemoryTest {
  @Test
  void readsKilobyteFieldsAsBytes() {
    String status = "Name:\tjava\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t12\n";
    assertThat(NativeMemory.field(status, "VmRSS")).isEqualTo(100L << 20);
    assertThat(NativeMemory.field(status, "VmHWM")).isEqualTo(200L << 20);
    assertThat(NativeMemory.field(status, "Threads")).isEqualTo(12);
  }

  @Test
  void aNativeAllocationShowsInThePeak() {
    assumeTrue(NativeMemory.supported(), "needs Linux /proc");
    long bytes = 64L << 20;
    NativeMemory.Peak p = NativeMemory.measure(() -> {
      try (PointerScope scope = new PointerScope()) {
        Tensor t = torch.randn(bytes / 4); // written, so every page is resident
        assertThat(t.numel()).isEqualTo(bytes / 4);
      }
    });
    assertThat(p.peakBytes()).isGreaterThanOrEqualTo(p.baselineBytes());
    assertThat(p.increaseBytes()).isGreaterThan(bytes * 9 / 10);
    assertThat(p.method()).isIn("vmhwm-reset", "vmrss-sampling");
  }
}
