package dev.mha2mla.mla;

import dev.mha2mla.kernels.TorchTensors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

/**
 * Factors a layer's K and V projections into a latent of r values per frame (DESIGN.md section 2).
 *
 * <pre>
 *   W = [Wk / a; Wv]                      (2d x d; a balances key against value energy, a = 1 when off)
 *   M = W L,  L L^T = C + ridge I         (whitened; L = I for plain SVD)
 *   M = U S V^T                           (thin SVD)
 *   W_down = V_r^T L^-1                   (r x d)
 *   [W_uk / a; W_uv] = U_r S_r            (2d x r)
 * </pre>
 *
 * Truncating the SVD of W L minimises E|(W - W_up W_down) x|^2 for inputs with second moment C, so the
 * whitened factors are the optimum for the calibration data; plain SVD is the optimum for the weights.
 * All arithmetic is float64 on the CPU except the SVD, which the backend may run elsewhere.
 */
public final class KvFactorizer {
  private final SvdBackend svd;
  private final boolean float64Svd;

  public KvFactorizer(SvdBackend svd, boolean float64Svd) {
    this.svd = svd;
    this.float64Svd = float64Svd;
  }

  /**
   * @param wk key projection [d, d]
   * @param wv value projection [d, d]
   * @param covariance E[x x^T] of the attention input [d, d] (float64), or null for plain SVD
   * @param ridge added to C as ridge * mean(diag C) * I before the Cholesky factorisation
   * @param keyScale a (1 = no balancing)
   */
  public LatentFactors factor(Tensor wk, Tensor wv, int latentDim, ConversionMethod method, Tensor covariance,
      double ridge, double keyScale) {
    Tensor k = wk.to(ScalarType.Double).div(new Scalar(keyScale));
    Tensor v = wv.to(ScalarType.Double);
    long d = wk.size(1);
    Tensor l = null;
    Tensor lInv = null;
    if (covariance != null) {
      Tensor c = covariance.to(ScalarType.Double);
      double scale = c.diagonal().mean().item_double();
      Tensor regular = c.add(torch.eye(d, new org.bytedeco.pytorch.TensorOptions(ScalarType.Double)).mul(new Scalar(ridge * scale)));
      l = torch.linalg_cholesky(regular);
      lInv = torch.linalg_inv(l);
    }
    if (method == ConversionMethod.JOINT) {
      Part p = factorPart(torch.cat(new TensorVector(k, v), 0), latentDim, l, lInv);
      Tensor upK = p.up.narrow(0, 0, d).mul(new Scalar(keyScale));
      Tensor upV = p.up.narrow(0, d, d);
      return new LatentFactors(p.down.to(ScalarType.Float), upK.to(ScalarType.Float), upV.to(ScalarType.Float),
          p.kept / p.total, keyScale, p.singular);
    }
    int rk = latentDim / 2;
    int rv = latentDim - rk;
    Part pk = factorPart(k, rk, l, lInv);
    Part pv = factorPart(v, rv, l, lInv);
    // block layout: latent [c_k; c_v], W_uk = [Uk Sk, 0], W_uv = [0, Uv Sv]
    Tensor down = torch.cat(new TensorVector(pk.down, pv.down), 0);
    Tensor upK = torch.cat(new TensorVector(pk.up.mul(new Scalar(keyScale)), torch.zeros(new long[] {d, rv}, pk.up.options())), 1);
    Tensor upV = torch.cat(new TensorVector(torch.zeros(new long[] {d, rk}, pv.up.options()), pv.up), 1);
    double[] singular = new double[pk.singular.length + pv.singular.length];
    System.arraycopy(pk.singular, 0, singular, 0, pk.singular.length);
    System.arraycopy(pv.singular, 0, singular, pk.singular.length, pv.singular.length);
    return new LatentFactors(down.to(ScalarType.Float), upK.to(ScalarType.Float), upV.to(ScalarType.Float),
        (pk.kept + pv.kept) / (pk.total + pv.total), keyScale, singular);
  }

  private record Part(Tensor down, Tensor up, double kept, double total, double[] singular) {}

  private Part factorPart(Tensor w, int rank, Tensor l, Tensor lInv) {
    Tensor m = l == null ? w : torch.matmul(w, l);
    SvdBackend.Factors f = svd.svd(float64Svd ? m : m.to(ScalarType.Float));
    Tensor u = f.u().to(ScalarType.Double);
    Tensor s = f.s().to(ScalarType.Double);
    Tensor vh = f.vh().to(ScalarType.Double);
    Tensor vhR = vh.narrow(0, 0, rank);
    Tensor down = lInv == null ? vhR : torch.matmul(vhR, lInv);
    Tensor up = u.narrow(1, 0, rank).mul(s.narrow(0, 0, rank).unsqueeze(0));
    Tensor s2 = s.mul(s);
    double[] singular = TorchTensors.toDoubles(s);
    return new Part(down, up, s2.narrow(0, 0, rank).sum().item_double(), s2.sum().item_double(), singular);
  }

  /** a = sqrt(E|Wk x|^2 / E|Wv x|^2) = sqrt(tr(Wk C Wk^T) / tr(Wv C Wv^T)). */
  public static double keyValueBalance(Tensor wk, Tensor wv, Tensor covariance) {
    Tensor c = covariance.to(ScalarType.Double);
    Tensor k = wk.to(ScalarType.Double);
    Tensor v = wv.to(ScalarType.Double);
    double ek = torch.matmul(torch.matmul(k, c), k.t()).diagonal().sum().item_double();
    double ev = torch.matmul(torch.matmul(v, c), v.t()).diagonal().sum().item_double();
    if (!(ek > 0) || !(ev > 0)) return 1.0;
    return Math.sqrt(ek / ev);
  }
}
