package dev.mha2mla.benchmarks.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The roofline arithmetic: floor = max(bytes / bandwidth, flops / rate), and the kernels' counts. */
class RooflineTest {
  private static final Roofline.Ceilings MACHINE = new Roofline.Ceilings(10e9, 100e9); // 10 GB/s, 100 GFLOP/s

  @Test
  void theFloorIsTheLargerOfTheTwoTimes() {
    Roofline.Cost memoryBound = new Roofline.Cost(1e9, 1e9);    // 0.01 s of flops, 0.1 s of bytes
    Roofline.Cost computeBound = new Roofline.Cost(100e9, 1e9); // 1 s of flops, 0.1 s of bytes
    assertThat(Roofline.boundSeconds(memoryBound, MACHINE)).isCloseTo(0.1, within(1e-12));
    assertThat(Roofline.boundSeconds(computeBound, MACHINE)).isCloseTo(1.0, within(1e-12));
    assertThat(MACHINE.balanceFlopsPerByte()).isEqualTo(10);

    Roofline.Point p = Roofline.point(memoryBound, MACHINE, 0.4);
    assertThat(p.limitedBy()).isEqualTo("memory");
    assertThat(p.measuredOverBound()).isCloseTo(4, within(1e-12));
    assertThat(p.fractionOfBound()).isCloseTo(0.25, within(1e-12));
    assertThat(p.achievedGbytesPerSecond()).isCloseTo(2.5, within(1e-12));
    assertThat(Roofline.point(computeBound, MACHINE, 2).limitedBy()).isEqualTo("compute");
  }

  @Test
  void relposCountsSixDhFlopsPerPairAndEachTensorOnce() {
    // B=2, H=3, Tq=4, Tk=5, dh=8: 6 * 2*3*4*5 * 8 flops
    Roofline.Cost c = Roofline.relposAttention(2, 3, 4, 5, 8);
    assertThat(c.flops()).isEqualTo(6.0 * 2 * 3 * 4 * 5 * 8);
    // q 2*3*4*8, k+v 2*2*3*5*8, p (4+5-1)*3*8, u+w 2*3*8, out 2*3*4*8 floats
    double floats = 192 + 480 + 192 + 48 + 192;
    assertThat(c.bytes()).isEqualTo(4 * floats);
  }

  @Test
  void latentAttentionReadsTheLatentOnceForAllHeads() {
    Roofline.Cost c = Roofline.latentAttention(1, 16, 1, 1000, 512, 64);
    assertThat(c.flops()).isEqualTo((4.0 * 512 + 2 * 64) * 16 * 1000);
    // one query over 1000 cached frames: c dominates, r floats per frame (not H r)
    double cache = 4.0 * 1000 * 512;
    double pRows = 4.0 * 1000 * 16 * 64;
    double queries = 4.0 * (16 * 512 + 16 * 64 + 16 * 512);
    assertThat(c.bytes()).isEqualTo(cache + pRows + queries);
  }

  @Test
  void perCachedFrameMhaReadsFourTimesTheBytesOfTheLatentAtHalfWidth() {
    // DESIGN.md section 3: MHA reads 2d per cached frame, absorbed MLA r = d/2; p rows are the same for both
    long frames = 100_000;
    double mha = Roofline.relposAttention(1, 16, 1, frames, 64).bytes() - Roofline.relposAttention(1, 16, 1, 0, 64).bytes();
    double mla = Roofline.latentAttention(1, 16, 1, frames, 512, 64).bytes() - Roofline.latentAttention(1, 16, 1, 0, 512, 64).bytes();
    double pRows = 4.0 * frames * 1024;
    assertThat((mha - pRows) / frames).isEqualTo(4.0 * 2 * 1024);
    assertThat((mla - pRows) / frames).isEqualTo(4.0 * 512);
  }

  @Test
  void theKernelWorkloadsUseTheseCounts() {
    Roofline.Cost hf = AttentionKernelWorkload.cost(AttentionShape.FLAGSHIP, AttentionKernelWorkload.Kernel.HF_MATH, 1, 500);
    Roofline.Cost fused = AttentionKernelWorkload.cost(AttentionShape.FLAGSHIP, AttentionKernelWorkload.Kernel.RELPOS, 1, 500);
    assertThat(hf).isEqualTo(fused); // same function, same floor
    assertThat(fused).isEqualTo(Roofline.relposAttention(1, 16, 500, 500, 64));
    assertThat(StreamingWorkload.attendCost(AttentionShape.FLAGSHIP, CacheDesign.LATENT_CACHE, 8, 2000, 4))
        .isEqualTo(Roofline.latentAttention(8, 16, 4, 2004, 512, 64));
  }
}
