package dev.mha2mla.model;

import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsFile;
import dev.mha2mla.io.SafeTensorsReader;
import dev.mha2mla.kernels.TorchTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.bytedeco.pytorch.Tensor;

/** Golden tensors of the conformer-tiny fixture as LibTorch tensors, and the max-abs-difference check. */
final class FixtureTensors {
  static final double TOLERANCE = 1e-4;

  private final SafeTensorsFile file;

  private FixtureTensors(SafeTensorsFile file) {
    this.file = file;
  }

  static FixtureTensors open(String name) {
    try {
      return new FixtureTensors(SafeTensorsReader.open(Fixtures.conformerTiny().resolve(name)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path modelDir() {
    return Fixtures.conformerTiny();
  }

  Tensor tensor(String name) {
    RawTensor raw = file.get(name);
    if (raw == null) throw new IllegalArgumentException("fixture has no tensor " + name);
    return TorchTensors.fromRaw(raw);
  }

  boolean has(String name) {
    return file.names().contains(name);
  }

  static double maxAbsDiff(Tensor a, Tensor b) {
    if (!java.util.Arrays.equals(a.shape(), b.shape())) {
      throw new AssertionError("shape " + java.util.Arrays.toString(a.shape()) + " vs " + java.util.Arrays.toString(b.shape()));
    }
    float[] x = TorchTensors.toFloats(a);
    float[] y = TorchTensors.toFloats(b);
    double max = 0;
    for (int i = 0; i < x.length; i++) max = Math.max(max, Math.abs((double) x[i] - y[i]));
    return max;
  }
}
