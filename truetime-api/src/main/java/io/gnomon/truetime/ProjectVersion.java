package io.gnomon.truetime;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * Gnomon's version, for every command's {@code -V} and for what a daemon records at its start. Maven writes it into
 * {@value #RESOURCE} when it copies truetime-api's resources: the scripts in bin/ run from target/classes, where there
 * is no jar manifest to read it from. truetime-api is the module every other one depends on, so each finds it here.
 *
 * <p>No command-line library in here: truetime-api stays free of picocli, and each module with picocli commands has
 * a provider of a few lines that calls {@link #line(String)} (clock-daemon's {@code io.gnomon.clockd.cli.Version},
 * txn-coordinator's {@code io.gnomon.paxos.cli.VersionProvider}, which spanner-lite uses too).
 *
 * <pre>{@code
 * @Command(name = "replica", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class)
 * // where VersionProvider.getVersion() returns new String[] {ProjectVersion.line(spec.root().name())}
 * ProjectVersion.get();            // "0.1.0-SNAPSHOT"
 * ProjectVersion.line("replica");  // "replica 0.1.0-SNAPSHOT"
 * }</pre>
 */
public final class ProjectVersion {
    /** Where the version is, on the classpath. */
    public static final String RESOURCE = "/io/gnomon/truetime/version.properties";

    private ProjectVersion() {
    }

    /**
     * The project version from the filtered resource, or a phrase saying it is unknown and how to fix that (a build
     * that skipped resources). Never throws: {@code -V} should answer whatever the build left behind.
     */
    public static String get() {
        try (InputStream in = ProjectVersion.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return "(version unknown: " + RESOURCE + " is missing; rebuild with mvn -DskipTests package)";
            }
            Properties p = new Properties();
            p.load(in);
            String version = p.getProperty("version", "").trim();
            if (version.isEmpty() || version.startsWith("${")) {
                return "(version unknown: " + RESOURCE + " was not filtered; rebuild with mvn -DskipTests package)";
            }
            return version;
        } catch (IOException e) {
            return "(version unknown: cannot read " + RESOURCE + ": " + e.getMessage() + ")";
        }
    }

    /** What {@code program -V} prints: the program's name, a space and {@link #get()}. */
    public static String line(String programName) {
        if (programName == null || programName.isBlank()) {
            throw new IllegalArgumentException("programName must be non-blank, was '" + programName + "'");
        }
        return programName + " " + get();
    }
}
