package dev.mha2mla.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The character vocabulary of a CTC head ({@code vocab.json}: token -> id) and greedy decoding:
 * per-frame argmax, collapse repeats, drop the blank (pad) id, drop special tokens, "|" becomes a space.
 */
public final class CtcVocabulary {
  public static final String WORD_DELIMITER = "|";
  private static final Set<String> SPECIAL = Set.of("<s>", "</s>", "<unk>", "<pad>");

  private final String[] tokens;
  private final int blank;

  public CtcVocabulary(String[] tokens, int blank) {
    this.tokens = tokens.clone();
    this.blank = blank;
  }

  public static CtcVocabulary read(Path file, int blankId, int vocabSize) throws IOException {
    if (!Files.isRegularFile(file)) throw new NoSuchFileException(file + ": vocab.json not found in the model folder");
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(file.toFile());
    } catch (IOException e) {
      throw new UnsupportedModelException(file + ": not valid JSON (" + e.getMessage() + ")");
    }
    if (!root.isObject()) throw new UnsupportedModelException(file + ": expected an object of token -> id");
    String[] tokens = new String[vocabSize];
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int id = e.getValue().asInt(-1);
      if (!e.getValue().canConvertToInt() || id < 0 || id >= vocabSize) {
        throw new UnsupportedModelException(file + ": token '" + e.getKey() + "' has id " + e.getValue()
            + ", outside the model's vocab_size " + vocabSize);
      }
      if (tokens[id] != null) throw new UnsupportedModelException(file + ": id " + id + " is used twice");
      tokens[id] = e.getKey();
    }
    for (int i = 0; i < vocabSize; i++) {
      if (tokens[i] == null) throw new UnsupportedModelException(file + ": no token for id " + i + " (vocab_size " + vocabSize + ")");
    }
    return new CtcVocabulary(tokens, blankId);
  }

  public int size() {
    return tokens.length;
  }

  public String token(int id) {
    return tokens[id];
  }

  public int blank() {
    return blank;
  }

  /** Id of a token, or -1. */
  public int id(String token) {
    for (int i = 0; i < tokens.length; i++) if (tokens[i].equals(token)) return i;
    return -1;
  }

  /** Greedy CTC decoding of per-frame best ids. */
  public String decode(long[] frameIds) {
    StringBuilder sb = new StringBuilder();
    long previous = -1;
    for (long id : frameIds) {
      if (id != previous && id != blank) {
        String t = tokens[(int) id];
        if (t.equals(WORD_DELIMITER)) sb.append(' ');
        else if (!SPECIAL.contains(t)) sb.append(t);
      }
      previous = id;
    }
    return sb.toString().strip();
  }
}
