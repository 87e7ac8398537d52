package dev.mha2mla.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mha2mla.io.Json;
import org.junit.jupiter.api.Test;

/** The report's speed column: a ratio only where the per-utterance ratios lie clear of 1. */
class SpeedVersusTest {
  private static JsonNode latencies(double... seconds) {
    return Json.MAPPER.createObjectNode().set("latency_seconds", Json.MAPPER.valueToTree(seconds));
  }

  @Test
  void aClearDifferenceIsARatioAndNoiseIsNot() {
    // the other model takes half the time on every utterance: ratios 2, 2, 2, 2
    assertThat(ComparisonReport.speedVersus(latencies(1, 2, 3, 4), latencies(0.5, 1, 1.5, 2))).isEqualTo("2.00x (2.00-2.00)");
    // ratios 0.8, 0.9, 1.1, 1.2: the middle half (0.875 .. 1.125) straddles 1
    assertThat(ComparisonReport.speedVersus(latencies(0.8, 0.9, 1.1, 1.2), latencies(1, 1, 1, 1)))
        .startsWith("within the spread");
    assertThat(ComparisonReport.speedVersus(latencies(1, 2), latencies(1))).isEqualTo("not paired");
  }
}
