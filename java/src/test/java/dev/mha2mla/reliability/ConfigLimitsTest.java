package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.model.ConformerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * config.json values that would exhaust memory while the model is built (10^9 layers), overflow arithmetic, or
 * load and silently compute something else (a hidden size of 64.5 read as 64, a negative LayerNorm epsilon, a
 * padding token outside the vocabulary). Each is refused by {@link ConformerConfig#read} as a
 * {@link MalformedFileException} whose message names the file, the field and the limit.
 */
class ConfigLimitsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  static Stream<Arguments> hostileConfigs() {
    return Stream.of(
        config("a billion layers", c -> c.put("num_hidden_layers", 1_000_000_000),
            "field 'num_hidden_layers' is 1000000000, outside the supported range 1..256"),
        config("Integer.MAX_VALUE layers", c -> c.put("num_hidden_layers", Integer.MAX_VALUE),
            "field 'num_hidden_layers' is 2147483647, outside the supported range 1..256"),
        config("more layers than an int holds", c -> c.put("num_hidden_layers", 1L << 40),
            "field 'num_hidden_layers' is 1099511627776, outside the supported range 1..256"),
        config("a fractional hidden size", c -> c.put("hidden_size", 64.5),
            "field 'hidden_size' must be an integer in 1..16384, got 64.5"),
        config("an integer written as a float", c -> c.put("num_attention_heads", 4.0),
            "field 'num_attention_heads' must be an integer in 1..64, got 4.0"),
        config("a hidden size past the limit", c -> c.put("hidden_size", 16_385),
            "field 'hidden_size' is 16385, outside the supported range 1..16384"),
        config("a negative LayerNorm epsilon", c -> c.put("layer_norm_eps", -1),
            "field 'layer_norm_eps' is -1, outside the supported range (0.0, 0.1]"),
        config("a LayerNorm epsilon of 1e308", c -> c.put("layer_norm_eps", 1e308),
            "field 'layer_norm_eps' is 1.0E308, outside the supported range (0.0, 0.1]"),
        config("a zero LayerNorm epsilon", c -> c.put("layer_norm_eps", 0.0),
            "field 'layer_norm_eps' is 0.0, outside the supported range (0.0, 0.1]"),
        config("a padding token outside the 32-token vocabulary", c -> c.put("pad_token_id", 1000),
            "field 'pad_token_id' is 1000, outside the supported range 0..31"),
        config("an end token outside the vocabulary", c -> c.put("eos_token_id", 32),
            "field 'eos_token_id' is 32, outside the supported range 0..31"),
        config("heads that do not divide the hidden size", c -> c.put("num_attention_heads", 5),
            "hidden_size 64 is not divisible by num_attention_heads 5"),
        config("more heads than channels", c -> c.put("num_attention_heads", 128),
            "field 'num_attention_heads' is 128, outside the supported range 1..64"),
        config("an even depthwise kernel", c -> c.put("conv_depthwise_kernel_size", 8),
            "field 'conv_depthwise_kernel_size' is 8; it must be odd"),
        config("a depthwise kernel of a million", c -> c.put("conv_depthwise_kernel_size", 1_000_001),
            "field 'conv_depthwise_kernel_size' is 1000001, outside the supported range 1..255"),
        config("a feature-encoder kernel of a million samples", c -> c.withArray("conv_kernel").set(6, 1_000_000),
            "field 'conv_kernel[6]' is 1000000, outside the supported range 1..1024"),
        config("a zero feature-encoder stride", c -> c.withArray("conv_stride").set(0, 0),
            "field 'conv_stride[0]' is 0, outside the supported range 1..1024"),
        config("a billion channels", c -> c.withArray("conv_dim").set(3, 1_000_000_000),
            "field 'conv_dim[3]' is 1000000000, outside the supported range 1..16384"),
        config("strides whose product overflows", c -> fill(c.withArray("conv_stride"), 1024),
            "gives more than 1048576 samples per frame"),
        config("kernels whose receptive field is hours long", c -> {
          fill(c.withArray("conv_kernel"), 1024);
          fill(c.withArray("conv_stride"), 7);
        }, "more than the limit of 16777216"),
        config("ten thousand feature-encoder layers", c -> {
          for (String f : new String[] {"conv_dim", "conv_kernel", "conv_stride"}) {
            ArrayNode a = c.putArray(f);
            for (int i = 0; i < 10_000; i++) a.add(2);
          }
          c.remove("num_feat_extract_layers");
        }, "field 'conv_dim' must be a list of 1 to 16 integers in 1..16384, got 10000 entries"),
        config("a fractional MLA latent size", c -> c.putObject("mla").put("latent_dim", 16.5),
            "field 'mla.latent_dim' must be an integer in 1..128, got 16.5"),
        config("latent sizes for three layers of two", c -> c.putObject("mla").putArray("latent_dims").add(8).add(8).add(8),
            "field 'mla.latent_dims' must be a list of num_hidden_layers = 2 integers in 1..128, got [8,8,8]"),
        config("a zero latent size in one layer", c -> c.putObject("mla").putArray("latent_dims").add(8).add(0),
            "field 'mla.latent_dims[1]' is 0, outside the supported range 1..128"),
        config("per-layer sizes that contradict latent_dim", c -> {
          c.putObject("mla").put("latent_dim", 8).putArray("latent_dims").add(8).add(12);
        }, "field 'mla.latent_dim' (8) disagrees with 'mla.latent_dims' [8, 12]"),
        config("a masking probability above 1", c -> c.put("mask_time_prob", 2.0),
            "field 'mask_time_prob' is 2.0, outside the supported range [0.0, 1.0]"),
        config("a missing intermediate size", c -> c.remove("intermediate_size"),
            "field 'intermediate_size' is missing; it must be an integer in 1..65536"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hostileConfigs")
  void isRefusedNamingTheFileTheFieldAndTheLimit(Consumer<ObjectNode> edit, String reason) throws IOException {
    ObjectNode c = fixtureConfig();
    edit.accept(c);
    Path file = Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(c));

    assertThatThrownBy(() -> ConformerConfig.read(file)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(file + ": ")
        .hasMessageContaining(reason);
  }

  @Test
  void malformedJsonIsAMalformedFile() throws IOException {
    Path file = Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 64,");
    assertThatThrownBy(() -> ConformerConfig.read(file)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(file + ": not valid JSON");
    Path array = Files.writeString(dir.resolve("array.json"), "[1, 2]");
    assertThatThrownBy(() -> ConformerConfig.read(array)).isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(array + ": expected a JSON object");
  }

  @Test
  void theShippedAndFixtureConfigsLoadWithTheirValues() throws IOException {
    ConformerConfig tiny = ConformerConfig.read(Fixtures.conformerTiny().resolve("config.json"));
    assertThat(tiny.hiddenSize()).isEqualTo(64);
    assertThat(tiny.numHiddenLayers()).isEqualTo(2);
    assertThat(tiny.layerNormEps()).isEqualTo(1e-5);
    assertThat(tiny.convKernel()).containsExactly(10, 3, 3, 3, 3, 2, 2);
    try (Stream<Path> models = Files.list(Fixtures.repoRoot().resolve("models"))) {
      for (Path model : models.filter(Files::isDirectory).toList()) {
        JsonNode raw = JSON.readTree(model.resolve("config.json").toFile());
        ConformerConfig c = ConformerConfig.read(model.resolve("config.json"));
        assertThat(c.hiddenSize()).as(model.toString()).isEqualTo(raw.get("hidden_size").intValue());
        assertThat(c.numHiddenLayers()).as(model.toString()).isEqualTo(raw.get("num_hidden_layers").intValue());
      }
    }
  }

  @Test
  void valuesAtTheLimitsLoad() throws IOException {
    ObjectNode c = fixtureConfig();
    c.put("num_hidden_layers", ConformerConfig.MAX_LAYERS);
    c.put("layer_norm_eps", ConformerConfig.MAX_LAYER_NORM_EPS);
    c.put("pad_token_id", 31);
    c.put("conv_depthwise_kernel_size", ConformerConfig.MAX_DEPTHWISE_KERNEL);
    c.put("num_attention_heads", 64);
    Path file = Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(c));

    ConformerConfig read = ConformerConfig.read(file);
    assertThat(read.numHiddenLayers()).isEqualTo(256);
    assertThat(read.layerNormEps()).isEqualTo(0.1);
    assertThat(read.padTokenId()).isEqualTo(31);
    assertThat(read.depthwiseKernelSize()).isEqualTo(255);
    assertThat(read.headDim()).isEqualTo(1);
  }

  private static ObjectNode fixtureConfig() throws IOException {
    return (ObjectNode) JSON.readTree(Fixtures.conformerTiny().resolve("config.json").toFile());
  }

  private static void fill(ArrayNode a, int value) {
    for (int i = 0; i < a.size(); i++) a.set(i, value);
  }

  private static Arguments config(String name, Consumer<ObjectNode> edit, String reason) {
    return Arguments.of(Named.of(name, edit), reason);
  }
}
