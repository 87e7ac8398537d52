package dev.mha2mla.cli;

import picocli.CommandLine.Option;

/** {@code --allow-outside-paths}, for every command that reads TSV manifests (a picocli mixin). */
final class ManifestPathsOption {
  @Option(names = "--allow-outside-paths",
      description = "Let TSV manifests name audio outside their own folder (absolute paths, ../, links leading out); "
          + "refused by default.")
  boolean allowed;
}
