package io.gnomon.paxos;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line for a child JVM running one of this module's classes, as tests that kill processes need. */
public final class ChildJvm {
    /** The Chronicle JVM flags (parent pom's chronicle.jvm.flags), passed explicitly to the child JVM. */
    public static final List<String> CHRONICLE_JVM_FLAGS = List.of(
            "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
            "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
            "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
            "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
            "-Dchronicle.analytics.disable=true");

    private ChildJvm() {
    }

    /** {@code java <chronicle flags> <jvmArgs> -cp test-classes:classes:deps mainClass}; append its arguments. */
    public static List<String> command(Class<?> mainClass, String... jvmArgs) throws IOException {
        Path module = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        Path target = module.resolve("target");
        String deps = Files.readString(target.resolve("classpath.txt")).trim();
        String classpath = target.resolve("test-classes") + File.pathSeparator + target.resolve("classes")
                + File.pathSeparator + deps;
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(CHRONICLE_JVM_FLAGS);
        cmd.addAll(List.of(jvmArgs));
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(mainClass.getName());
        return cmd;
    }
}
