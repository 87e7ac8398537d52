package dev.mha2mla.eval.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Order statistics of timed calls: the numbers every report prints are medians and quartiles. */
class TimingTest {
  @Test
  void quartilesInterpolateLikeNumpy() {
    // numpy.percentile([1, 2, 3, 4, 10], [25, 50, 75]) = [2, 3, 4]; of [4, 1, 3, 2] = [1.75, 2.5, 3.25]
    Timing odd = Timing.of(10, 2, 4, 1, 3);
    assertThat(odd.medianSeconds()).isEqualTo(3);
    assertThat(odd.q1Seconds()).isEqualTo(2);
    assertThat(odd.q3Seconds()).isEqualTo(4);
    assertThat(odd.iqrSeconds()).isEqualTo(2);
    assertThat(odd.minSeconds()).isEqualTo(1);
    assertThat(odd.maxSeconds()).isEqualTo(10);
    assertThat(odd.samples()).isEqualTo(5);
    Timing even = Timing.of(4, 1, 3, 2);
    assertThat(even.medianSeconds()).isEqualTo(2.5);
    assertThat(even.q1Seconds()).isEqualTo(1.75);
    assertThat(even.q3Seconds()).isEqualTo(3.25);
    assertThat(even.relativeSpread()).isCloseTo(1.5 / 2.5, within(1e-12));
  }

  @Test
  void anOutlierMovesTheMedianNotAtAll() {
    assertThat(Timing.of(1, 1, 1, 1, 1000).medianSeconds()).isEqualTo(1);
  }

  @Test
  void oneCallIsItsOwnMedianWithNoSpread() {
    Timing t = Timing.of(0.25);
    assertThat(t.medianSeconds()).isEqualTo(0.25);
    assertThat(t.iqrSeconds()).isZero();
  }

  @Test
  void badInputIsRefused() {
    assertThatThrownBy(Timing::of).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no timed calls");
    assertThatThrownBy(() -> Timing.quantile(new double[] {1}, 1.5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new TimingHarness(0, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 1");
  }

  @Test
  void theHarnessTimesEveryRepeatAfterItsWarmUp() {
    int[] calls = {0};
    Timing t = new TimingHarness(2, 3).time(() -> calls[0]++);
    assertThat(calls[0]).isEqualTo(5);
    assertThat(t.samples()).isEqualTo(3);
    assertThat(t.minSeconds()).isGreaterThanOrEqualTo(0);
  }
}
