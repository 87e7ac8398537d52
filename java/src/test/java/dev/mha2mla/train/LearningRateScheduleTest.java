package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** HuggingFace's linear schedule with warm-up, step for step. */
class LearningRateScheduleTest {
  @Test
  void warmsUpLinearlyThenDecaysToZero() {
    LearningRateSchedule s = new LearningRateSchedule(1e-3, 4, 12);
    assertThat(s.at(0)).isZero();
    assertThat(s.at(2)).isCloseTo(5e-4, within(1e-15));
    assertThat(s.at(4)).isCloseTo(1e-3, within(1e-15));
    assertThat(s.at(8)).isCloseTo(5e-4, within(1e-15));
    assertThat(s.at(12)).isZero();
    assertThat(new LearningRateSchedule(1e-3, 0, 10).at(0)).isEqualTo(1e-3);
  }
}
