package dev.mha2mla.model;

import org.bytedeco.pytorch.Tensor;

/** Receives named intermediate tensors of a forward pass (names as in the fixtures: "encoder_input", "layer.0", ...). */
@FunctionalInterface
public interface Trace {
  void record(String name, Tensor value);
}
