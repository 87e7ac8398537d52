package dev.mha2mla.kernels;

/** A native kernel returned an error status; the message says which call and why. */
public class KernelException extends RuntimeException {
  private final int status;

  public KernelException(String call, int status) {
    super(call + " failed: " + NativeKernels.mla_status_string(status).getString() + " (status " + status + ")");
    this.status = status;
  }

  public int status() {
    return status;
  }
}
