package dev.mha2mla.model;

import dev.mha2mla.data.TrainingWords;
import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes a model folder in HuggingFace layout (config.json, model.safetensors, the tokenizer and feature
 * extractor files of the source folder, and any extra JSON documents) as one atomic step: everything is
 * written into a sibling temporary folder, then renamed into place, so a killed run leaves either the
 * old folder or the complete new one (plus temporary folders, which the next write to the same place deletes).
 */
public final class ModelFolderWriter {
  private static final String[] COPIED = {"vocab.json", "preprocessor_config.json", "tokenizer_config.json",
      "special_tokens_map.json", "added_tokens.json", TrainingWords.FILE};

  private ModelFolderWriter() {}

  public static void write(ConformerCtcModel model, ConformerConfig config, Path sourceDir, Path outDir,
      Map<String, Object> extraJson) throws IOException {
    Path parent = outDir.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    deleteAbandonedTemporaries(parent, outDir.getFileName().toString());
    Path tmp = parent.resolve("." + outDir.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    try {
      Files.createDirectory(tmp);
      AtomicFiles.writeString(tmp.resolve("config.json"), config.toJson());
      SafeTensorsWriter.write(tmp.resolve(StateDict.SAFETENSORS), model.stateDict(), Map.of("format", "pt"));
      for (String name : COPIED) {
        Path src = sourceDir.resolve(name);
        if (Files.isRegularFile(src)) Files.copy(src, tmp.resolve(name), StandardCopyOption.REPLACE_EXISTING);
      }
      for (Map.Entry<String, Object> e : extraJson.entrySet()) Json.write(tmp.resolve(e.getKey()), e.getValue());
      AtomicFiles.replaceDirectory(tmp, outDir);
    } catch (IOException | RuntimeException e) {
      if (Files.exists(tmp)) AtomicFiles.deleteRecursively(tmp);
      throw e;
    }
  }

  // A killed run leaves its temporary folder (.<out>.tmp-<pid>-<nanoTime>, which may be negative) and, if it was
  // killed while publishing, the previous version moved aside (.<out>.<hex>.old, see AtomicFiles.replaceDirectory).
  // Both go, unless a process still running on this machine is writing the same folder. Best effort: what cannot
  // be deleted stays.
  private static void deleteAbandonedTemporaries(Path parent, String name) {
    Pattern temporary = Pattern.compile("\\." + Pattern.quote(name) + "\\.tmp-(\\d{1,18})--?\\d+");
    Pattern aside = Pattern.compile("\\." + Pattern.quote(name) + "\\.[0-9a-f]{1,16}\\.old");
    List<Path> abandoned = new ArrayList<>();
    List<Path> setAside = new ArrayList<>();
    boolean liveWriter = false;
    try (Stream<Path> siblings = Files.list(parent)) {
      for (Path p : (Iterable<Path>) siblings::iterator) {
        Matcher m = temporary.matcher(p.getFileName().toString());
        if (m.matches()) {
          if (ProcessHandle.of(Long.parseLong(m.group(1))).isPresent()) liveWriter = true;
          else abandoned.add(p);
        } else if (aside.matcher(p.getFileName().toString()).matches()) {
          setAside.add(p);
        }
      }
    } catch (IOException e) {
      return; // the parent cannot be listed: the write will say what is wrong
    }
    if (!liveWriter) abandoned.addAll(setAside);
    for (Path p : abandoned) {
      try {
        AtomicFiles.deleteRecursively(p);
      } catch (IOException e) {
        // leave it
      }
    }
  }
}
