package dev.mha2mla.model;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** A model part that owns LibTorch tensors, named as in the HuggingFace state dict. */
public interface HasWeights {
  /** Adds this part's tensors under {@code prefix} (e.g. "encoder.layers.3.ffn1.") to {@code out}, in file order. */
  void weights(String prefix, Map<String, Tensor> out);
}
