package dev.mha2mla.model;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/** Parses "cpu" / "cuda" / "cuda:N" into a LibTorch device, checking that CUDA is really there. */
public final class Devices {
  private Devices() {}

  /** null stands for the CPU. */
  public static Device parse(String name) {
    if (name == null || name.equals("cpu")) return null;
    if (name.equals("cuda") || name.matches("cuda:\\d+")) {
      if (!torch.cuda_is_available()) {
        throw new UnsupportedModelException("--device " + name + ": LibTorch sees no CUDA device. The default build "
            + "ships the CPU natives of the PyTorch preset; on a machine with an NVIDIA driver build with "
            + "'mvn -Pgpu package' to get the CUDA ones.");
      }
      return new Device(name);
    }
    throw new IllegalArgumentException("unknown device '" + name + "': use cpu, cuda or cuda:N");
  }
}
