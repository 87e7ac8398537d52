import dev.mha2mla.eval.bench.BenchmarkReport;
import dev.mha2mla.eval.bench.ModelBenchmark;
import dev.mha2mla.model.AttentionBackend;
import dev.mha2mla.model.LatentAttention;
import java.nio.file.Path;
import java.util.List;

public class Ftz {
  public static void main(String[] a) throws Exception {
    boolean ftz = a[0].equals("1");
    if (ftz) System.out.println("setFlushDenormal: " + org.bytedeco.pytorch.Context.setFlushDenormal(true));
    ModelBenchmark.Options o = new ModelBenchmark.Options("cpu", List.of(Double.parseDouble(a[2])), 1, 10, Integer.parseInt(a[3]), 1,
        AttentionBackend.NATIVE, LatentAttention.Form.EXPANDED, false);
    BenchmarkReport r = new ModelBenchmark(o, null).run(Path.of(a[1]));
    String[] st = java.nio.file.Files.readString(Path.of("/proc/self/stat")).split(" ");
    System.out.println("RESULT ftz=" + ftz + " median=" + r.lengths().get(0).medianSeconds() + " minflt=" + st[9] + " " + java.nio.file.Files.readAllLines(Path.of("/proc/self/smaps_rollup")).stream().filter(l -> l.startsWith("AnonHugePages") || l.startsWith("Rss")).map(l -> l.replaceAll("\\s+", "")).toList());
  }
}
