package dev.mha2mla.io;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.model.StateDict;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pytorch_model.bin loads without passing its weights through the Java heap: a child JVM whose heap (32 MiB) is
 * smaller than one of the archive's storages (48 MiB) reads it into LibTorch memory and finds the values in place
 * (JavaCPP's physical-memory cap, 4x the heap by default, is lifted: LibTorch's libraries alone exceed it).
 */
class TorchBinHeapTest {
  static final int FLOATS = 12 << 20;

  @Test
  void aStorageLargerThanTheHeapLoads(@TempDir Path dir) throws Exception {
    byte[] pickle = new PickleBuilder().proto(2).orderedDict().mark()
        .str("big").tensor("FloatStorage", "0", FLOATS, 0, new long[] {FLOATS}, new long[] {1})
        .setItems().stop().bytes();
    ByteBuffer values = ByteBuffer.allocate(4 * FLOATS).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < FLOATS; i++) values.putFloat(i % 1000);
    TorchArchives.write(dir.resolve("pytorch_model.bin"), pickle, Map.of("0", values.array()));

    String java = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    Path log = dir.resolve("child.log");
    Process child = new ProcessBuilder(List.of(java, "-Xmx32m", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-cp", System.getProperty("java.class.path"),
        Child.class.getName(), dir.toString())).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      assertThat(child.waitFor(2, TimeUnit.MINUTES)).isTrue();
      assertThat(child.exitValue()).as(Files.readString(log)).isZero();
      assertThat(Files.readString(log)).contains("big " + FLOATS + " last 911.0");  // (12 x 2^20 - 1) mod 1000 = 911
    } finally {
      child.destroyForcibly();
    }
  }

  /** Loads the folder's state dict and prints the tensor's size and last value. */
  public static final class Child {
    public static void main(String[] args) throws Exception {
      StateDict sd = StateDict.read(Path.of(args[0]));
      try (org.bytedeco.pytorch.Tensor t = sd.take("big", FLOATS)) {
        System.out.println("big " + t.numel() + " last " + t.get(FLOATS - 1).item_float());
      }
      sd.finish();
    }
  }
}
