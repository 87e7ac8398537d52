package dev.mha2mla.benchmarks;

import dev.mha2mla.kernels.NativeLinear;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.CpuThreads;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Where a whole-utterance forward pass spends its time, and how fast this machine's matrix products are at the
 * shapes it uses. LibTorch's CPU operations run synchronously, so the time between two consecutive intermediates
 * the forward pass records ({@link dev.mha2mla.model.Trace}) is the time of the operations between them: the feature
 * encoder, each layer's first feed-forward half ("attn_input"), its attention ("attn") and the rest (convolution
 * module, second feed-forward half, norms). Then {@code torch.linear} alone at [T, D] x [D, F] and the other layer
 * shapes, with the same thread setting.
 *
 * <p>{@code java -cp ... dev.mha2mla.benchmarks.ForwardProfile MODEL SECONDS [THREADS]}
 */
public final class ForwardProfile {
  private ForwardProfile() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: ForwardProfile MODEL SECONDS [THREADS]");
      System.exit(2);
    }
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    CpuThreads.configure(threads);
    int samples = (int) Math.round(Double.parseDouble(args[1]) * 16000);
    try (ConformerCtcModel m = ConformerCtcModel.load(Path.of(args[0])); NoGradGuard g = new NoGradGuard()) {
      Map<String, List<Double>> stages = new LinkedHashMap<>();
      int passes = 4;
      for (int pass = 0; pass < passes; pass++) {
        try (PointerScope s = new PointerScope()) {
          Tensor x = torch.randn(1, samples).mul_(new Scalar(0.1));
          long[] last = {System.nanoTime()};
          long start = last[0];
          boolean timed = pass > 0;
          m.forward(x, new long[] {samples}, (name, v) -> {
            long now = System.nanoTime();
            if (timed) stages.computeIfAbsent(stage(name), k -> new ArrayList<>()).add((now - last[0]) / 1e6);
            last[0] = now;
          });
          if (timed) stages.computeIfAbsent("total", k -> new ArrayList<>()).add((System.nanoTime() - start) / 1e6);
        }
      }
      int frames = (int) m.featureEncoder().frames(samples);
      System.out.printf("%s, %s s (%d frames), %d thread(s); ms per pass, mean of %d passes after one warm-up%n",
          args[0], args[1], frames, threads, passes - 1);
      // per stage: the mean over the timed passes of its summed milliseconds
      int timed = passes - 1;
      stages.forEach((k, v) -> System.out.printf("  %-34s %9.1f%n", k, v.stream().mapToDouble(d -> d).sum() / timed));
      long d = m.config().hiddenSize();
      long f = m.config().intermediateSize();
      System.out.println("torch.linear and the native kernel (mla_linear_f32) alone, median of 15:");
      for (long[] s : new long[][] {{frames, d, f}, {frames, f, d}, {frames, d, d}, {2L * frames - 1, d, d}, {frames, d, 2 * d}}) {
        Tensor in = torch.randn(s[0], s[1]);
        Tensor w = torch.randn(s[2], s[1]);
        Tensor b = torch.randn(s[2]);
        double ms = median(() -> torch.linear(in, w, new TensorOptional(b)));
        double nat = median(() -> NativeLinear.forward(in, w, b));
        System.out.printf("  [%d, %d] x [%d, %d]: torch %.2f ms, %.1f GFLOP/s; native %.2f ms, %.1f GFLOP/s%n", s[0], s[1],
            s[1], s[2], ms, 2.0 * s[0] * s[1] * s[2] / ms / 1e6, nat, 2.0 * s[0] * s[1] * s[2] / nat / 1e6);
      }
    }
  }

  /** Layers 1.. are summed per stage kind; layer 0 and the stages before the encoder stand alone. */
  private static String stage(String name) {
    String kind = name.replaceAll("\\d+$", "").replace("layer.", "layer end ");
    boolean first = name.endsWith("0") && !name.endsWith("10") && !name.endsWith("20");
    return name.matches(".*\\d$") && !first ? kind + "(layers 1..)" : name;
  }

  private static double median(Supplier<Tensor> op) {
    double[] t = new double[15];
    for (int i = -3; i < t.length; i++) {
      long t0 = System.nanoTime();
      op.get().close();
      if (i >= 0) t[i] = (System.nanoTime() - t0) / 1e6;
    }
    Arrays.sort(t);
    return t[t.length / 2];
  }
}
