package dev.mha2mla.cli;

import picocli.CommandLine.IVersionProvider;

/** The version printed by --version: the jar's implementation version, or "development". */
public final class Version implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = Main.class.getPackage().getImplementationVersion();
    return new String[] {"mha2mla " + (v == null ? "development build" : v)};
  }
}
