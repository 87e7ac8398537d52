package dev.mha2mla.model;

import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsFile;
import dev.mha2mla.io.SafeTensorsReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads a folder's model.safetensors as raw tensors, for byte-level comparisons in tests. */
final class StateDictTestAccess {
  static Map<String, RawTensor> raw(Path dir) throws IOException {
    SafeTensorsFile f = SafeTensorsReader.open(dir.resolve(StateDict.SAFETENSORS));
    Map<String, RawTensor> out = new LinkedHashMap<>();
    for (String n : f.names()) out.put(n, f.get(n));
    return out;
  }
}
