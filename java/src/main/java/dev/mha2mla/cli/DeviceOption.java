package dev.mha2mla.cli;

import dev.mha2mla.model.Devices;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code --device}, for every command that runs a network (a picocli mixin). */
final class DeviceOption {
  /** Shell completion; "cuda:N" picks one of several GPUs. */
  static final class Candidates implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return List.of("cpu", "cuda").iterator();
    }
  }

  @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda[:N]", completionCandidates = Candidates.class,
      description = "Where LibTorch runs (the SVDs of convert: cuSOLVER on CUDA). Default: ${DEFAULT-VALUE}.")
  String name;

  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  /** The device name, checked: an unknown one is a usage error (exit 2), CUDA without a GPU a failure (exit 1). */
  String name() {
    Usage.check(spec, () -> Devices.parse(name));
    return name;
  }
}
