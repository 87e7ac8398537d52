package dev.mha2mla.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** What the plan says the run will use: limits capped by the size of a synthesised corpus's splits. */
class PipelineOptionsTest {
  private static PipelineOptions quick(Path test, int synthCount, long maxSteps) {
    return PipelineOptions.builder(PipelinePreset.QUICK, Path.of("model"), Path.of("out")).test(test).synthCount(synthCount)
        .maxSteps(maxSteps).build();
  }

  @Test
  void aSynthesisedCorpusCapsTheLimits() {
    // 600 synthesised utterances split 0.8/0.1/0.1: 480 train, 60 test, below the quick preset's 1000 and 100
    PipelineOptions o = quick(null, 600, 240);
    assertThat(o.trainUtterances()).isEqualTo(480);
    assertThat(o.testUtterances()).isEqualTo(60);
  }

  @Test
  void givenDataKeepsTheLimit() {
    assertThat(quick(Path.of("test.tsv"), 600, 240).testUtterances()).isEqualTo(PipelinePreset.QUICK.evalUtterances());
  }

  @Test
  void maxStepsOverrideEpochsInTheBudget() {
    assertThat(quick(null, 600, 240).trainBudgetUtterances()).isEqualTo(240.0 * PipelinePreset.QUICK.batchSize());
    assertThat(quick(null, 600, 0).trainBudgetUtterances()).isEqualTo(480.0 * PipelinePreset.QUICK.epochs());
  }
}
