package dev.mha2mla.benchmarks;

import dev.mha2mla.distributed.Group;
import dev.mha2mla.distributed.Rendezvous;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsFile;
import dev.mha2mla.io.SafeTensorsReader;
import dev.mha2mla.model.CpuThreads;
import dev.mha2mla.train.TrainScope;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The cost of one update's gradient all-reduce in a data-parallel fine-tune, alone: WORLD processes on this machine
 * (loopback, Gloo, one thread each) sum tensors shaped as a model's attention parameters (what {@code finetune}
 * trains by default) with {@link Group#allReduceSum}, as the trainer does after each backward pass; rank 0 prints the
 * median, minimum and maximum over REPEATS after two warm-ups. With {@code --rank R HOST:PORT} one rank is started
 * alone (rank 0 hosts the store at PORT), as on machines of their own; Gloo then takes its device from
 * {@code GLOO_SOCKET_IFNAME} when set.
 *
 * <pre>java -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
 *   dev.mha2mla.benchmarks.AllReduceCost MODEL WORLD REPEATS [--rank R HOST:PORT]</pre>
 */
public final class AllReduceCost {
  private AllReduceCost() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 3) {
      launch(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]));
    } else if (args.length == 6 && args[3].equals("--rank")) {
      String master = args[5].contains(":") ? args[5] : "127.0.0.1:" + args[5];
      rank(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[4]),
          Rendezvous.parseMaster(master));
    } else {
      System.err.println("usage: AllReduceCost MODEL WORLD REPEATS [--rank R HOST:PORT]");
      System.exit(2);
    }
  }

  private static void launch(Path model, int world, int repeats) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    List<Process> ranks = new ArrayList<>();
    for (int r = 0; r < world; r++) {
      ranks.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
          System.getProperty("java.class.path"), AllReduceCost.class.getName(), model.toString(), Integer.toString(world),
          Integer.toString(repeats), "--rank", Integer.toString(r), Integer.toString(port))
          .redirectErrorStream(true).redirectOutput(r == 0 ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.DISCARD)
          .start());
    }
    int code = 0;
    for (Process p : ranks) code = Math.max(code, p.waitFor());
    System.exit(code);
  }

  private static void rank(Path model, int world, int repeats, int rank, Rendezvous.Address store) throws IOException {
    CpuThreads.configure(1);
    Path weights = model.resolve("model.safetensors");
    if (!Files.isRegularFile(weights)) throw new IOException(weights + ": no such file (the benchmark reads shapes from it)");
    SafeTensorsFile file = SafeTensorsReader.open(weights);
    List<long[]> shapes = new ArrayList<>();
    long parameters = 0;
    for (String name : file.names()) {
      if (!TrainScope.ATTENTION.trains(name)) continue;
      RawTensor t = file.get(name);
      shapes.add(t.shape());
      parameters += Arrays.stream(t.shape()).reduce(1, (a, b) -> a * b);
    }
    try (Group group = Group.connect(new Rendezvous(world, rank, rank, world, store.host(), store.port(),
            Duration.ofMinutes(5), false));
        PointerScope scope = new PointerScope()) {
      List<Tensor> grads = new ArrayList<>();
      for (long[] shape : shapes) grads.add(torch.randn(shape));
      double[] seconds = new double[repeats];
      for (int i = -2; i < repeats; i++) {
        group.sum(0, "lining up");
        long t0 = System.nanoTime();
        group.allReduceSum(grads, "the benchmark's gradients");
        if (i >= 0) seconds[i] = (System.nanoTime() - t0) / 1e9;
      }
      Arrays.sort(seconds);
      if (rank == 0) {
        System.out.printf("%s: %d attention tensors, %.1fM parameters (%.1f MB float32), %d processes: all-reduce median "
            + "%.4f s (min %.4f, max %.4f) over %d%n", model, shapes.size(), parameters / 1e6, parameters * 4 / 1e6, world,
            seconds[repeats / 2], seconds[0], seconds[repeats - 1], repeats);
      }
    }
  }
}
