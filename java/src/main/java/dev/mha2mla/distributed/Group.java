package dev.mha2mla.distributed;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.mha2mla.io.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.ByteVector;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.gloo.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * The processes of one data-parallel run, connected through PyTorch's c10d: a {@code TCPStore} for rendezvous and
 * small messages, a {@code ProcessGroupGloo} for the collectives (CPU tensors; Gloo also takes CUDA tensors). With one
 * process ({@link #SINGLE}) every operation is the identity and nothing native is created.
 *
 * <p>Every collective and every store wait is bounded by the rendezvous timeout. When one fails, the exception says
 * which rank this is, what it was doing, and which rank stopped where that can be told: a rank that fails posts its
 * message to the store ({@link #failed}), and a rank on this machine that died without one is found by its process id.
 */
public final class Group implements AutoCloseable {
  /** A run of one process. */
  public static final Group SINGLE = new Group(Rendezvous.single(), null, null);
  /** Gradients are summed in buckets of at most this many bytes (DDP's default bucket size). */
  public static final long BUCKET_BYTES = 25L << 20;
  private static final String KEYS = "mha2mla/";
  private static final long POLL_MILLIS = 20;

  private final Rendezvous where;
  private final TCPStore store;
  private final ProcessGroupGloo gloo;
  private long gathers;
  private long collectiveNanos;
  // a collective failed here or this rank failed: leave without waiting for the others
  private boolean broken;

  private Group(Rendezvous where, TCPStore store, ProcessGroupGloo gloo) {
    this.where = where;
    this.store = store;
    this.gloo = gloo;
  }

  /**
   * Joins the run: connects to (rank 0: hosts, unless a launcher does) the store, then forms the Gloo group, which
   * waits until every rank has arrived or the timeout has passed.
   *
   * @throws DistributedException if the store cannot be hosted or reached, or not every rank arrives in time
   */
  public static Group connect(Rendezvous where) {
    if (where.isSingle()) return SINGLE;
    Loader.load(torch.class);
    boolean hosts = !where.agentStore() && where.rank() == 0;
    Milliseconds timeout = new Milliseconds(where.timeout().toMillis());
    TCPStore store;
    try {
      store = new TCPStore(where.host(), storeOptions(where.port(), hosts, timeout));
    } catch (RuntimeException e) {
      throw new DistributedException(where.describe() + ": " + (hosts
          ? "cannot host the store on port " + where.port() + " (in use? choose another --master port or MASTER_PORT): "
          : "cannot reach the store at " + where.host() + ":" + where.port() + " within " + human(where) + ": ")
          + firstLine(e));
    }
    ProcessGroupGloo gloo;
    try {
      ProcessGroupGloo.Options options = ProcessGroupGloo.Options.create(timeout);
      options.devices(new GlooDeviceVector(device(where.host())));
      gloo = new ProcessGroupGloo(store, where.rank(), where.worldSize(), options);
    } catch (RuntimeException e) {
      throw new DistributedException(where.describe() + ": not every rank joined within " + human(where)
          + " (is the world size " + where.worldSize() + " right, and is every rank started?): " + firstLine(e));
    }
    Group group = new Group(where, store, gloo);
    group.guard("announcing this process", () -> {
      store.set(KEYS + "pid/" + where.rank(), new ByteVector(bytes(hostname() + " " + ProcessHandle.current().pid())));
      return null;
    });
    return group;
  }

  /** Options of a store client, or of its server when {@code hosts}: port 0 lets the server choose one. */
  public static TCPStoreOptions storeOptions(int port, boolean hosts, Milliseconds timeout) {
    TCPStoreOptions o = new TCPStoreOptions();
    o.port((short) port);
    o.isServer(hosts);
    o.waitWorkers(false);
    o.timeout(timeout);
    return o;
  }

  // Gloo needs an address the other ranks reach: loopback for a one-machine run, else the interface GLOO_SOCKET_IFNAME
  // names, else the address this machine's host name resolves to (what PyTorch does)
  private static Device device(String storeHost) {
    String iface = System.getenv("GLOO_SOCKET_IFNAME");
    if (iface != null && !iface.isBlank()) return ProcessGroupGloo.createDeviceForInterface(iface.strip());
    try {
      if (InetAddress.getByName(storeHost).isLoopbackAddress()) return ProcessGroupGloo.createDeviceForHostname("127.0.0.1");
    } catch (UnknownHostException e) {
      // the store connection succeeded, so the name resolves; fall through to the default
    }
    return ProcessGroupGloo.createDefaultDevice();
  }

  public int rank() {
    return where.rank();
  }

  public int worldSize() {
    return where.worldSize();
  }

  public boolean isSingle() {
    return where.isSingle();
  }

  /**
   * Seconds this rank has spent in collectives and gathers, waiting for slower ranks included: the cost of running
   * over several processes.
   */
  public double collectiveSeconds() {
    return collectiveNanos / 1e9;
  }

  public Rendezvous rendezvous() {
    return where;
  }

  /** The contiguous share {@code [from, to)} of {@code n} items that this rank takes. */
  public int[] share(int n) {
    return share(n, rank(), worldSize());
  }

  /** Rank {@code r}'s share {@code [floor(n r / W), floor(n (r + 1) / W))} of {@code n} items: sizes differ by at most one. */
  public static int[] share(int n, int r, int worldSize) {
    return new int[] {(int) ((long) n * r / worldSize), (int) ((long) n * (r + 1) / worldSize)};
  }

  /**
   * Sums each tensor over all ranks in place (every rank ends with the same bits), in buckets of at most
   * {@link #BUCKET_BYTES}: the tensors of a bucket are flattened into one buffer, summed, and copied back.
   *
   * @param what what the tensors are, for an error message ("the gradients of update 12")
   */
  public void allReduceSum(List<Tensor> tensors, String what) {
    if (isSingle() || tensors.isEmpty()) return;
    List<Tensor> bucket = new ArrayList<>();
    long bytes = 0;
    for (Tensor t : tensors) {
      long size = t.numel() * t.element_size();
      if (!bucket.isEmpty() && bytes + size > BUCKET_BYTES) {
        reduceBucket(bucket, what);
        bucket.clear();
        bytes = 0;
      }
      bucket.add(t);
      bytes += size;
    }
    if (!bucket.isEmpty()) reduceBucket(bucket, what);
  }

  private void reduceBucket(List<Tensor> bucket, String what) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      boolean inPlace = bucket.size() == 1 && bucket.get(0).is_contiguous();
      Tensor flat;
      if (inPlace) {
        flat = bucket.get(0);
      } else {
        TensorVector parts = new TensorVector();
        for (Tensor t : bucket) parts.push_back(t.reshape(-1));
        flat = torch.cat(parts);
      }
      long t0 = System.nanoTime();
      Work work = guard(what, () -> gloo.allreduce(new TensorVector(flat)));
      guard(what, work::_wait);
      collectiveNanos += System.nanoTime() - t0;
      if (inPlace) return;
      long at = 0;
      for (Tensor t : bucket) {
        long n = t.numel();
        t.copy_(flat.narrow(0, at, n).view_as(t));
        at += n;
      }
    }
  }

  /** The sum of {@code value} over all ranks, the same on every rank. */
  public double sum(double value, String what) {
    if (isSingle()) return value;
    try (PointerScope scope = new PointerScope()) {
      Tensor t = Tensor.create(new double[] {value}, 1);
      long t0 = System.nanoTime();
      Work work = guard(what, () -> gloo.allreduce(new TensorVector(t)));
      guard(what, work::_wait);
      collectiveNanos += System.nanoTime() - t0;
      return t.item_double();
    }
  }

  /**
   * Every rank's {@code mine}, in rank order, on every rank: through the store, so the payloads may differ in size.
   * Waits at most the timeout for the others, and stops at once when one of them reports a failure.
   */
  public List<byte[]> allGather(String what, byte[] mine) {
    if (isSingle()) return List.of(mine);
    long t0 = System.nanoTime();
    try {
      return gather(what, mine);
    } finally {
      collectiveNanos += System.nanoTime() - t0;
    }
  }

  private List<byte[]> gather(String what, byte[] mine) {
    String prefix = KEYS + "gather/" + (gathers++) + "/";
    guard(what, () -> {
      store.set(prefix + rank(), new ByteVector(mine));
      return null;
    });
    byte[][] all = new byte[worldSize()][];
    all[rank()] = mine;
    long deadline = System.nanoTime() + where.timeout().toNanos();
    int missing = worldSize() - 1;
    while (missing > 0) {
      // each poll's native key vectors and buffers are freed before the next
      try (PointerScope scope = new PointerScope()) {
        for (int r = 0; r < worldSize(); r++) {
          if (all[r] != null) continue;
          String key = prefix + r;
          if (guard(what, () -> store.check(new StringVector(key)))) {
            all[r] = guard(what, () -> store.get(key).get());
            missing--;
          }
        }
      }
      if (missing == 0) break;
      String failures = failures();
      if (!failures.isEmpty()) throw fail(where.describe() + ": " + what + " stopped: " + failures);
      if (System.nanoTime() > deadline) {
        List<Integer> late = new ArrayList<>();
        for (int r = 0; r < worldSize(); r++) if (all[r] == null) late.add(r);
        throw fail(where.describe() + ": " + what + ": rank(s) " + late + " did not arrive within "
            + human(where) + " (--timeout)" + alive());
      }
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw fail(where.describe() + ": interrupted while waiting for " + what);
      }
    }
    return List.of(all);
  }

  /**
   * Runs {@code setup} on every rank and checks that all succeeded and agree: each returns named fingerprints
   * (options, data, weights) that must equal rank 0's. A rank whose setup failed rethrows its own exception; the
   * others stop with a message naming it and its error, or naming each fingerprint that differs.
   */
  public void agree(String what, Callable<Map<String, String>> setup) throws Exception {
    Map<String, String> mine;
    Exception failure = null;
    try {
      mine = setup.call();
    } catch (Exception e) {
      failure = e;
      mine = Map.of("error", String.valueOf(e.getMessage()));
    }
    if (isSingle()) {
      if (failure != null) throw failure;
      return;
    }
    List<byte[]> all = allGather(what, json(mine));
    if (failure != null) throw failure;
    List<Map<String, String>> maps = new ArrayList<>();
    for (byte[] b : all) maps.add(fromJson(b));
    List<String> problems = new ArrayList<>();
    for (int r = 0; r < maps.size(); r++) {
      if (maps.get(r).containsKey("error")) problems.add("rank " + r + " failed: " + maps.get(r).get("error"));
    }
    if (problems.isEmpty()) {
      Map<String, String> reference = maps.get(0);
      for (int r = 1; r < maps.size(); r++) {
        for (String key : new java.util.TreeSet<>(reference.keySet())) {
          String a = reference.get(key);
          String b = maps.get(r).get(key);
          if (!a.equals(b)) problems.add("rank " + r + "'s " + key + " is " + abbreviate(b) + ", rank 0's " + abbreviate(a));
        }
      }
    }
    if (!problems.isEmpty()) {
      throw fail(where.describe() + ": " + what + ": the ranks do not agree:\n  "
          + String.join("\n  ", problems));
    }
  }

  /** Tells the other ranks, through the store, that this one stopped and why (best effort). */
  public void failed(Throwable e) {
    broken = true;
    if (isSingle() || e instanceof DistributedException) return;
    try {
      store.set(KEYS + "failed/" + rank(), new ByteVector(bytes(e.getMessage() != null ? e.getMessage() : e.toString())));
    } catch (RuntimeException ignored) {
      // the store is gone too: the others learn it from their own failed collective
    }
  }

  private DistributedException fail(String message) {
    broken = true;
    return new DistributedException(message);
  }

  private <T> T guard(String what, Supplier<T> op) {
    try {
      return op.get();
    } catch (DistributedException e) {
      broken = true;
      throw e;
    } catch (RuntimeException e) {
      broken = true;
      String m = firstLine(e);
      String hint = m.toLowerCase(java.util.Locale.ROOT).contains("timed out") || m.toLowerCase(java.util.Locale.ROOT).contains("timeout")
          ? " (no answer within " + human(where) + ", --timeout)" : "";
      String failures = failures();
      throw new DistributedException(where.describe() + ": " + what + " failed: " + m + hint
          + (failures.isEmpty() ? alive() : ". " + failures));
    }
  }

  // the failures other ranks posted, "" when none (or the store is unreachable)
  private String failures() {
    List<String> out = new ArrayList<>();
    try (PointerScope scope = new PointerScope()) {
      for (int r = 0; r < worldSize(); r++) {
        if (r == rank()) continue;
        String key = KEYS + "failed/" + r;
        if (store.check(new StringVector(key))) {
          out.add("rank " + r + " failed: " + new String(store.get(key).get(), StandardCharsets.UTF_8));
        }
      }
    } catch (RuntimeException e) {
      return "";
    }
    return String.join("; ", out);
  }

  // which ranks on this machine are no longer running, or that the store itself is gone
  private String alive() {
    List<String> gone = new ArrayList<>();
    String here = hostname();
    try (PointerScope scope = new PointerScope()) {
      for (int r = 0; r < worldSize(); r++) {
        if (r == rank()) continue;
        String key = KEYS + "pid/" + r;
        if (!store.check(new StringVector(key))) continue;
        String[] hostPid = new String(store.get(key).get(), StandardCharsets.UTF_8).split(" ");
        long pid = Long.parseLong(hostPid[1]);
        if (hostPid[0].equals(here) && ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true)) {
          gone.add("rank " + r + " (pid " + pid + " on this machine) is no longer running");
        }
      }
    } catch (RuntimeException e) {
      return ". The store at " + where.host() + ":" + where.port() + " is unreachable too"
          + (where.agentStore() ? " (its launcher stopped)" : " (rank 0 hosts it: rank 0 stopped)");
    }
    return gone.isEmpty() ? ". Another rank stopped or hangs: its own log says why" : ". " + String.join("; ", gone);
  }

  private static String firstLine(RuntimeException e) {
    String m = String.valueOf(e.getMessage()).strip();
    int nl = m.indexOf('\n');
    if (nl >= 0) m = m.substring(0, nl);
    return m.replaceFirst("^\\[[^\\]]*\\]\\s*", "");
  }

  private static String human(Rendezvous where) {
    long s = where.timeout().toSeconds();
    return s % 60 == 0 ? s / 60 + " min" : s + " s";
  }

  private static String abbreviate(String s) {
    return s == null ? "(missing)" : s.length() > 80 ? s.substring(0, 77) + "..." : s;
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "unknown";
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] json(Object value) {
    try {
      return Json.MAPPER.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Map<String, String> fromJson(byte[] bytes) {
    try {
      return new TreeMap<>(Json.MAPPER.readValue(bytes, new TypeReference<Map<String, String>>() {}));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Leaves the group: after a barrier, so that rank 0, which may host the store, stays until every rank has read
   * what it needs from it; without one when the run already failed.
   */
  @Override
  public void close() {
    if (isSingle()) return;
    if (!broken) {
      try (PointerScope scope = new PointerScope()) {
        gloo.barrier()._wait();
      } catch (RuntimeException e) {
        // leaving anyway: the others learn it from their own next collective
      }
    }
    if (gloo != null) gloo.close();
    if (store != null) store.close();
  }
}
