package dev.mha2mla.train;

import dev.mha2mla.io.DType;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.kernels.TorchTensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * AdamW (Loshchilov and Hutter), written with tensor ops in the order PyTorch's single-tensor {@code torch.optim.AdamW}
 * applies them, so that its whole state is plain tensors a checkpoint can store. For each parameter p with gradient g,
 * at update t (1-based):
 *
 * <pre>
 *   p  = p * (1 - lr * weight_decay)                    decoupled decay (only for decayed tensors)
 *   m  = m + (1 - beta1) (g - m)                        first moment (lerp)
 *   v  = beta2 v + (1 - beta2) g^2                      second moment
 *   p  = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 *
 * Parameters are updated in place under a no-grad guard: the tensor objects the model holds stay the same.
 */
public final class AdamW implements AutoCloseable {
  private static final String EXP_AVG = "exp_avg/";
  private static final String EXP_AVG_SQ = "exp_avg_sq/";
  private static final String STEP = "step";

  /** beta1, beta2, eps and the decoupled weight-decay coefficient. */
  public record Settings(double beta1, double beta2, double epsilon, double weightDecay) {
    public static final Settings DEFAULT = new Settings(0.9, 0.999, 1e-8, 0.0);
  }

  private final Settings settings;
  private final Map<String, Tensor> parameters;
  private final Set<String> decayed;
  private final Map<String, Tensor> expAvg = new LinkedHashMap<>();
  private final Map<String, Tensor> expAvgSq = new LinkedHashMap<>();
  private long steps;

  /**
   * @param parameters trainable leaf tensors by name (their gradients are read after backward)
   * @param decayed names that receive weight decay (HF's rule: not biases, not norm gains)
   */
  public AdamW(Map<String, Tensor> parameters, Set<String> decayed, Settings settings) {
    this.parameters = new LinkedHashMap<>(parameters);
    this.decayed = Set.copyOf(decayed);
    this.settings = settings;
    try (NoGradGuard g = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
        expAvg.put(e.getKey(), TorchTensors.keep(torch.zeros_like(e.getValue())));
        expAvgSq.put(e.getKey(), TorchTensors.keep(torch.zeros_like(e.getValue())));
      }
    }
  }

  /** HF Trainer's decay rule: every trained tensor except biases (pos_bias_u/v included) and norm parameters. */
  public static boolean decays(String name) {
    return !name.contains("bias") && !name.contains("layer_norm") && !name.contains("batch_norm");
  }

  /** Updates done so far (t of the last update). */
  public long steps() {
    return steps;
  }

  /** One update with learning rate {@code lr} from the gradients now held by the parameters. */
  public void step(double lr) {
    steps++;
    double bias1 = 1 - Math.pow(settings.beta1(), steps);
    double bias2Sqrt = Math.sqrt(1 - Math.pow(settings.beta2(), steps));
    double stepSize = lr / bias1;
    try (NoGradGuard g = new NoGradGuard()) {
      for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
        try (PointerScope scope = new PointerScope()) {
          Tensor p = e.getValue();
          Tensor grad = p.grad();
          if (!grad.defined()) continue;
          if (settings.weightDecay() != 0 && decayed.contains(e.getKey())) {
            p.mul_(new Scalar(1 - lr * settings.weightDecay()));
          }
          Tensor m = expAvg.get(e.getKey());
          Tensor v = expAvgSq.get(e.getKey());
          m.lerp_(grad, new Scalar(1 - settings.beta1()));
          v.mul_(new Scalar(settings.beta2())).addcmul_(grad, grad, new Scalar(1 - settings.beta2()));
          Tensor denom = v.sqrt().div(new Scalar(bias2Sqrt)).add_(new Scalar(settings.epsilon()));
          p.addcdiv_(m, denom, new Scalar(-stepSize));
        }
      }
    }
  }

  /** Forgets the parameters' gradients (sets them undefined), as {@code zero_grad(set_to_none=True)}. */
  public void clearGradients() {
    for (Tensor p : parameters.values()) {
      try (PointerScope scope = new PointerScope()) {
        p.mutable_grad().reset();
      }
    }
  }

  /**
   * Scales all gradients so that their global L2 norm is at most {@code maxNorm}, as
   * {@code torch.nn.utils.clip_grad_norm_}: total = |(|g_1|, ..., |g_n|)|, g *= min(1, maxNorm / (total + 1e-6)).
   *
   * @return the norm before clipping (NaN or infinite when a gradient is)
   */
  public double clipGradientNorm(double maxNorm) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      List<Tensor> grads = new ArrayList<>();
      for (Tensor p : parameters.values()) {
        Tensor grad = p.grad();
        if (grad.defined()) grads.add(grad);
      }
      if (grads.isEmpty()) return 0;
      TensorVector norms = new TensorVector();
      for (Tensor grad : grads) norms.push_back(torch.linalg_vector_norm(grad));
      Tensor total = torch.linalg_vector_norm(torch.stack(norms));
      double value = total.item_double();
      if (maxNorm > 0 && Double.isFinite(value)) {
        Tensor coefficient = torch.clamp_max(torch.full_like(total, new Scalar(maxNorm)).div(total.add(new Scalar(1e-6))),
            new Scalar(1.0));
        for (Tensor grad : grads) grad.mul_(coefficient);
      }
      return value;
    }
  }

  /** The state as tensors: exp_avg/NAME, exp_avg_sq/NAME and the step count. */
  public Map<String, RawTensor> state() {
    Map<String, RawTensor> out = new LinkedHashMap<>();
    out.put(STEP, RawTensor.ofLongs(new long[0], new long[] {steps}));
    for (String name : parameters.keySet()) {
      out.put(EXP_AVG + name, TorchTensors.toRaw(expAvg.get(name)));
      out.put(EXP_AVG_SQ + name, TorchTensors.toRaw(expAvgSq.get(name)));
    }
    return out;
  }

  /**
   * The moment tensors, first moments then second, each in parameter order: the same list on every rank of a run,
   * for sending the state from one rank to the others in place.
   */
  public List<Tensor> moments() {
    List<Tensor> out = new ArrayList<>(expAvg.values());
    out.addAll(expAvgSq.values());
    return out;
  }

  /** Sets the update count of a state whose moments were received with {@link #moments()}. */
  public void resumeAt(long steps) {
    if (steps < 0) throw new IllegalArgumentException("optimizer step count " + steps + " is negative");
    this.steps = steps;
  }

  /** Restores a state written by {@link #state()} for the same parameters. */
  public void load(Map<String, RawTensor> state, String source) {
    RawTensor step = state.get(STEP);
    if (step == null || step.dtype() != DType.I64) throw new IllegalArgumentException(source + ": no optimizer step count");
    try (NoGradGuard g = new NoGradGuard()) {
      for (String name : parameters.keySet()) {
        copyInto(expAvg.get(name), state.get(EXP_AVG + name), source, EXP_AVG + name);
        copyInto(expAvgSq.get(name), state.get(EXP_AVG_SQ + name), source, EXP_AVG_SQ + name);
      }
    }
    steps = step.toLongArray()[0];
  }

  private static void copyInto(Tensor target, RawTensor saved, String source, String name) {
    if (saved == null || !java.util.Arrays.equals(saved.shape(), target.shape())) {
      throw new IllegalArgumentException(source + ": optimizer state '" + name + "' is missing or has the wrong shape");
    }
    try (PointerScope scope = new PointerScope()) {
      target.copy_(TorchTensors.fromRaw(saved));
    }
  }

  @Override
  public void close() {
    expAvg.values().forEach(Tensor::close);
    expAvgSq.values().forEach(Tensor::close);
  }
}
