package io.gnomon.paxos.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates for TLS tests, made with the openssl command line (bin/test installs it): an authority, and
 * certificates it signs for 127.0.0.1 and localhost, EC P-256 keys in PKCS#8 PEM, valid for two days.
 */
final class TestCertificates {
    private final Path dir;

    TestCertificates(Path dir) {
        this.dir = dir;
    }

    /** A new authority {@code name}: {@code name.pem} (its certificate) and {@code name.key}. */
    Path authority(String name) throws IOException, InterruptedException {
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj", "/CN=" + name);
        return dir.resolve(name + ".pem");
    }

    /** A certificate {@code name.pem} with its key {@code name.key}, for 127.0.0.1 and localhost, signed by {@code ca}. */
    Path issue(String ca, String name) throws IOException, InterruptedException {
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name);
        Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
                "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext");
        return dir.resolve(name + ".pem");
    }

    Path pem(String name) {
        return dir.resolve(name + ".pem");
    }

    Path key(String name) {
        return dir.resolve(name + ".key");
    }

    /** Runs openssl in the directory; fails with its output if it does not exit 0 within 30 s. */
    void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " failed: " + new String(out, StandardCharsets.UTF_8));
        }
    }
}
