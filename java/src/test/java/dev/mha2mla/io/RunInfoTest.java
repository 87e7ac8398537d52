package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RunInfoTest {
  @Test
  void keepsOnlyThePerformanceVariablesInTheirListedOrder() {
    Map<String, String> env = Map.of("PATH", "/usr/bin", "OPENBLAS_THREAD_TIMEOUT", "4", "HOME", "/root",
        "GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", "OMP_WAIT_POLICY", "PASSIVE");
    Map<String, String> kept = RunInfo.performanceVariables(env);
    assertThat(List.copyOf(kept.keySet())).containsExactly("GLIBC_TUNABLES", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT");
    assertThat(RunInfo.describe(kept))
        .isEqualTo("GLIBC_TUNABLES=glibc.malloc.hugetlb=1, OMP_WAIT_POLICY=PASSIVE, OPENBLAS_THREAD_TIMEOUT=4");
    assertThat(RunInfo.describe(RunInfo.performanceVariables(Map.of("PATH", "/bin")))).isEqualTo("none set");
  }

  @Test
  void recordsThisProcesssVariablesAsAJsonObject() throws Exception {
    RunInfo run = RunInfo.capture("cpu");
    assertThat(run.environment()).isEqualTo(RunInfo.performanceVariables(System.getenv()));
    JsonNode json = Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(run));
    assertThat(json.get("environment").isObject()).isTrue();
    for (String name : RunInfo.PERFORMANCE_VARIABLES) {
      String value = System.getenv(name);
      if (value == null) assertThat(json.get("environment").has(name)).as(name).isFalse();
      else assertThat(json.get("environment").get(name).asText()).as(name).isEqualTo(value);
    }
    assertThat(json.get("device").asText()).isEqualTo("cpu");
  }
}
