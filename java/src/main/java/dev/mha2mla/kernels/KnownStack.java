package dev.mha2mla.kernels;

import java.io.IOException;

/**
 * Runs work on a thread whose stack size is set here rather than by whoever calls. Native code reached through
 * LibTorch uses the calling thread's stack: LAPACK's factorisations (Cholesky, inverse, SVD) of the whitened
 * conversion overflowed the 1 MB a JVM thread gets by default and killed the process with SIGSEGV, no message
 * (shipped model, 144 x 144 problems: 2 MB crashed, 4 MB ran). A thread's stack is reserved address space,
 * committed only as far as it is used, so a generous size costs nothing.
 */
public final class KnownStack {
  /** 64x what the shipped model's conversion was measured to need. */
  public static final long BYTES = 256L << 20;

  /** Work that may throw an IOException. */
  public interface Work<T> {
    T call() throws IOException;
  }

  private KnownStack() {}

  /** The result of {@code work} run on a fresh thread with a stack of {@link #BYTES}; its exceptions rethrown here. */
  public static <T> T call(String name, Work<T> work) throws IOException {
    Object[] result = new Object[1];
    Throwable[] failure = new Throwable[1];
    Thread t = new Thread(null, () -> {
      try {
        result[0] = work.call();
      } catch (Throwable e) {
        failure[0] = e;
      }
    }, name, BYTES);
    t.start();
    boolean interrupted = false;
    while (true) {
      try {
        t.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // the work has no cancellation point: wait for it, then restore the flag
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
    Throwable e = failure[0];
    if (e instanceof IOException io) throw io;
    if (e instanceof RuntimeException r) throw r;
    if (e instanceof Error err) throw err;
    if (e != null) throw new IllegalStateException(e);
    @SuppressWarnings("unchecked")
    T value = (T) result[0];
    return value;
  }
}
