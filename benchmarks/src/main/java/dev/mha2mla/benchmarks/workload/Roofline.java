package dev.mha2mla.benchmarks.workload;

/**
 * The roofline floor of a kernel call (DESIGN.md section 3): the fewest bytes the call must move through memory
 * (each input read once, each output written once) over the machine's copy bandwidth, and its floating-point
 * operations over the machine's matrix-multiply rate. The larger of the two is the floor; no implementation runs much faster.
 *
 * <pre>
 *   bound    = max(bytes / bandwidth, flops / rate)
 *   fraction = bound / measured          (1 = at the roofline)
 * </pre>
 *
 * Both ceilings are measured in the same run as the kernels ({@link dev.mha2mla.eval.bench.MachineCeilings}), never
 * taken from a data sheet.
 */
public final class Roofline {
  private Roofline() {}

  /**
   * What the machine sustains.
   *
   * @param copyBytesPerSecond large array copy: bytes read plus bytes written, per second
   * @param gemmFlopsPerSecond LibTorch float32 matmul of 1024 x 1024 matrices: 2 n^3 flops per call, per second
   */
  public record Ceilings(double copyBytesPerSecond, double gemmFlopsPerSecond) {
    public Ceilings {
      if (!(copyBytesPerSecond > 0) || !(gemmFlopsPerSecond > 0)) {
        throw new IllegalArgumentException("ceilings must be positive: " + copyBytesPerSecond + " B/s, " + gemmFlopsPerSecond + " flop/s");
      }
    }

    /** Flops per byte at which a kernel turns from memory-bound to compute-bound. */
    public double balanceFlopsPerByte() {
      return gemmFlopsPerSecond / copyBytesPerSecond;
    }
  }

  /** The work of one call: floating-point operations and the fewest bytes it must move. */
  public record Cost(double flops, double bytes) {
    public double intensity() {
      return flops / bytes;
    }

    public Cost plus(Cost other) {
      return new Cost(flops + other.flops, bytes + other.bytes);
    }
  }

  /**
   * A measured call against its floor.
   *
   * @param boundSeconds max(memory time, compute time)
   * @param memorySeconds bytes / bandwidth
   * @param computeSeconds flops / rate
   * @param limitedBy "memory" or "compute": the larger term
   * @param measuredOverBound measured / bound (>= 1; 2 means half the roofline)
   * @param fractionOfBound bound / measured (<= 1 up to noise; the suite's summary asks for at least
   *     {@code SuiteSummary.KERNEL_MIN_FRACTION_OF_BOUND})
   */
  public record Point(double flops, double bytes, double boundSeconds, double memorySeconds, double computeSeconds,
      String limitedBy, double measuredSeconds, double measuredOverBound, double fractionOfBound,
      double achievedGflopsPerSecond, double achievedGbytesPerSecond) {}

  public static double memorySeconds(Cost cost, Ceilings machine) {
    return cost.bytes() / machine.copyBytesPerSecond();
  }

  public static double computeSeconds(Cost cost, Ceilings machine) {
    return cost.flops() / machine.gemmFlopsPerSecond();
  }

  public static double boundSeconds(Cost cost, Ceilings machine) {
    return Math.max(memorySeconds(cost, machine), computeSeconds(cost, machine));
  }

  public static Point point(Cost cost, Ceilings machine, double measuredSeconds) {
    double mem = memorySeconds(cost, machine);
    double comp = computeSeconds(cost, machine);
    double bound = Math.max(mem, comp);
    return new Point(cost.flops(), cost.bytes(), bound, mem, comp, mem >= comp ? "memory" : "compute", measuredSeconds,
        measuredSeconds / bound, bound / measuredSeconds, cost.flops() / measuredSeconds / 1e9,
        cost.bytes() / measuredSeconds / 1e9);
  }

  /**
   * Fused rel-pos attention (entry point 1) for batch B, H heads of dh, Tq queries over Tk keys:
   * per (query, key, head) pair 2 dh flops for AC = (q + u).k, 2 dh for BD = (q + w).p, 2 dh for probs . v.
   * Bytes: q, k, v and the output once, the Tq + Tk - 1 rows of p the pairs use (shared by the batch), u and w.
   * The HF-style LibTorch math computes the same function, so it has the same floor.
   */
  public static Cost relposAttention(long b, long h, long tq, long tk, long dh) {
    double flops = 6.0 * b * h * tq * tk * dh;
    double floats = (double) b * h * tq * dh          // q
        + 2.0 * b * h * tk * dh                       // k, v
        + (double) (tq + tk - 1) * h * dh             // p rows for distances -(Tq-1) .. Tk-1
        + 2.0 * h * dh                                // u, w
        + (double) b * h * tq * dh;                   // out
    return new Cost(flops, 4 * floats);
  }

  /**
   * Fused latent attention (entry point 2, absorbed MLA) with latent size r: per (query, key, head) pair 2 r flops
   * for AC = qa.c, 2 dh for BD, 2 r for probs . c. Bytes: qa, qw and z once, the latent c once (all heads share
   * it: r values per frame, where MHA reads 2d), the p rows used.
   */
  public static Cost latentAttention(long b, long h, long tq, long tk, long r, long dh) {
    double flops = (4.0 * r + 2.0 * dh) * b * h * tq * tk;
    double floats = (double) b * h * tq * r           // qa
        + (double) b * tk * r                         // c
        + (double) b * h * tq * dh                    // qw
        + (double) (tq + tk - 1) * h * dh             // p rows
        + (double) b * h * tq * r;                    // z
    return new Cost(flops, 4 * floats);
  }

  /** y = x W^T for x [rows, in], W [out, in]: 2 rows in out flops; x, W and y once. */
  public static Cost linear(long rows, long in, long out) {
    return new Cost(2.0 * rows * in * out, 4.0 * ((double) rows * in + (double) in * out + (double) rows * out));
  }
}
