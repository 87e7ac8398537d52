package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The adaptive thread count: the cores other processes left free, from CPU tick counters, by hand. */
class CpuThreadsTest {
  @Test
  void theCountIsTheCoresOtherProcessesLeftFree() {
    // 2 cores, 100 ms at 100 ticks/s per core: 20 ticks in all
    assertThat(CpuThreads.threadsFor(2, 0, 0, 0, 20, 20, 20)).as("only this process ran").isEqualTo(2);
    assertThat(CpuThreads.threadsFor(2, 0, 0, 0, 2, 20, 0)).as("a little other work: 0.2 cores").isEqualTo(2);
    assertThat(CpuThreads.threadsFor(2, 0, 0, 0, 20, 20, 10)).as("one other core busy").isEqualTo(1);
    assertThat(CpuThreads.threadsFor(2, 0, 0, 0, 20, 20, 4)).as("others took 1.6 cores").isEqualTo(1);
    assertThat(CpuThreads.threadsFor(2, 0, 0, 0, 20, 20, 0)).as("never fewer than one").isEqualTo(1);
    assertThat(CpuThreads.threadsFor(16, 100, 1000, 50, 196, 1160, 130)).as("16 cores, others 1.6 of them").isEqualTo(14);
    assertThat(CpuThreads.threadsFor(4, 5, 10, 0, 5, 10, 0)).as("no time passed").isEqualTo(4);
  }
}
