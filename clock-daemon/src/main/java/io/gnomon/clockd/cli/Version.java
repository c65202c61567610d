package io.gnomon.clockd.cli;

import io.gnomon.truetime.ProjectVersion;
import picocli.CommandLine;

/**
 * {@code -V} of the clock daemon's commands (and their subcommands): the program's name and the project version. A
 * picocli adapter over truetime-api's {@link ProjectVersion}, which holds no command-line library.
 */
public final class Version implements CommandLine.IVersionProvider {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public String[] getVersion() {
        return new String[] {ProjectVersion.line(spec.root().name())};
    }
}
