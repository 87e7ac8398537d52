package dev.mha2mla.train;

/**
 * Training options that do not fit the model or the run they are given to: a streaming fine-tune of a model whose
 * layers cannot stream, or a resume under other settings than the checkpoint's. A usage error (the CLI exits with 2);
 * nothing has been written when it is thrown.
 */
public final class IncompatibleOptionsException extends IllegalArgumentException {
  public IncompatibleOptionsException(String message) {
    super(message);
  }
}
