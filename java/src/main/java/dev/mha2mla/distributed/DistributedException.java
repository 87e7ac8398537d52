package dev.mha2mla.distributed;

/**
 * A data-parallel run cannot go on: another rank stopped, hung past the timeout, disagrees about the run, or the
 * store cannot be reached. The message names this rank, what it was doing and, where it can be told, which rank
 * caused it.
 */
public final class DistributedException extends RuntimeException {
  public DistributedException(String message) {
    super(message);
  }
}
