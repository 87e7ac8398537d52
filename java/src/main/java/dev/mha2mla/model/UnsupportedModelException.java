package dev.mha2mla.model;

/** A model folder whose config or weights describe something mha2mla cannot run; the message names the file and the field. */
public class UnsupportedModelException extends RuntimeException {
  public UnsupportedModelException(String message) {
    super(message);
  }
}
