package dev.mha2mla.train;

import java.util.Locale;

/**
 * Which tensors fine-tuning updates; every other tensor is frozen (no gradient is computed for it and its bytes
 * never change). Names are HuggingFace state-dict names.
 */
public enum TrainScope {
  /** Every parameter of the self-attention blocks: latent (or K/V) projections, Wq, Wo, Wpos, u and w. */
  ATTENTION,
  /** Only the projections conversion created: kv_down, k_up, v_up (an MLA model only). */
  LATENT,
  /**
   * Everything after the convolutional feature encoder: feature projection, every conformer layer, the CTC head. The
   * feature encoder computes each frame from its own samples, so streaming leaves it exact, and freezing it saves its
   * backward pass over raw audio (most of a training step's time on the shipped small model).
   */
  ENCODER,
  /** Every parameter (training from scratch); BatchNorm running statistics stay as they are. */
  ALL;

  /** Whether the tensor called {@code name} is trained under this scope. */
  public boolean trains(String name) {
    return switch (this) {
      case ATTENTION -> name.contains(".self_attn.");
      case LATENT -> name.contains(".self_attn.kv_down.") || name.contains(".self_attn.k_up.")
          || name.contains(".self_attn.v_up.");
      case ENCODER -> !name.contains(".feature_extractor.") && !name.endsWith(".running_mean") && !name.endsWith(".running_var");
      case ALL -> !name.endsWith(".running_mean") && !name.endsWith(".running_var");
    };
  }

  public String cliName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
