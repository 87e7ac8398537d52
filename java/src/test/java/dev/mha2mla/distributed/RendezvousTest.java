package dev.mha2mla.distributed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rendezvous read from torchrun's variables and the flags that override them; the split of a global batch. */
class RendezvousTest {
  @Test
  void readsTorchrunsVariablesAndFlagsOverrideThem() {
    Map<String, String> env = Map.of("WORLD_SIZE", "4", "RANK", "3", "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "2",
        "MASTER_ADDR", "node0", "MASTER_PORT", "29411", "TORCHELASTIC_USE_AGENT_STORE", "True");
    Rendezvous r = Rendezvous.resolve(env, null, null, null, null);
    assertThat(r).isEqualTo(new Rendezvous(4, 3, 1, 2, "node0", 29411, Rendezvous.DEFAULT_TIMEOUT, true));
    Rendezvous flags = Rendezvous.resolve(env, null, 2, "10.0.0.7:1234", Duration.ofSeconds(90));
    assertThat(flags.rank()).isEqualTo(2);
    assertThat(flags.host()).isEqualTo("10.0.0.7");
    assertThat(flags.port()).isEqualTo(1234);
    assertThat(flags.timeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(Rendezvous.resolve(Map.of("WORLD_SIZE", "2", "RANK", "0", "MASTER_ADDR", "h"), null, null, null, null)
        .port()).isEqualTo(29500);
    assertThat(Rendezvous.resolve(Map.of(), null, null, null, null).isSingle()).isTrue();
  }

  @Test
  void malformedValuesNameTheVariableOrFlag() {
    assertThatThrownBy(() -> Rendezvous.resolve(Map.of("WORLD_SIZE", "two"), null, null, null, null))
        .hasMessageContaining("WORLD_SIZE must be an integer, got 'two'");
    assertThatThrownBy(() -> Rendezvous.resolve(Map.of("WORLD_SIZE", "2", "RANK", "0"), null, null, null, null))
        .hasMessageContaining("MASTER_ADDR");
    assertThatThrownBy(() -> Rendezvous.resolve(Map.of("WORLD_SIZE", "2", "RANK", "5", "MASTER_ADDR", "h"), null, null,
        null, null)).hasMessageContaining("rank 5 is outside 0..1");
    assertThatThrownBy(() -> Rendezvous.resolve(Map.of(), 2, 0, "h:99999", null)).hasMessageContaining("port 99999");
    assertThatThrownBy(() -> Rendezvous.resolve(Map.of(), 2, 0, "h:", null)).hasMessageContaining("HOST:PORT");
    assertThatThrownBy(() -> Rendezvous.resolve(Map.of(), 0, 0, "h:1", null)).hasMessageContaining("at least 1");
  }

  @Test
  void masterIsHostAndPortWithIpv6InBrackets() {
    assertThat(Rendezvous.parseMaster("node0:29411")).isEqualTo(new Rendezvous.Address("node0", 29411));
    assertThat(Rendezvous.parseMaster("[::1]:1234")).isEqualTo(new Rendezvous.Address("::1", 1234));
    assertThatThrownBy(() -> Rendezvous.parseMaster(":1")).hasMessageContaining("HOST:PORT");
    assertThatThrownBy(() -> Rendezvous.parseMaster("h:0")).hasMessageContaining("port 0 is outside 1..65535");
    assertThatThrownBy(() -> Rendezvous.parseMaster("h:x")).hasMessageContaining("--master's port must be an integer");
  }

  @Test
  void sharesOfAGlobalBatchCoverItOnceAndDifferByAtMostOne() {
    for (int world = 1; world <= 5; world++) {
      for (int n = 0; n <= 11; n++) {
        int covered = 0;
        int smallest = Integer.MAX_VALUE;
        int largest = 0;
        for (int rank = 0; rank < world; rank++) {
          int[] s = Group.share(n, rank, world);
          assertThat(s[0]).isEqualTo(covered);
          covered = s[1];
          smallest = Math.min(smallest, s[1] - s[0]);
          largest = Math.max(largest, s[1] - s[0]);
        }
        assertThat(covered).isEqualTo(n);
        assertThat(largest - smallest).isLessThanOrEqualTo(1);
      }
    }
    assertThat(Group.SINGLE.share(7)).containsExactly(0, 7);
  }
}
