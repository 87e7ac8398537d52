package dev.mha2mla.cli;

import dev.mha2mla.distributed.Group;
import dev.mha2mla.distributed.Rendezvous;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code --nproc N}: this process becomes the launcher of N workers on this machine, as torchrun's agent is. It
 * hosts the run's c10d store on a free loopback port (so no port is guessed), starts each worker as this same
 * command without {@code --nproc} and with torchrun's variables set, passes rank 0's output through and prefixes the
 * others' lines with their rank. When a worker fails the others are given a grace period to notice and stop on their
 * own, then killed; the exit code is the first failing worker's (0 when all succeed).
 */
final class LocalWorkers {
  /** How long the other workers get to stop by themselves after one failed. */
  static final Duration GRACE = Duration.ofSeconds(30);

  private LocalWorkers() {}

  static int run(String command, int nproc, DistributedOptions options, List<String> arguments) throws IOException,
      InterruptedException {
    Duration timeout = options.timeout() == null ? Rendezvous.DEFAULT_TIMEOUT : options.timeout();
    Rendezvous.Address at = options.launcherStore();
    // unpacks the native libraries once, before N processes would race to do it
    Loader.load(torch.class);
    TCPStore store;
    try {
      store = new TCPStore(at.host(), Group.storeOptions(at.port(), true, new Milliseconds(timeout.toMillis())));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("cannot host the run's store on " + at.host() + ":" + at.port() + ": " + e.getMessage().lines().findFirst().orElse(""));
    }
    int actualPort = store.getPort() & 0xffff;
    List<Process> workers = new ArrayList<>();
    List<Thread> pumps = new ArrayList<>();
    Thread cleanup = new Thread(() -> workers.forEach(Process::destroyForcibly));
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      for (int r = 0; r < nproc; r++) {
        ProcessBuilder pb = new ProcessBuilder(workerCommand(arguments));
        Map<String, String> env = pb.environment();
        env.put("WORLD_SIZE", Integer.toString(nproc));
        env.put("RANK", Integer.toString(r));
        env.put("LOCAL_RANK", Integer.toString(r));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(nproc));
        env.put("MASTER_ADDR", at.host());
        env.put("MASTER_PORT", Integer.toString(actualPort));
        env.put("TORCHELASTIC_USE_AGENT_STORE", "True");
        if (r == 0) {
          pb.inheritIO();
        } else {
          pb.redirectErrorStream(true);
          pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        Process p = pb.start();
        workers.add(p);
        if (r > 0) pumps.add(prefix(p, "[rank " + r + "] ", System.err));
      }
      System.err.printf("mha2mla %s: %d processes on this machine, store on %s:%d, pids %s%n", command, nproc,
          at.host(), actualPort, workers.stream().map(Process::pid).toList());
      int code = supervise(command, workers);
      for (Thread t : pumps) t.join(TimeUnit.SECONDS.toMillis(5));
      return code;
    } finally {
      workers.forEach(Process::destroyForcibly);
      Runtime.getRuntime().removeShutdownHook(cleanup);
      store.close();
    }
  }

  /** Waits for all; after the first failure, GRACE for the rest, then kills them. */
  private static int supervise(String command, List<Process> workers) throws InterruptedException {
    int code = 0;
    long killAt = Long.MAX_VALUE;
    boolean[] reported = new boolean[workers.size()];
    while (true) {
      boolean running = false;
      for (int r = 0; r < workers.size(); r++) {
        Process p = workers.get(r);
        if (p.isAlive()) {
          running = true;
          continue;
        }
        if (reported[r]) continue;
        reported[r] = true;
        int exit = p.exitValue();
        if (exit != 0) {
          System.err.printf("mha2mla %s: rank %d (pid %d) %s%n", command, r, p.pid(),
              exit > 128 ? "was killed by signal " + (exit - 128) : "exited with code " + exit);
          if (code == 0) {
            code = exit > 128 ? 1 : exit;
            killAt = System.nanoTime() + GRACE.toNanos();
          }
        }
      }
      if (!running) return code;
      if (System.nanoTime() > killAt) {
        for (int r = 0; r < workers.size(); r++) {
          if (workers.get(r).isAlive()) {
            System.err.printf("mha2mla %s: rank %d did not stop within %d s of the failure: killed%n", command, r,
                GRACE.toSeconds());
            workers.get(r).destroyForcibly();
          }
        }
        killAt = Long.MAX_VALUE;
      }
      Thread.sleep(50);
    }
  }

  /** This JVM's command line with {@code --nproc N} removed: the same classes, options and arguments. */
  static List<String> workerCommand(List<String> arguments) {
    List<String> c = new ArrayList<>();
    c.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!a.startsWith("-agentlib:jdwp") && !a.startsWith("-Xrunjdwp")) c.add(a);
    }
    c.add("-cp");
    c.add(System.getProperty("java.class.path"));
    c.add(Main.class.getName());
    c.addAll(withoutNproc(arguments));
    return c;
  }

  static List<String> withoutNproc(List<String> arguments) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < arguments.size(); i++) {
      String a = arguments.get(i);
      if (a.equals("--nproc")) {
        i++;
      } else if (!a.startsWith("--nproc=")) {
        out.add(a);
      }
    }
    return out;
  }

  private static Thread prefix(Process p, String prefix, PrintStream to) {
    Thread t = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) to.println(prefix + line);
      } catch (IOException e) {
        // the worker is gone
      }
    }, "rank output " + prefix.strip());
    t.setDaemon(true);
    t.start();
    return t;
  }
}
