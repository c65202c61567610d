package io.gnomon.paxos.cli;

import io.gnomon.truetime.ProjectVersion;
import picocli.CommandLine;

/**
 * {@code -V} of txn-coordinator's and spanner-lite's commands and their subcommands: the root command's name and the
 * project version ({@code replica 0.1.0-SNAPSHOT}), as clock-daemon's commands print it. A picocli adapter over
 * truetime-api's {@link ProjectVersion}, which holds no command-line library.
 */
public final class VersionProvider implements CommandLine.IVersionProvider {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public String[] getVersion() {
        return new String[] {ProjectVersion.line(spec.root().name())};
    }
}
