package dev.mha2mla.mla;

import org.bytedeco.pytorch.Tensor;

/**
 * The factored K/V projections of one layer: c = x W_down^T, k = c W_uk^T (+ bk), v = c W_uv^T (+ bv).
 *
 * @param down W_down [r, d]
 * @param upK W_uk [d, r]
 * @param upV W_uv [d, r]
 * @param energyKept share of the factored matrix's squared singular values kept, sum_{i<r} s_i^2 / sum s_i^2
 * @param keyScale the K/V balance factor a (K rows were divided by a before factoring, W_uk multiplied back)
 */
public record LatentFactors(Tensor down, Tensor upK, Tensor upV, double energyKept, double keyScale, double[] singularValues) {}
