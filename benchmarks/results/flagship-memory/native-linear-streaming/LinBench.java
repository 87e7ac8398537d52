import dev.mha2mla.kernels.NativeLinear;
import dev.mha2mla.model.CpuThreads;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.*;
import org.bytedeco.pytorch.global.torch;
public class LinBench {
  public static void main(String[] a) {
    CpuThreads.configure(1);
    try (NoGradGuard g = new NoGradGuard()) {
      for (long[] s : new long[][] {{1,144,144},{1,144,576},{1,576,144},{16,144,576},{1,1024,4096},{16,1024,4096}}) {
        Tensor x = torch.randn(s[0], s[1]), w = torch.randn(s[2], s[1]), b = torch.randn(s[2]);
        for (int rep = 0; rep < 3; rep++) {
          int n = s[2] >= 4096 ? 200 : 20000;
          long t0 = System.nanoTime();
          for (int i = 0; i < n; i++) try (PointerScope sc = new PointerScope()) { torch.linear(x, w, new TensorOptional(b)); }
          long t1 = System.nanoTime();
          for (int i = 0; i < n; i++) try (PointerScope sc = new PointerScope()) { NativeLinear.forward(x, w, b); }
          long t2 = System.nanoTime();
          for (int i = 0; i < n; i++) try (PointerScope sc = new PointerScope()) { NativeLinear.accepts(x, w, b); }
          long t3 = System.nanoTime();
          if (rep == 2) System.out.printf("%s torch %.2f us  native %.2f us  accepts %.2f us%n", java.util.Arrays.toString(s), (t1-t0)/1e3/n, (t2-t1)/1e3/n, (t3-t2)/1e3/n);
        }
      }
    }
  }
}
