package dev.mha2mla.model;

import dev.mha2mla.kernels.FusedAttention;
import dev.mha2mla.kernels.NativeKernels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.openblas.presets.openblas_nolapack;
import org.bytedeco.pytorch.global.torch;

/**
 * The three CPU thread pools a forward or backward pass uses: LibTorch's OpenMP pool, the native kernels'
 * (the same OpenMP runtime) and OpenBLAS's own pthreads, which LibTorch's matrix products run on and which
 * {@code torch.set_num_threads} leaves alone. Left at their defaults, the OpenMP and OpenBLAS pools each
 * start one thread per core and wait for each other's cores; giving all three the same count is what every
 * entry point (recognizer, trainer, benchmarks) does before its first tensor operation. OpenBLAS's workers also spin
 * for 2^{@code OPENBLAS_THREAD_TIMEOUT} cycles after each product (2^28 unless set; read when the library loads) on
 * the cores the OpenMP threads need next; the launcher sets 2^4.
 *
 * <p>With {@link #configureAdaptive()} the pools follow the machine's load: before each
 * pass ({@link #adapt()}) they are set to the cores other processes left free over the last interval (at least
 * 100 ms), at least one. A fork-join pool whose threads must all be scheduled at every step is slower than one thread
 * when other processes hold the cores (measured on 2 cores with 4 busy processes: the small model 2-3x slower with
 * 2 threads than with 1, the flagship at 2 s 2.6x), and faster when they are free (flagship at 10 s: 1.5x with 2).
 * The other processes' use is all CPU time (/proc/stat) minus this process's own (/proc/self/stat), so its own
 * threads never count against it. {@link #configure(int)} keeps a fixed count, and so does a {@link #pin()}.
 */
public final class CpuThreads {
  private static final Path STAT = Path.of("/proc/stat");
  private static final Path SELF_STAT = Path.of("/proc/self/stat");
  private static final long INTERVAL_NANOS = 100_000_000L;
  private static volatile int limit = 0;
  private static volatile boolean adaptive = false;
  private static int applied = 0;
  // the last sample: wall time, every CPU's busy and total ticks, this process's ticks
  private static long sampledAt;
  private static long[] lastTicks;
  private static long lastSelf;

  private CpuThreads() {}

  /**
   * Sets all three pools to {@code n} threads ({@code n <= 0}: every core this JVM may use), fixed: every pass
   * computes the same bits whatever else runs on the machine. Returns the count.
   */
  public static synchronized int configure(int n) {
    int threads = n > 0 ? n : Runtime.getRuntime().availableProcessors();
    limit = threads;
    adaptive = false;
    apply(threads);
    return threads;
  }

  /**
   * Every core this JVM may use, adapted to the load before each pass ({@link #adapt()}): faster than a fixed count
   * on a busy machine, at the price of float rounding that depends on the load (transcripts agree; logits may differ
   * in the last bits). What {@code transcribe}, {@code stream} and {@code benchmark} use by default. Returns the most
   * threads a pass may use.
   */
  public static synchronized int configureAdaptive() {
    int threads = configure(0);
    adaptive = threads > 1;
    sample(System.nanoTime());
    return threads;
  }

  /** Whether passes follow the load now ({@link #configureAdaptive()} and no {@link #pin()} open). */
  public static boolean isAdaptive() {
    return adaptive;
  }

  /**
   * Before a pass: in adaptive mode, and at least 100 ms after the last sample, sets the pools to
   * round(cores - cores used by other processes since then), between 1 and the configured count; otherwise does
   * nothing. Returns the count in use.
   */
  public static int adapt() {
    if (!adaptive || System.nanoTime() - sampledAt < INTERVAL_NANOS) return applied;
    synchronized (CpuThreads.class) {
      long now = System.nanoTime();
      if (now - sampledAt < INTERVAL_NANOS) return applied;
      long[] before = lastTicks;
      long selfBefore = lastSelf;
      if (!sample(now) || before == null) return applied;
      int threads = threadsFor(limit, before[0], before[1], selfBefore, lastTicks[0], lastTicks[1], lastSelf);
      // LibTorch's OpenMP count belongs to the calling thread: set it where this thread's differs
      if (threads != applied || torch.get_num_threads() != threads) apply(threads);
      return threads;
    }
  }

  /**
   * Until closed, one count for every pass on the calling thread, whatever the load: the configured count, else
   * LibTorch's current one. Results that must repeat bit for bit hold a pin (training, whose resumed run must end
   * with the weights of an uninterrupted one; evaluations, conversions, pipeline and sweep runs), since a matrix
   * product summed over another number of threads rounds differently. Pins nest.
   */
  public static synchronized Pinned pin() {
    Pinned pinned = new Pinned(adaptive);
    adaptive = false;
    int threads = limit > 0 ? limit : torch.get_num_threads();
    if (threads != applied || torch.get_num_threads() != threads) apply(threads);
    return pinned;
  }

  /** Restores the adaptive count, if there was one, when closed. */
  public static final class Pinned implements AutoCloseable {
    private final boolean wasAdaptive;

    private Pinned(boolean wasAdaptive) {
      this.wasAdaptive = wasAdaptive;
    }

    @Override
    public void close() {
      synchronized (CpuThreads.class) {
        adaptive = wasAdaptive;
      }
    }
  }

  /**
   * The count for {@code cores} cores when, between two samples, all CPUs were busy for busy1 - busy0 of total1 -
   * total0 ticks and this process used self1 - self0 of them: round(cores - cores x other busy / total), in [1, cores].
   */
  static int threadsFor(int cores, long busy0, long total0, long self0, long busy1, long total1, long self1) {
    long total = total1 - total0;
    if (total <= 0) return cores;
    double others = Math.max(0, (double) (busy1 - busy0) - (self1 - self0)) / total * cores;
    return (int) Math.max(1, Math.min(cores, Math.round(cores - others)));
  }

  /** Reads the counters; false (and no change) where /proc cannot be read. */
  private static boolean sample(long now) {
    try {
      String[] cpu = Files.readAllLines(STAT).get(0).trim().split("\\s+");
      long total = 0;
      for (int i = 1; i < Math.min(cpu.length, 9); i++) total += Long.parseLong(cpu[i]);  // user .. steal
      long idle = Long.parseLong(cpu[4]) + Long.parseLong(cpu[5]);  // idle + iowait
      String self = Files.readString(SELF_STAT);
      String[] after = self.substring(self.lastIndexOf(')') + 2).split(" ");  // fields from 3 (state) on
      long selfTicks = Long.parseLong(after[11]) + Long.parseLong(after[12]);  // utime, stime (fields 14, 15)
      lastTicks = new long[] {total - idle, total};
      lastSelf = selfTicks;
      sampledAt = now;
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static synchronized void apply(int threads) {
    torch.set_num_threads(threads);
    openblas_nolapack.blas_set_num_threads(threads);
    if (FusedAttention.available()) NativeKernels.mla_set_num_threads(threads);
    applied = threads;
  }
}
