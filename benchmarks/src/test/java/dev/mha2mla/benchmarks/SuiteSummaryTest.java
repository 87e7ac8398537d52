package dev.mha2mla.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mha2mla.benchmarks.workload.AttentionShape;
import dev.mha2mla.eval.bench.Timing;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RunInfo;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The summary of a JMH run, built from JMH's JSON: medians from sample histograms, ratios between cases that
 * differ in one parameter, roofline points, the streaming crossover and the targets. Hand-made JMH output, no clock.
 */
class SuiteSummaryTest {
  private static final String PKG = "dev.mha2mla.benchmarks.";

  /** A JMH sample-mode result: {@code bins} are (value ms, count) pairs of one fork and iteration. */
  private static ObjectNode sample(ArrayNode into, String benchmark, Map<String, String> params, double... bins) {
    ObjectNode r = into.addObject();
    r.put("benchmark", PKG + benchmark);
    r.put("mode", "sample");
    ObjectNode p = r.putObject("params");
    params.forEach(p::put);
    ObjectNode metric = r.putObject("primaryMetric");
    metric.put("score", bins[0]);
    metric.put("scoreUnit", "ms/op");
    ArrayNode iteration = metric.putArray("rawDataHistogram").addArray().addArray();
    for (int i = 0; i < bins.length; i += 2) iteration.addArray().add(bins[i]).add((long) bins[i + 1]);
    return r;
  }

  private static Map<String, String> kernel(String kernel) {
    return Map.of("shape", "flagship", "kernel", kernel, "frames", "1500", "batch", "1", "threads", "0");
  }

  private static Map<String, String> step(String design, int chunk) {
    return Map.of("shape", "flagship", "design", design, "batch", "8", "cache", "2000", "chunk", Integer.toString(chunk), "threads", "0");
  }

  private static JsonNode jmhOutput() {
    ArrayNode a = Json.MAPPER.createArrayNode();
    sample(a, "CeilingsBenchmark.copy", Map.of("copyMegabytes", "256", "gemmSize", "1024", "threads", "0"), 100, 5);
    sample(a, "CeilingsBenchmark.gemm", Map.of("copyMegabytes", "256", "gemmSize", "1024", "threads", "0"), 20, 5);
    sample(a, "AttentionKernelBenchmark.run", kernel("hf_math"), 900, 1, 1000, 2, 1200, 1);
    sample(a, "AttentionKernelBenchmark.run", kernel("relpos_kernel"), 250, 3);
    sample(a, "AttentionKernelBenchmark.run", kernel("latent_kernel"), 1600, 3);
    double[][] kvLatent = {{10, 5}, {12, 11}, {14, 20}};
    int[] chunks = {1, 4, 8};
    for (int i = 0; i < chunks.length; i++) {
      sample(a, "StreamingBenchmark.step", step("kv_cache", chunks[i]), kvLatent[i][0], 4);
      sample(a, "StreamingBenchmark.step", step("latent_cache", chunks[i]), kvLatent[i][1], 4);
    }
    sample(a, "EncoderBenchmark.forward", Map.of("model", "flagship_mha", "frames", "500", "batch", "1", "fixtures", "f", "threads", "0"), 1000, 3);
    sample(a, "EncoderBenchmark.forward", Map.of("model", "flagship_mla", "frames", "500", "batch", "1", "fixtures", "f", "threads", "0"), 950, 3);
    // a single-shot result: per-iteration scores in rawData, in seconds
    ObjectNode ss = a.addObject();
    ss.put("benchmark", PKG + "SvdBenchmark.model");
    ss.put("mode", "ss");
    ss.putObject("params").put("shape", "flagship").put("backend", "libtorch").put("precision", "float64").put("layers", "24");
    ObjectNode m = ss.putObject("primaryMetric");
    m.put("scoreUnit", "s/op");
    m.putArray("rawData").addArray().add(30.0).add(34.0);
    return a;
  }

