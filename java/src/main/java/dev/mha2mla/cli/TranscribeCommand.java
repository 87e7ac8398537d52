package dev.mha2mla.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.data.AudioFiles;
import dev.mha2mla.io.AtomicFiles;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.SafeTensorsWriter;
import dev.mha2mla.io.WavAudio;
import dev.mha2mla.model.AttentionBackend;
import dev.mha2mla.model.CpuThreads;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code mha2mla transcribe}: one transcript line per audio file. */
@Command(
    name = "transcribe",
    header = "Transcribe 16 kHz mono WAV or FLAC files with a model folder.",
    mixinStandardHelpOptions = true,
    description = {
      "Transcribe 16 kHz 16-bit mono WAV or FLAC files with a model folder (HuggingFace layout, MHA or converted MLA).",
      "Prints one transcript per line, in argument order. Each file runs alone unless --batch-size > 1."
    })
final class TranscribeCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR",
      description = "Model folder: config.json, model.safetensors or pytorch_model.bin, vocab.json.")
  Path model;

  @Mixin
  DeviceOption device;

  @Option(names = "--attention", defaultValue = "native", paramLabel = "native|torch",
      description = "Attention by the fused native kernels or by LibTorch operations (the HuggingFace way). Default: ${DEFAULT-VALUE}.")
  AttentionBackend attention;

  @Option(names = "--batch-size", defaultValue = "1", paramLabel = "B",
      description = "Files per forward pass; >1 pads and masks like HuggingFace (logits near padding change). Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Option(names = "--json-out", paramLabel = "FILE", description = "Also write the transcripts as JSON.")
  Path jsonOut;

  @Option(names = "--logits-out", paramLabel = "FILE",
      description = "Write a safetensors file with one float32 tensor logits.<i> [frames, vocab] per input.")
  Path logitsOut;

  @Parameters(arity = "1..*", paramLabel = "AUDIO", description = "WAV or FLAC files (16-bit, mono, 16 kHz).")
  List<Path> audio;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    CpuThreads.configureAdaptive();
    Usage.require(spec, batchSize >= 1, "--batch-size must be at least 1, got " + batchSize);
    String deviceName = device.name();
    List<float[]> samples = new ArrayList<>();
    AttentionBackend backend = attention;
    try (SpeechRecognizer asr = SpeechRecognizer.open(model, deviceName)) {
      asr.model().setAttentionBackend(backend);
      int rate = asr.normalizer().samplingRate();
      for (Path file : audio) {
        WavAudio wav = AudioFiles.decode(file);
        if (wav.sampleRate() != rate) {
          throw new IllegalArgumentException(file + ": sample rate is " + wav.sampleRate() + " Hz but the model expects "
              + rate + " Hz; resample first, e.g. sox " + file + " -r " + rate + " out.wav");
        }
        try {
          asr.checkInput(wav.samples());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        samples.add(wav.samples());
      }
      List<SpeechRecognizer.Transcript> results = asr.transcribeAll(samples, batchSize);
      if (logitsOut != null) writeLogits(results);
      if (jsonOut != null) writeJson(results);
      for (SpeechRecognizer.Transcript t : results) System.out.println(t.text());
    }
    return 0;
  }

  private void writeLogits(List<SpeechRecognizer.Transcript> results) throws java.io.IOException {
    Map<String, RawTensor> tensors = new LinkedHashMap<>();
    for (int i = 0; i < results.size(); i++) {
      float[][] l = results.get(i).logits();
      int vocab = l.length == 0 ? 0 : l[0].length;
      float[] flat = new float[l.length * vocab];
      for (int t = 0; t < l.length; t++) System.arraycopy(l[t], 0, flat, t * vocab, vocab);
      tensors.put("logits." + i, RawTensor.ofFloats(new long[] {l.length, vocab}, flat));
    }
    SafeTensorsWriter.write(logitsOut, tensors, Map.of("model", model.toString()));
  }

  private void writeJson(List<SpeechRecognizer.Transcript> results) throws java.io.IOException {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (int i = 0; i < results.size(); i++) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("file", audio.get(i).toString());
      row.put("transcript", results.get(i).text());
      row.put("frames", results.get(i).logits().length);
      rows.add(row);
    }
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("model", model.toString());
    doc.put("device", device.name);
    doc.put("batch_size", batchSize);
    doc.put("results", rows);
    AtomicFiles.writeString(jsonOut, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(doc) + "\n");
  }
}
