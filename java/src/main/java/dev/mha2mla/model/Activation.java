package dev.mha2mla.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** The activations HuggingFace's ACT2FN names that this model family uses. */
public enum Activation {
  SWISH, GELU, RELU;

  public static Activation of(String name) {
    return switch (name) {
      case "swish", "silu" -> SWISH;
      case "gelu" -> GELU;
      case "relu" -> RELU;
      default -> throw new UnsupportedModelException("activation '" + name + "' is not supported");
    };
  }

  public Tensor apply(Tensor x) {
    return switch (this) {
      case SWISH -> torch.silu(x);
      case GELU -> torch.gelu(x); // exact erf form, as nn.functional.gelu
      case RELU -> torch.relu(x);
    };
  }
}
