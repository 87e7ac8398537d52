package dev.mha2mla.mla;

import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;

import dev.mha2mla.kernels.TorchTensors;
import org.bytedeco.cuda.cusolver.cusolverDnContext;
import org.bytedeco.cuda.global.cusolver;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.global.torch;

/**
 * SVD on an NVIDIA GPU with cuSOLVER's gesvd (float32 or float64, the input's type), through the JavaCPP
 * CUDA preset. cuSOLVER is column-major and wants rows >= columns: a row-major m x n matrix A is sent
 * as the row-major bytes of A^T, which column-major reads as A. It returns U (m x n) and V^T (n x n)
 * column-major, i.e. the row-major buffers of U^T and V.
 */
public final class CuSolverSvd implements SvdBackend {
  private CuSolverSvd() {}

  /** Fails with a message that says what to install when cuSOLVER or a GPU is missing. */
  public static CuSolverSvd open() {
    try {
      Loader.load(cusolver.class);
    } catch (Throwable e) {
      throw new IllegalStateException("--device cuda: cuSOLVER could not be loaded (" + e.getMessage() + "). Install the "
          + "CUDA 13 toolkit libraries (libcusolver, libcublas) or add org.bytedeco:cuda-platform-redist to the classpath.");
    }
    int[] count = {0};
    int status = cudaGetDeviceCount(count);
    if (status != 0 || count[0] == 0) {
      throw new IllegalStateException("--device cuda: no CUDA device (" + cudaGetErrorString(status).getString() + ")");
    }
    return new CuSolverSvd();
  }

  /** True when a GPU and cuSOLVER are usable here. */
  public static boolean available() {
    try {
      open();
      return true;
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  @Override
  public String name() {
    return "cusolver-gesvd";
  }

  @Override
  public Factors svd(Tensor a) {
    boolean f64 = TorchTensors.isType(a, ScalarType.Double);
    int m = (int) a.size(0);
    int n = (int) a.size(1);
    if (m < n) throw new IllegalArgumentException("cuSOLVER gesvd needs rows >= columns, got " + m + " x " + n);
    long elem = f64 ? 8 : 4;
    TensorOptions opts = new TensorOptions(f64 ? ScalarType.Double : ScalarType.Float);
    Tensor colMajorA = a.t().contiguous();
    Tensor uT = torch.empty(new long[] {n, m}, opts, new org.bytedeco.pytorch.MemoryFormatOptional());
    Tensor s = torch.empty(new long[] {n}, opts, new org.bytedeco.pytorch.MemoryFormatOptional());
    Tensor v = torch.empty(new long[] {n, n}, opts, new org.bytedeco.pytorch.MemoryFormatOptional());
    Pointer dA = new Pointer(), dS = new Pointer(), dU = new Pointer(), dVt = new Pointer(), dWork = new Pointer(),
        dInfo = new Pointer();
    cusolverDnContext handle = new cusolverDnContext();
    try (PointerScope scope = new PointerScope()) {
      check(cusolver.cusolverDnCreate(handle), "cusolverDnCreate");
      cuda(cudaMalloc(dA, elem * m * n), "cudaMalloc");
      cuda(cudaMalloc(dS, elem * n), "cudaMalloc");
      cuda(cudaMalloc(dU, elem * m * n), "cudaMalloc");
      cuda(cudaMalloc(dVt, elem * n * n), "cudaMalloc");
      cuda(cudaMalloc(dInfo, 4), "cudaMalloc");
      cuda(cudaMemcpy(dA, colMajorA.data_ptr(), elem * m * n, cudaMemcpyHostToDevice), "cudaMemcpy");
      int[] lwork = {0};
      check(f64 ? cusolver.cusolverDnDgesvd_bufferSize(handle, m, n, lwork)
          : cusolver.cusolverDnSgesvd_bufferSize(handle, m, n, lwork), "gesvd_bufferSize");
      cuda(cudaMalloc(dWork, elem * lwork[0]), "cudaMalloc");
      byte job = (byte) 'S';
      int status = f64
          ? cusolver.cusolverDnDgesvd(handle, job, job, m, n, new DoublePointer(dA), m, new DoublePointer(dS),
              new DoublePointer(dU), m, new DoublePointer(dVt), n, new DoublePointer(dWork), lwork[0], null, new IntPointer(dInfo))
          : cusolver.cusolverDnSgesvd(handle, job, job, m, n, new FloatPointer(dA), m, new FloatPointer(dS),
              new FloatPointer(dU), m, new FloatPointer(dVt), n, new FloatPointer(dWork), lwork[0], null, new IntPointer(dInfo));
      check(status, "gesvd");
      int[] info = {0};
      cuda(cudaMemcpy(new IntPointer(info), dInfo, 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
      if (info[0] != 0) throw new IllegalStateException("cuSOLVER gesvd did not converge (info = " + info[0] + ")");
      cuda(cudaMemcpy(uT.data_ptr(), dU, elem * m * n, cudaMemcpyDeviceToHost), "cudaMemcpy");
      cuda(cudaMemcpy(s.data_ptr(), dS, elem * n, cudaMemcpyDeviceToHost), "cudaMemcpy");
      cuda(cudaMemcpy(v.data_ptr(), dVt, elem * n * n, cudaMemcpyDeviceToHost), "cudaMemcpy");
    } finally {
      for (Pointer p : new Pointer[] {dA, dS, dU, dVt, dWork, dInfo}) if (!p.isNull()) cudaFree(p);
      if (!handle.isNull()) cusolver.cusolverDnDestroy(handle);
    }
    return new Factors(uT.t(), s, v.t());
  }

  private static void check(int status, String call) {
    if (status != 0) throw new IllegalStateException("cuSOLVER " + call + " failed with status " + status);
  }

  private static void cuda(int status, String call) {
    if (status != 0) throw new IllegalStateException(call + " failed: " + cudaGetErrorString(status).getString());
  }
}