  private static SuiteSummary summary() {
    MemoryReport memory = new MemoryReport(List.of(MemoryReport.cachePerFrame(AttentionShape.FLAGSHIP)), List.of(), List.of());
    return SuiteSummary.build(jmhOutput(), memory, RunInfo.capture("cpu"), "test");
  }

  @Test
  void groupsAreNamedAfterClassAndMethod() {
    assertThat(SuiteSummary.groupOf(PKG + "AttentionKernelBenchmark.run")).isEqualTo("attention_kernel.run");
    assertThat(SuiteSummary.groupOf(PKG + "StreamingBenchmark.step")).isEqualTo("streaming.step");
  }

  @Test
  void mediansAndQuartilesComeFromTheHistogram() {
    SuiteSummary.Case hf = summary().select("attention_kernel.run", Map.of("kernel", "hf_math")).get(0);
    // sample 900, 1000, 1000, 1200
    assertThat(hf.medianMs()).isEqualTo(1000);
    assertThat(hf.q1Ms()).isEqualTo(975);
    assertThat(hf.q3Ms()).isEqualTo(1050);
    assertThat(hf.samples()).isEqualTo(4);
    SuiteSummary.Case svd = summary().select("svd.model", Map.of()).get(0);
    assertThat(svd.medianMs()).isEqualTo(32_000); // seconds converted, median of 30 and 34
  }

  @Test
  void resultsOfOneCaseFromTwoRunsPoolTheirSamples() {
    // an A-B-B-A plan: the tiny encoder's two models measured in two runs each
    ArrayNode a = Json.MAPPER.createArrayNode();
    Map<String, String> mha = Map.of("model", "tiny_mha", "frames", "250", "batch", "1", "fixtures", "f", "threads", "1");
    Map<String, String> mla = Map.of("model", "tiny_mla", "frames", "250", "batch", "1", "fixtures", "f", "threads", "1");
    sample(a, "EncoderBenchmark.forward", mha, 4, 3);
    sample(a, "EncoderBenchmark.forward", mla, 5, 3);
    sample(a, "EncoderBenchmark.forward", mla, 3, 1);
    sample(a, "EncoderBenchmark.forward", mha, 6, 2);
    SuiteSummary s = SuiteSummary.build(a, null, RunInfo.capture("cpu"), "test");
    SuiteSummary.Case pooledMha = s.select("encoder.forward", Map.of("model", "tiny_mha")).get(0);
    SuiteSummary.Case pooledMla = s.select("encoder.forward", Map.of("model", "tiny_mla")).get(0);
    assertThat(s.select("encoder.forward", Map.of())).hasSize(2);
    assertThat(pooledMha.samples()).isEqualTo(5); // 4 4 4 6 6
    assertThat(pooledMha.medianMs()).isEqualTo(4);
    assertThat(pooledMla.samples()).isEqualTo(4); // 3 5 5 5
    assertThat(pooledMla.medianMs()).isEqualTo(5);
    assertThat(s.ratios()).singleElement().satisfies(r -> assertThat(r.ratio()).isEqualTo(1.25));
  }

  @Test
  void ceilingsAndRooflinePointsUseTheSameRun() {
    SuiteSummary s = summary();
    assertThat(s.ceilings().copyGbytesPerSecond()).isCloseTo(2.0 * 256 * 1048576 / 0.1 / 1e9, within(1e-9));
    double rate = 2.0 * 1024 * 1024 * 1024 / 0.02;
    assertThat(s.ceilings().gemmGflopsPerSecond()).isCloseTo(rate / 1e9, within(1e-9));
    SuiteSummary.Case relpos = s.select("attention_kernel.run", Map.of("kernel", "relpos_kernel")).get(0);
    double flops = 6.0 * 16 * 1500 * 1500 * 64;
    assertThat(relpos.roofline().limitedBy()).isEqualTo("compute");
    assertThat(relpos.roofline().boundSeconds()).isCloseTo(flops / rate, within(1e-12));
    assertThat(relpos.roofline().fractionOfBound()).isCloseTo(flops / rate / 0.25, within(1e-9));
    assertThat(s.select("attention.forward", Map.of())).isEmpty();
  }

