package dev.mha2mla.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Datasets;
import dev.mha2mla.io.WavWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scoring loop with a stand-in recogniser that "hears" a fixed text per audio length. */
class EvaluatorTest {
  @TempDir Path dir;

  private Dataset manifest(Map<String, Integer> transcriptToSamples) throws Exception {
    StringBuilder tsv = new StringBuilder();
    int i = 0;
    for (Map.Entry<String, Integer> e : transcriptToSamples.entrySet()) {
      String name = "u" + i++ + ".wav";
      WavWriter.write(dir.resolve(name), 16_000, new float[e.getValue()]);
      tsv.append(name).append('\t').append(e.getKey()).append('\n');
    }
    Files.writeString(dir.resolve("set.tsv"), tsv);
    return Datasets.open(dir.resolve("set.tsv"));
  }

  @Test
  void scoresTheCorpusBySummingCountsAndListsTheWorst() throws Exception {
    // lengths identify utterances for the stand-in recogniser
    Map<String, Integer> set = new java.util.LinkedHashMap<>();
    set.put("YES", 1600);
    set.put("ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE", 3200);
    set.put("THE CAT SAT", 4800);
    Dataset data = manifest(set);
    Map<Integer, String> heard = Map.of(1600, "NO", 3200, "ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE",
        4800, "THE  BAT SAT DOWN");
    List<Integer> batchSizes = new ArrayList<>();
    Evaluator.Transcriber fake = batch -> {
      batchSizes.add(batch.size());
      return batch.stream().map(s -> heard.get(s.length)).toList();
    };
    List<Double> runningWer = new ArrayList<>();

    EvaluationReport r = new Evaluator(fake, 16_000, 2, 2).evaluate(data, "fake-model", "cpu",
        (done, words) -> runningWer.add(words.rate()));

    assertThat(batchSizes).containsExactly(2, 1);
    assertThat(r.utteranceCount()).isEqualTo(3);
    // YES->NO: 1 sub; THE CAT SAT -> THE BAT SAT DOWN: 1 sub + 1 ins; 13 reference words
    assertThat(r.words()).isEqualTo(new EditCounts(2, 0, 1, 13));
    assertThat(r.wer()).isEqualTo(3.0 / 13);
    assertThat(r.audioSeconds()).isEqualTo(0.6);
    assertThat(r.realTimeFactor()).isEqualTo(r.recognitionSeconds() / 0.6);
    assertThat(r.utterances()).extracting(UtteranceScore::hypothesis)
        .containsExactly("NO", "ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE", "THE BAT SAT DOWN");
    assertThat(r.worst()).extracting(UtteranceScore::reference).containsExactly("THE CAT SAT", "YES");
    assertThat(r.utterances().get(0).wer()).isEqualTo(1.0);
    assertThat(runningWer).containsExactly(1.0 / 10, 3.0 / 13);
    // Drawing three utterances with replacement, all three are the 9-word one (rate 0) or all YES (rate 1) with
    // probability 1/27 each, more than the 2.5% either tail holds: the interval is exactly [0, 1].
    assertThat(r.werCi95()).isEqualTo(new Bootstrap.Interval(0.0, 1.0));
    assertThat(r.run()).isNotNull();
  }

  @Test
  void writesAReadableJsonReport() throws Exception {
    Dataset data = manifest(Map.of("HELLO THERE", 1600));
    EvaluationReport r = new Evaluator(b -> List.of("HELLO"), 16_000, 1, 10).evaluate(data, "m", "cpu", null);
    Path json = dir.resolve("report.json");

    dev.mha2mla.io.Json.write(json, r);

    var tree = dev.mha2mla.io.Json.MAPPER.readTree(json.toFile());
    assertThat(tree.get("wer").asDouble()).isEqualTo(0.5);
    assertThat(tree.get("wer_ci95").get("low").asDouble()).isEqualTo(0.5);
    assertThat(tree.get("wer_ci95").get("high").asDouble()).isEqualTo(0.5);
    assertThat(tree.get("words").get("deletions").asInt()).isEqualTo(1);
    assertThat(tree.get("words").get("errors").asInt()).isEqualTo(1);
    assertThat(tree.get("utterances").get(0).get("hypothesis").asText()).isEqualTo("HELLO");
    assertThat(tree.get("real_time_factor").isNumber()).isTrue();
    assertThat(tree.get("run").get("device").asText()).isEqualTo("cpu");
  }

  @Test
  void emptyDatasetIsAnError() throws Exception {
    Dataset none = manifest(Map.of("A", 1600)).limit(0);
    assertThatThrownBy(() -> new Evaluator(b -> List.of(), 16_000, 1, 10).evaluate(none, "m", "cpu", null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no utterances");
  }
}
