package dev.mha2mla.distributed;

import java.time.Duration;
import java.util.Map;

/**
 * Where one process stands in a data-parallel run and how it finds the others: the variables torchrun, SLURM
 * wrappers and Kubernetes' PyTorchJob set ({@code WORLD_SIZE}, {@code RANK}, {@code LOCAL_RANK},
 * {@code LOCAL_WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT}), each overridable by a flag.
 *
 * @param localWorldSize processes of the run on this machine (they share its cores)
 * @param host the machine holding the run's c10d {@code TCPStore}
 * @param timeout how long any rendezvous, store read or collective may wait before the run fails
 * @param agentStore the store is hosted by a launcher ({@code TORCHELASTIC_USE_AGENT_STORE}), not by rank 0
 */
public record Rendezvous(int worldSize, int rank, int localRank, int localWorldSize, String host, int port,
    Duration timeout, boolean agentStore) {
  /** Collectives and store reads wait this long by default: longer than any one update or validation, not hours. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);
  /** torchrun's default store port. */
  public static final int DEFAULT_PORT = 29500;

  public Rendezvous {
    if (worldSize < 1) throw new IllegalArgumentException("the world size must be at least 1, got " + worldSize);
    if (worldSize > 65536) throw new IllegalArgumentException("the world size " + worldSize + " is more than 65536 processes");
    if (rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("rank " + rank + " is outside 0.." + (worldSize - 1) + " (world size " + worldSize + ")");
    }
    if (localWorldSize < 1 || localWorldSize > worldSize) {
      throw new IllegalArgumentException("the local world size " + localWorldSize + " is outside 1.." + worldSize);
    }
    if (port < 0 || port > 65535) throw new IllegalArgumentException("the store port " + port + " is outside 0..65535");
    if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("the timeout must be positive, got " + timeout);
  }

  /** One process alone: no store, no collectives. */
  public static Rendezvous single() {
    return new Rendezvous(1, 0, 0, 1, "127.0.0.1", DEFAULT_PORT, DEFAULT_TIMEOUT, false);
  }

  public boolean isSingle() {
    return worldSize == 1;
  }

  /**
   * From the environment, each value replaced by its flag where one was given (null: not given).
   *
   * @param master "HOST:PORT"
   * @throws IllegalArgumentException naming the variable or flag that is malformed or missing
   */
  public static Rendezvous resolve(Map<String, String> env, Integer worldSizeFlag, Integer rankFlag, String master,
      Duration timeout) {
    int world = worldSizeFlag != null ? worldSizeFlag : integer(env, "WORLD_SIZE", 1);
    int rank = rankFlag != null ? rankFlag : integer(env, "RANK", 0);
    if (world == 1) {
      return new Rendezvous(1, rank, 0, 1, "127.0.0.1", DEFAULT_PORT, timeout == null ? DEFAULT_TIMEOUT : timeout, false);
    }
    if (worldSizeFlag != null && rankFlag == null && !env.containsKey("RANK")) {
      throw new IllegalArgumentException("--world-size " + world + " needs --rank (or RANK) for this process");
    }
    String host;
    int port;
    if (master != null) {
      Address a = parseMaster(master);
      host = a.host();
      port = a.port();
    } else {
      host = env.get("MASTER_ADDR");
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("a run of " + world + " processes needs the store's address: --master HOST:PORT "
            + "or MASTER_ADDR and MASTER_PORT");
      }
      port = integer(env, "MASTER_PORT", DEFAULT_PORT);
    }
    int localRank = integer(env, "LOCAL_RANK", rank);
    int localWorld = integer(env, "LOCAL_WORLD_SIZE", 1);
    if (localWorld > world) localWorld = world;
    boolean agent = "true".equalsIgnoreCase(env.getOrDefault("TORCHELASTIC_USE_AGENT_STORE", "false"));
    return new Rendezvous(world, rank, localRank, localWorld, host, port, timeout == null ? DEFAULT_TIMEOUT : timeout, agent);
  }

  /** A store address: host name or IP literal, and port. */
  public record Address(String host, int port) {}

  /**
   * {@code --master}'s value, "HOST:PORT" (an IPv6 literal in brackets, "[::1]:29500").
   *
   * @throws IllegalArgumentException naming the flag when the value is malformed or the port is outside 1..65535
   */
  public static Address parseMaster(String master) {
    int colon = master.lastIndexOf(':');
    if (colon <= 0 || colon == master.length() - 1) {
      throw new IllegalArgumentException("--master must be HOST:PORT, got '" + master + "'");
    }
    String host = master.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
    int port = parse("--master's port", master.substring(colon + 1));
    if (port < 1 || port > 65535) throw new IllegalArgumentException("--master's port " + port + " is outside 1..65535");
    return new Address(host, port);
  }

  private static int integer(Map<String, String> env, String name, int otherwise) {
    String v = env.get(name);
    return v == null || v.isBlank() ? otherwise : parse(name, v.strip());
  }

  private static int parse(String name, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer, got '" + value + "'");
    }
  }

  /** "rank 1 of 2". */
  public String describe() {
    return "rank " + rank + " of " + worldSize;
  }
}