  @Test
  void ratiosPairCasesThatDifferInOneParameter() {
    SuiteSummary s = summary();
    SuiteSummary.Ratio fused = s.ratios().stream().filter(r -> r.numerator().equals("relpos_kernel") && r.denominator().equals("hf_math"))
        .findFirst().orElseThrow();
    assertThat(fused.ratio()).isEqualTo(0.25);
    assertThat(fused.params()).doesNotContainKey("kernel").containsEntry("frames", "1500");
    SuiteSummary.Ratio encoder = s.ratios().stream().filter(r -> r.group().equals("encoder.forward")).findFirst().orElseThrow();
    assertThat(encoder.ratio()).isEqualTo(0.95);
    assertThat(s.ratios().stream().filter(r -> r.group().equals("streaming.step"))).hasSize(3);
  }

  @Test
  void theCrossoverIsTheFirstChunkWhereTheLatentCacheIsNotFaster() {
    SuiteSummary.Crossover c = summary().crossovers().get(0);
    assertThat(c.chunks()).containsExactly(1, 4, 8);
    assertThat(c.latentOverKv()).containsExactly(0.5, 11.0 / 12, 20.0 / 14);
    assertThat(c.crossoverChunk()).isEqualTo(8);
    assertThat(c.params()).containsEntry("cache", "2000").doesNotContainKeys("chunk", "design");
  }

  @Test
  void targetsSayWhatWasReached() {
    Map<String, SuiteSummary.Target> t = new java.util.HashMap<>();
    for (SuiteSummary.Target x : summary().targets()) t.put(x.name(), x);
    assertThat(t.get("fused_vs_hf_math").reached()).isTrue();                 // 4x
    assertThat(t.get("streaming_latent_speedup").reached()).isTrue();          // 10 / 5 = 2x
    assertThat(t.get("encoder_mla_not_slower").reached()).isTrue();            // 0.95
    assertThat(t.get("cache_4x_smaller").reached()).isTrue();
    assertThat(t.get("kernels_at_roofline").reached()).isFalse();              // latent kernel below half its floor
    assertThat(t.get("kernels_at_roofline").measured()).contains("latent_kernel flagship T=1500");
    assertThat(t.get("streaming_crossover").reached()).isNull();
    assertThat(t.get("streaming_crossover").measured()).contains("crossover between 4 and 8");
  }

  @Test
  void jsonShape() throws Exception {
    JsonNode json = Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(summary()));
    assertThat(json.fieldNames()).toIterable()
        .containsExactly("run", "profile", "notes", "commands", "ceilings", "cases", "ratios", "crossovers", "memory", "targets");
    JsonNode c = json.path("cases").get(2);
    assertThat(c.fieldNames()).toIterable().containsExactly("group", "params", "median_ms", "q1_ms", "q3_ms", "iqr_ms",
        "relative_spread", "samples", "roofline");
    assertThat(json.path("ceilings").has("gemm_gflops_per_second")).isTrue();
    assertThat(json.path("ratios").get(0).path("ratio").isNumber()).isTrue();
    assertThat(json.path("targets").get(0).has("reached")).isTrue();
    assertThat(json.path("memory").path("cache_per_frame").get(0).path("kv_over_latent").asDouble()).isEqualTo(4.0);
  }

  @Test
  void weightedQuantilesEqualTheExpandedSample() {
    // JMH's sample mode stores (value, count) pairs: 1.0 x3, 2.0 x1, 5.0 x2 is the sample 1 1 1 2 5 5
    double[] values = {5.0, 1.0, 2.0};
    long[] counts = {2, 3, 1};
    double[] expanded = {1, 1, 1, 2, 5, 5};
    for (double p : new double[] {0, 0.25, 0.5, 0.75, 0.9, 1}) {
      assertThat(SuiteSummary.weightedQuantile(values, counts, p)).as("p=%s", p).isEqualTo(Timing.quantile(expanded, p));
    }
  }
}
