package dev.mha2mla.model;

import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Writes a model folder in HuggingFace layout (config.json, model.safetensors, the tokenizer and feature
 * extractor files of the source folder, and any extra JSON documents) as one atomic step: everything is
 * written into a sibling temporary folder, then renamed into place, so a killed run leaves either the
 * old folder or the complete new one.
 */
public final class ModelFolderWriter {
  private static final String[] COPIED = {"vocab.json", "preprocessor_config.json", "tokenizer_config.json",
      "special_tokens_map.json", "added_tokens.json"};

  private ModelFolderWriter() {}

  public static void write(ConformerCtcModel model, ConformerConfig config, Path sourceDir, Path outDir,
      Map<String, Object> extraJson) throws IOException {
    Path parent = outDir.toAbsolutePath().getParent();
    Files.createDirectories(parent);
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
}
