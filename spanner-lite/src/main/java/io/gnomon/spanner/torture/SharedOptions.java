package io.gnomon.spanner.torture;

import picocli.CommandLine.Option;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The options {@code torture} and {@code torture-report} share (a picocli mixin). */
final class SharedOptions {
    @Option(names = "--clients", defaultValue = "8", paramLabel = "N", description = "Concurrent clients (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Replica data, logs and histories (default: a new temporary directory).")
    Path workDir;

    @Option(names = "--replica-classpath-extra", paramLabel = "PATH",
            description = "Added to the replicas' classpath; txn-coordinator's test classes for a negative control.")
    String classpathExtra;

    /** This JVM's classpath (bin/_java: spanner-lite's classes and txn-coordinator's) plus the extra. */
    String replicaClasspath() {
        String cp = System.getProperty("java.class.path");
        return classpathExtra == null || classpathExtra.isBlank() ? cp : cp + File.pathSeparator + classpathExtra;
    }

    /** {@code --work-dir}, created, or a new temporary directory named after {@code prefix}. */
    Path workDir(String prefix) throws IOException {
        return workDir != null ? Files.createDirectories(workDir) : Files.createTempDirectory(prefix);
    }
}
