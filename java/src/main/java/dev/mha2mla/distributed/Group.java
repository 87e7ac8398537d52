package dev.mha2mla.distributed;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.mha2mla.io.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.BroadcastOptions;
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
 * <p>Every collective and every store call is bounded by the rendezvous timeout: Gloo bounds its own operations, and
 * the store is called from a thread of its own and abandoned when it does not answer in time (a store call over a
 * network that drops packets waits in {@code recv} until TCP gives up, about 15 minutes). When one fails, the
 * exception says which rank this is, what it was doing, and what the store knows of the others: the failure a rank
 * posted ({@link #failed}), whether a rank in this process-id space still runs, or the collective each rank last
 * began, so a rank that hangs is the one left behind.
 */
public final class Group implements AutoCloseable {
  /** A run of one process. */
  public static final Group SINGLE = new Group(Rendezvous.single(), null, null, null);
  /** Gradients are summed in buckets of at most this many bytes (DDP's default bucket size). */
  public static final long BUCKET_BYTES = 25L << 20;
  private static final String KEYS = "mha2mla/";
  private static final long POLL_MILLIS = 20;
  /** The store calls that explain a failure wait at most this long (or the timeout, if shorter). */
  static final Duration DIAGNOSIS = Duration.ofSeconds(10);
  /** Where this process's id means something: the kernel boot and the pid namespace (else the host name). */
  private static final String PID_SPACE = pidSpace();

  private final Rendezvous where;
  private final TCPStore store;
  private final ProcessGroupGloo gloo;
  private final ExecutorService storeThread;
  private long gathers;
  private long collectiveNanos;
  // the collective this rank last began, and the announcement of it the store's thread has yet to post
  private String posted;
  private final AtomicReference<String> toPost = new AtomicReference<>();
  // a collective failed here or this rank failed: leave without waiting for the others
  private boolean broken;
  // a store call was abandoned: its thread may never return, so the store is neither called nor freed again
  private volatile boolean storeLost;

  private Group(Rendezvous where, TCPStore store, ProcessGroupGloo gloo, ExecutorService storeThread) {
    this.where = where;
    this.store = store;
    this.gloo = gloo;
    this.storeThread = storeThread;
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
    // c10's log level from TORCH_CPP_LOG_LEVEL, as PyTorch's Python module sets it at import; a library alone never
    // reads it
    torch.initLogging();
    boolean hosts = !where.agentStore() && where.rank() == 0;
    Milliseconds timeout = new Milliseconds(where.timeout().toMillis());
    ExecutorService storeThread = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "mha2mla c10d store, rank " + where.rank());
      t.setDaemon(true);
      return t;
    });
    TCPStore store;
    Future<TCPStore> opening = storeThread.submit(() -> new TCPStore(where.host(), storeOptions(where.port(), hosts, timeout)));
    try {
      // the store's own connection attempts stop at the timeout and say why; the grace lets that message through
      store = opening.get(where.timeout().toMillis() + 5000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException | InterruptedException e) {
      storeThread.shutdownNow();
      String why = e instanceof ExecutionException x ? firstLine(x.getCause())
          : "no answer within " + human(where) + " (--timeout)";
      throw new DistributedException(where.describe() + ": " + (hosts
          ? "cannot host the store on port " + where.port() + " (in use? choose another --master port or MASTER_PORT): "
          : "cannot reach the store at " + where.host() + ":" + where.port() + " within " + human(where) + ": ")
          + why);
    }
    ProcessGroupGloo gloo;
    try {
      ProcessGroupGloo.Options options = ProcessGroupGloo.Options.create(timeout);
      options.devices(new GlooDeviceVector(device(where.host())));
      gloo = new ProcessGroupGloo(store, where.rank(), where.worldSize(), options);
    } catch (RuntimeException e) {
      storeThread.submit(store::close);
      storeThread.shutdown();
      throw new DistributedException(where.describe() + ": not every rank joined within " + human(where)
          + " (is the world size " + where.worldSize() + " right, and is every rank started?): " + firstLine(e));
    }
    Group group = new Group(where, store, gloo, storeThread);
    group.guard("announcing this process", () -> {
      group.onStore("announcing this process", where.timeout(), () -> {
        store.set(KEYS + "pid/" + where.rank(), new ByteVector(bytes(PID_SPACE + " " + ProcessHandle.current().pid())));
        return null;
      });
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
    begin(what);
    inBuckets(tensors, what, flat -> gloo.allreduce(new TensorVector(flat)));
  }

  /**
   * Overwrites each tensor with rank 0's, in place (rank 0's are sent unchanged), in buckets as
   * {@link #allReduceSum}; every rank passes tensors of the same shapes and types in the same order.
   */
  public void broadcastFromRankZero(List<Tensor> tensors, String what) {
    if (isSingle() || tensors.isEmpty()) return;
    begin(what);
    inBuckets(tensors, what, flat -> gloo.broadcast(new TensorVector(flat), new BroadcastOptions().rootRank(0)));
  }

  private void inBuckets(List<Tensor> tensors, String what, Function<Tensor, Work> collective) {
    for (List<Tensor> bucket : buckets(tensors, BUCKET_BYTES)) onBucket(bucket, what, collective);
  }

  /**
   * Consecutive tensors of one element type, at most {@code capBytes} per bucket (a larger tensor alone): one
   * collective each.
   */
  static List<List<Tensor>> buckets(List<Tensor> tensors, long capBytes) {
    List<List<Tensor>> out = new ArrayList<>();
    List<Tensor> bucket = new ArrayList<>();
    long bytes = 0;
    int type = -1;
    for (Tensor t : tensors) {
      long size = t.numel() * t.element_size();
      // JavaCPP returns a new enum object per call: compare the values, never the objects
      int tType = t.scalar_type().value;
      if (!bucket.isEmpty() && (bytes + size > capBytes || tType != type)) {
        out.add(bucket);
        bucket = new ArrayList<>();
        bytes = 0;
      }
      bucket.add(t);
      bytes += size;
      type = tType;
    }
    if (!bucket.isEmpty()) out.add(bucket);
    return out;
  }

  private void onBucket(List<Tensor> bucket, String what, Function<Tensor, Work> collective) {
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
      Work work = guard(what, () -> collective.apply(flat));
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
    begin(what);
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
    begin(what);
    long t0 = System.nanoTime();
    try {
      return gather(what, mine);
    } finally {
      collectiveNanos += System.nanoTime() - t0;
    }
  }

  private List<byte[]> gather(String what, byte[] mine) {
    String prefix = KEYS + "gather/" + (gathers++) + "/";
    long deadline = System.nanoTime() + where.timeout().toNanos();
    guard(what, () -> onStore(what, storeLimit(deadline), () -> {
      store.set(prefix + rank(), new ByteVector(mine));
      return null;
    }));
    byte[][] all = new byte[worldSize()][];
    all[rank()] = mine;
    int missing = worldSize() - 1;
    while (missing > 0) {
      // one store call per poll: the ranks that arrived, their payloads, and the failures posted
      Poll poll = guard(what, () -> onStore(what, storeLimit(deadline), () -> poll(prefix, all)));
      for (int r = 0; r < worldSize(); r++) {
        if (all[r] == null && poll.payloads[r] != null) {
          all[r] = poll.payloads[r];
          missing--;
        }
      }
      if (missing == 0) break;
      if (!poll.failures.isEmpty()) throw fail(where.describe() + ": " + what + " stopped: " + poll.failures);
      if (System.nanoTime() > deadline) {
        List<Integer> late = new ArrayList<>();
        for (int r = 0; r < worldSize(); r++) if (all[r] == null) late.add(r);
        throw fail(where.describe() + ": " + what + ": rank(s) " + late + " did not arrive within "
            + human(where) + " (--timeout)" + others());
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

  private record Poll(byte[][] payloads, String failures) {}

  // on the store's thread: the payloads under prefix not yet in have, and the failures other ranks posted
  private Poll poll(String prefix, byte[][] have) {
    byte[][] found = new byte[worldSize()][];
    // each poll's native key vectors and buffers are freed before the next
    try (PointerScope scope = new PointerScope()) {
      for (int r = 0; r < worldSize(); r++) {
        if (have[r] != null) continue;
        String key = prefix + r;
        if (store.check(new StringVector(key))) found[r] = store.get(key).get();
      }
      return new Poll(found, String.join("; ", failuresPosted()));
    }
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

  /** Tells the other ranks, through the store, that this one stopped and why (best effort, bounded). */
  public void failed(Throwable e) {
    broken = true;
    if (isSingle() || e instanceof DistributedException) return;
    try {
      onStore("posting this failure", diagnosis(), () -> {
        store.set(KEYS + "failed/" + rank(), new ByteVector(bytes(e.getMessage() != null ? e.getMessage() : e.toString())));
        return null;
      });
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
      throw new DistributedException(where.describe() + ": " + what + " failed: " + m + hint + others());
    }
  }

  /**
   * Announces the collective this rank begins, so that a rank left waiting for it can tell how far each got: once per
   * distinct collective (two per update), not per bucket. The store's thread posts it while this one goes on (a
   * store call can cost a delayed acknowledgement, 40 ms); while a post is queued, a newer one replaces it.
   */
  private void begin(String what) {
    if (what.equals(posted)) return;
    posted = what;
    if (toPost.getAndSet(what) == null && !storeLost) storeThread.submit(this::post);
  }

  // on the store's thread: the latest announcement; a failure here is reported by the next collective or gather
  private void post() {
    String what = toPost.getAndSet(null);
    if (what == null) return;
    try (PointerScope scope = new PointerScope()) {
      store.set(KEYS + "at/" + rank(), new ByteVector(bytes(what)));
    } catch (RuntimeException ignored) {
      // the store is unreachable: whoever calls it next says so
    }
  }

  /**
   * Runs a store call on the store's thread and waits at most {@code limit} for it. A call that does not answer is
   * abandoned, and with it the store: its thread may be blocked for good.
   *
   * @throws DistributedException when the store did not answer in time, or was abandoned before
   */
  private <T> T onStore(String what, Duration limit, Callable<T> call) {
    if (storeLost) throw new DistributedException(where.describe() + ": " + what + ": the store " + unanswered("did not answer earlier"));
    Future<T> answer = storeThread.submit(call);
    try {
      return answer.get(Math.max(1, limit.toNanos()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      storeLost = true;
      broken = true;
      throw new DistributedException(where.describe() + ": " + what + ": the store " + unanswered("did not answer within " + human(where)
          + " (--timeout)"));
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) throw r;
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      answer.cancel(true);
      throw new DistributedException(where.describe() + ": interrupted while calling the store");
    }
  }

  // "at HOST:PORT <what happened> (who hosts it)"
  private String unanswered(String happened) {
    return "at " + where.host() + ":" + where.port() + " " + happened + (where.agentStore()
            ? " (its launcher stopped, or the network to it failed)"
            : " (rank 0 hosts it: rank 0 stopped or hangs, or the network to it failed)");
  }

  // a gather's store call: the time left to the gather's deadline, but never less than a diagnosis gets, so that a
  // call made just before the deadline does not count a late rank as a store that stopped answering
  private Duration storeLimit(long deadlineNanos) {
    Duration left = Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime()));
    return left.compareTo(diagnosis()) < 0 ? diagnosis() : left;
  }

  private Duration diagnosis() {
    return where.timeout().compareTo(DIAGNOSIS) < 0 ? where.timeout() : DIAGNOSIS;
  }

  // the failures other ranks posted (on the store's thread)
  private List<String> failuresPosted() {
    List<String> out = new ArrayList<>();
    for (int r = 0; r < worldSize(); r++) {
      if (r == rank()) continue;
      String key = KEYS + "failed/" + r;
      if (store.check(new StringVector(key))) {
        out.add("rank " + r + " failed: " + new String(store.get(key).get(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  /**
   * What the store knows of the other ranks, as the tail of a failure's message: the failures they posted, else the
   * ranks of this process-id space that no longer run and the collective each other rank last began. Bounded by
   * {@link #DIAGNOSIS}.
   */
  private String others() {
    try {
      return onStore("reading what the others posted", diagnosis(), () -> {
        try (PointerScope scope = new PointerScope()) {
          List<String> failures = failuresPosted();
          if (!failures.isEmpty()) return ". " + String.join("; ", failures);
          List<String> seen = new ArrayList<>();
          for (int r = 0; r < worldSize(); r++) {
            if (r == rank()) continue;
            String pidKey = KEYS + "pid/" + r;
            if (store.check(new StringVector(pidKey))) {
              String[] spacePid = new String(store.get(pidKey).get(), StandardCharsets.UTF_8).split(" ");
              long pid = Long.parseLong(spacePid[1]);
              if (spacePid[0].equals(PID_SPACE) && ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true)) {
                seen.add("rank " + r + " (pid " + pid + " on this machine) is no longer running");
                continue;
              }
            }
            String atKey = KEYS + "at/" + r;
            seen.add("rank " + r + (store.check(new StringVector(atKey))
                ? " last began " + new String(store.get(atKey).get(), StandardCharsets.UTF_8)
                : " began no collective yet"));
          }
          return ". " + String.join("; ", seen) + (posted == null ? "" : " (this rank: " + posted + ")");
        }
      });
    } catch (RuntimeException e) {
      return ". The store " + unanswered("does not answer either");
    }
  }

  /**
   * The kernel boot and pid namespace this process runs in: two ranks with the same one can see each other's process
   * ids (ranks on one machine, containers sharing a pid namespace); elsewhere the host name stands in.
   */
  private static String pidSpace() {
    try {
      String boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
      String namespace = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString().replaceAll("\\D", "");
      return boot + "/" + namespace;
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      // no /proc (not Linux) or not readable: processes of one host name are taken to share a pid space
      return hostname();
    }
  }

  private static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage()).strip();
    int nl = m.indexOf('\n');
    if (nl >= 0) m = m.substring(0, nl);
    return m.replaceFirst("^\\[[^\\]]*\\]\\s*", "");
  }

  private static String human(Rendezvous where) {
    return human(where.timeout());
  }

  private static String human(Duration d) {
    long s = (d.toMillis() + 500) / 1000;
    return s % 60 == 0 && s > 0 ? s / 60 + " min" : s + " s";
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
    if (!storeLost) {
      try {
        onStore("leaving", diagnosis(), () -> {
          store.close();
          return null;
        });
      } catch (RuntimeException e) {
        // the store went away while leaving: nothing is left to tell it
      }
    }
    // an abandoned call keeps its (daemon) thread and the store it uses: freeing the store under it would crash
    storeThread.shutdown();
  }
}
