package dev.mha2mla.cli;

import dev.mha2mla.distributed.Rendezvous;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * How a command runs over several processes (a picocli mixin of {@code finetune} and {@code evaluate}): started by
 * torchrun, SLURM or a PyTorchJob (their variables), by hand with the flags, or with {@code --nproc N} by this
 * process itself.
 */
final class DistributedOptions {
  /** More local workers than this is a typo, not a machine. */
  static final int MAX_NPROC = 256;

  @Option(names = "--nproc", paramLabel = "N",
      description = "Start N processes on this machine that share the work (as torchrun --nproc-per-node N); "
          + "their store is on loopback at a free port, or at --master (an address of this machine); each process "
          + "gets the cores divided by N unless --threads.")
  Integer nproc;

  @Option(names = "--world-size", paramLabel = "N",
      description = "Processes in the run (default: WORLD_SIZE, else 1); each needs --rank and --master.")
  Integer worldSize;

  @Option(names = "--rank", paramLabel = "R", description = "This process's rank, 0..N-1 (default: RANK). Rank 0 writes the output.")
  Integer rank;

  @Option(names = "--master", paramLabel = "HOST:PORT",
      description = "Where rank 0 hosts the run's c10d TCPStore (default: MASTER_ADDR:MASTER_PORT, port 29500).")
  String master;

  @Option(names = "--timeout", paramLabel = "DURATION",
      description = "Longest wait for another process (rendezvous, a collective, a validation), e.g. 90s, 10m, 1h; "
          + "past it every process stops with a message naming the late one (default: 10m).")
  String timeout;

  @Option(names = "--threads", paramLabel = "N",
      description = "CPU threads of this process (default: the machine's cores divided among the processes of the run "
          + "on it).")
  Integer threads;

  /** The rendezvous from the flags and the environment; a malformed one is a usage error. */
  Rendezvous rendezvous(CommandSpec spec) {
    try {
      if (nproc != null && (worldSize != null || rank != null)) {
        throw new IllegalArgumentException("--nproc starts its own ranks: it takes no --world-size or --rank");
      }
      if (threads != null && threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
      return Rendezvous.resolve(System.getenv(), worldSize, rank, master, timeout());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  /** Checks {@code --nproc}; returns it, or 0 when absent. */
  int localProcesses(CommandSpec spec) {
    if (nproc == null) return 0;
    if (nproc < 1 || nproc > MAX_NPROC) {
      throw new ParameterException(spec.commandLine(), "--nproc must be between 1 and " + MAX_NPROC + ", got " + nproc);
    }
    if (System.getenv("WORLD_SIZE") != null) {
      throw new ParameterException(spec.commandLine(), "--nproc inside a launched run (WORLD_SIZE is set): use one or the other");
    }
    try {
      launcherStore();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    return nproc;
  }

  /**
   * Where the {@code --nproc} launcher hosts the store: {@code --master}'s host and port, else loopback and a free
   * port (0). The launcher's workers all run here, so the host must be an address of this machine.
   */
  Rendezvous.Address launcherStore() {
    if (master == null) return new Rendezvous.Address("127.0.0.1", 0);
    Rendezvous.Address a = Rendezvous.parseMaster(master);
    try {
      InetAddress ip = InetAddress.getByName(a.host());
      if (!ip.isLoopbackAddress() && !ip.isAnyLocalAddress() && NetworkInterface.getByInetAddress(ip) == null) {
        throw new IllegalArgumentException("--nproc runs every process on this machine, but --master's host '" + a.host()
            + "' (" + ip.getHostAddress() + ") is not an address of this machine");
      }
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("--master's host '" + a.host() + "' is unknown");
    } catch (SocketException e) {
      throw new IllegalArgumentException("cannot list this machine's addresses to check --master: " + e.getMessage());
    }
    return a;
  }

  /** The thread count: --threads, else this machine's cores shared by the run's processes on it. */
  int threads(Rendezvous where) {
    if (threads != null) return threads;
    return Math.max(1, Runtime.getRuntime().availableProcessors() / where.localWorldSize());
  }

  /** --timeout as a duration: a number with s, m or h, or an ISO-8601 duration (PT10M). */
  Duration timeout() {
    if (timeout == null) return null;
    String t = timeout.strip().toLowerCase(Locale.ROOT);
    try {
      Duration d;
      if (t.matches("\\d+(\\.\\d+)?[smh]")) {
        double n = Double.parseDouble(t.substring(0, t.length() - 1));
        long unit = switch (t.charAt(t.length() - 1)) {
          case 's' -> 1000L;
          case 'm' -> 60_000L;
          default -> 3_600_000L;
        };
        d = Duration.ofMillis(Math.round(n * unit));
      } else {
        d = Duration.parse(timeout.strip().toUpperCase(Locale.ROOT));
      }
      if (d.toMillis() < 1000 || d.toDays() > 7) {
        throw new IllegalArgumentException("--timeout must be between 1 s and 7 days, got " + timeout);
      }
      return d;
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("--timeout must be a duration such as 90s, 10m or 1h, got '" + timeout + "'");
    }
  }
}
