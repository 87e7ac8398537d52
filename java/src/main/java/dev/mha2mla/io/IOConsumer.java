package dev.mha2mla.io;

import java.io.IOException;

/** A consumer that may throw {@link IOException}: the body that fills a file in {@link AtomicFiles}. */
@FunctionalInterface
public interface IOConsumer<T> {
  void accept(T value) throws IOException;
}
