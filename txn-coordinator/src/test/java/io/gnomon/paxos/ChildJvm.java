package io.gnomon.paxos;

import io.gnomon.paxos.server.ReplicaProcesses;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line for a child JVM running one of this module's classes, as tests that kill processes need. */
public final class ChildJvm {
    private ChildJvm() {
    }

    /** This module's test classes, classes and dependencies (surefire's own classpath is a booter jar). */
    public static String classpath() throws IOException {
        Path target = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).resolve("target");
        return target.resolve("test-classes") + File.pathSeparator + target.resolve("classes") + File.pathSeparator
                + Files.readString(target.resolve("classpath.txt")).trim();
    }

    /** {@code java <chronicle flags> <jvmArgs> -cp test-classes:classes:deps mainClass}; append its arguments. */
    public static List<String> command(Class<?> mainClass, String... jvmArgs) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ReplicaProcesses.CHRONICLE_JVM_FLAGS);
        cmd.addAll(List.of(jvmArgs));
        cmd.add("-cp");
        cmd.add(classpath());
        cmd.add(mainClass.getName());
        return cmd;
    }
}
