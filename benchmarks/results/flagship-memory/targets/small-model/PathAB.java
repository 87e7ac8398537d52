import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.CpuThreads;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * One process, one model, one input: forward passes in three call forms alternating (no lengths as `mha2mla
 * benchmark` calls it; lengths; lengths and a trace as ForwardProfile calls it), 60 timed after 3. Median and
 * quartiles per form. Usage: PathAB MODEL SECONDS THREADS
 */
public class PathAB {
  public static void main(String[] a) throws Exception {
    CpuThreads.configure(Integer.parseInt(a[2]));
    int samples = (int) Math.round(Double.parseDouble(a[1]) * 16000);
    try (ConformerCtcModel m = ConformerCtcModel.load(Path.of(a[0])); NoGradGuard g = new NoGradGuard()) {
      Tensor x = torch.randn(1, samples).mul_(new Scalar(0.1));
      String[] names = {"no lengths", "lengths", "lengths+trace"};
      Map<String, List<Double>> t = new LinkedHashMap<>();
      for (int i = 0; i < 63; i++) {
        int v = i % 3;
        try (PointerScope s = new PointerScope()) {
          long t0 = System.nanoTime();
          if (v == 0) m.forward(x, null, null);
          else if (v == 1) m.forward(x, new long[] {samples}, null);
          else m.forward(x, new long[] {samples}, (n, z) -> {});
          if (i >= 3) t.computeIfAbsent(names[v], k -> new ArrayList<>()).add((System.nanoTime() - t0) / 1e6);
        }
      }
      t.forEach((k, v) -> {
        Collections.sort(v);
        System.out.printf("  %-14s median %6.1f ms, quartiles %6.1f-%6.1f%n", k, v.get(v.size() / 2), v.get(v.size() / 4),
            v.get(3 * v.size() / 4));
      });
    }
  }
}
