package io.gnomon.clockd.cli;

import picocli.CommandLine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * {@code -V} of the clock daemon's commands (and their subcommands): the program's name and the project version, which Maven writes
 * into {@value #RESOURCE} when it copies the resources (the scripts in bin/ run from target/classes, where
 * there is no jar manifest to read it from).
 */
public final class Version implements CommandLine.IVersionProvider {
    static final String RESOURCE = "/io/gnomon/clockd/version.properties";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public String[] getVersion() throws IOException {
        return new String[] {spec.root().name() + " " + projectVersion()};
    }

    /** The version from the filtered resource, or a line saying it is missing (a build that skipped resources). */
    public static String projectVersion() throws IOException {
        try (InputStream in = Version.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return "(version unknown: " + RESOURCE + " is missing; rebuild with mvn -DskipTests package)";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "(version unknown)");
        }
    }
}
