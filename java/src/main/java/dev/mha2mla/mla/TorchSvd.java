package dev.mha2mla.mla;

import org.bytedeco.pytorch.StringViewOptional;
import org.bytedeco.pytorch.T_TensorTensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** SVD by LibTorch's linalg_svd on the CPU (LAPACK gesdd). */
public final class TorchSvd implements SvdBackend {
  @Override
  public Factors svd(Tensor a) {
    T_TensorTensorTensor_T r = torch.linalg_svd(a, false, new StringViewOptional());
    return new Factors(r.get0(), r.get1(), r.get2());
  }

  @Override
  public String name() {
    return "libtorch-cpu";
  }
}
