package dev.mha2mla.eval;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Edit operations of a minimum-edit-distance alignment of a hypothesis against a reference.
 * {@code errors = substitutions + deletions + insertions}; {@code hits = referenceLength - substitutions - deletions}.
 * Counts add up over utterances, which is how a corpus error rate is formed.
 */
public record EditCounts(long substitutions, long deletions, long insertions, long referenceLength) {
  public static final EditCounts ZERO = new EditCounts(0, 0, 0, 0);

  public EditCounts {
    if (substitutions < 0 || deletions < 0 || insertions < 0 || substitutions + deletions > referenceLength) {
      throw new IllegalArgumentException("inconsistent edit counts: S=" + substitutions + " D=" + deletions + " I="
          + insertions + " N=" + referenceLength);
    }
  }

  @JsonProperty("errors")
  public long errors() {
    return substitutions + deletions + insertions;
  }

  @JsonProperty("hits")
  public long hits() {
    return referenceLength - substitutions - deletions;
  }

  /**
   * errors / referenceLength. An empty reference divides by 1 instead, so it scores 0 against an empty
   * hypothesis and the number of inserted units otherwise: defined, finite, and never better than a
   * correct empty output. Can exceed 1 when the hypothesis inserts more than the reference holds.
   */
  @JsonProperty("rate")
  public double rate() {
    return (double) errors() / Math.max(1, referenceLength);
  }

  public EditCounts plus(EditCounts other) {
    return new EditCounts(substitutions + other.substitutions, deletions + other.deletions,
        insertions + other.insertions, referenceLength + other.referenceLength);
  }
}
