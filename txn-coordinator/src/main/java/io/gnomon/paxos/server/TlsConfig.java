package io.gnomon.paxos.server;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * TLS for a replica's ports and its clients' channels, from PEM files as operators hold them (a certificate chain, a
 * PKCS#8 private key, the certificate authorities to trust): {@link #serverCredentials} for a server, {@link
 * #channelCredentials} for a channel to one, both gRPC's own TLS credentials. With {@code requireClientCertificate}
 * a server accepts only peers presenting a certificate the trusted authorities signed (mutual TLS), and a channel
 * presents this configuration's certificate.
 *
 * <p>{@link #load} reads and checks every file before anything listens or dials, so a wrong path, a file that is
 * not PEM, a key that is not the certificate's, or a certificate outside its validity period is refused at start
 * with the file and the reason, not at the first handshake.
 *
 * @param certificateChain PEM certificates, this host's first (sent to peers)
 * @param privateKey       the PEM PKCS#8 private key ({@code BEGIN PRIVATE KEY}) of the first certificate
 * @param trustedAuthorities PEM certificates of the authorities whose signatures are accepted on the other side
 * @param requireClientCertificate a server demands and checks the client's certificate (mutual TLS)
 */
public record TlsConfig(Path certificateChain, Path privateKey, Path trustedAuthorities,
                        boolean requireClientCertificate) {

    /** A TLS file that cannot be used, with the file and why. */
    public static final class TlsConfigException extends Exception {
        public TlsConfigException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    public TlsConfig {
        Objects.requireNonNull(certificateChain, "certificateChain");
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(trustedAuthorities, "trustedAuthorities");
    }

    /** The configuration after every file was read and checked (see the class comment). */
    public static TlsConfig load(Path certificateChain, Path privateKey, Path trustedAuthorities,
                                 boolean requireClientCertificate) throws TlsConfigException {
        TlsConfig c = new TlsConfig(certificateChain, privateKey, trustedAuthorities, requireClientCertificate);
        List<X509Certificate> chain = certificates(certificateChain, "certificate chain");
        PrivateKey key = privateKey(privateKey);
        certificates(trustedAuthorities, "trusted authorities");
        X509Certificate own = chain.get(0);
        try {
            own.checkValidity();
        } catch (CertificateExpiredException | CertificateNotYetValidException e) {
            throw new TlsConfigException("certificate chain " + certificateChain + ": the first certificate ("
                    + own.getSubjectX500Principal() + ") is valid from " + own.getNotBefore().toInstant() + " to "
                    + own.getNotAfter().toInstant() + ", not now", e);
        }
        if (!matches(key, own)) {
            throw new TlsConfigException("private key " + privateKey + " is not the key of the first certificate in "
                    + certificateChain + " (" + own.getSubjectX500Principal() + ")", null);
        }
        return c;
    }

    /** Credentials for a server on a replica's port. */
    public ServerCredentials serverCredentials() throws TlsConfigException {
        try {
            return TlsServerCredentials.newBuilder()
                    .keyManager(certificateChain.toFile(), privateKey.toFile())
                    .trustManager(trustedAuthorities.toFile())
                    .clientAuth(requireClientCertificate ? TlsServerCredentials.ClientAuth.REQUIRE
                            : TlsServerCredentials.ClientAuth.NONE)
                    .build();
        } catch (IOException | IllegalArgumentException e) {
            throw new TlsConfigException("TLS server credentials from " + certificateChain + ", " + privateKey + ", "
                    + trustedAuthorities + ": " + e.getMessage(), e);
        }
    }

    /** Credentials for a channel to a replica: trusts the authorities, and presents this host's certificate. */
    public ChannelCredentials channelCredentials() throws TlsConfigException {
        try {
            return TlsChannelCredentials.newBuilder()
                    .keyManager(certificateChain.toFile(), privateKey.toFile())
                    .trustManager(trustedAuthorities.toFile())
                    .build();
        } catch (IOException | IllegalArgumentException e) {
            throw new TlsConfigException("TLS channel credentials from " + certificateChain + ", " + privateKey + ", "
                    + trustedAuthorities + ": " + e.getMessage(), e);
        }
    }

    private static String read(Path file, String what) throws TlsConfigException {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new TlsConfigException(what + " " + file + ": no such file", e);
        } catch (IOException e) {
            throw new TlsConfigException(what + " " + file + ": cannot be read: " + e, e);
        }
    }

    private static List<X509Certificate> certificates(Path file, String what) throws TlsConfigException {
        String pem = read(file, what);
        List<byte[]> blocks = pemBlocks(pem, "CERTIFICATE");
        if (blocks.isEmpty()) {
            throw new TlsConfigException(what + " " + file + ": no PEM certificate in it (a block from "
                    + "-----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----)", null);
        }
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory f = CertificateFactory.getInstance("X.509");
            for (int i = 0; i < blocks.size(); i++) {
                try {
                    out.add((X509Certificate) f.generateCertificate(new ByteArrayInputStream(blocks.get(i))));
                } catch (CertificateException e) {
                    throw new TlsConfigException(what + " " + file + ": certificate " + (i + 1) + " of "
                            + blocks.size() + " is not an X.509 certificate: " + e.getMessage(), e);
                }
            }
        } catch (CertificateException e) {
            throw new IllegalStateException("this JVM has no X.509 certificate factory", e);
        }
        return out;
    }

    private static PrivateKey privateKey(Path file) throws TlsConfigException {
        String pem = read(file, "private key");
        List<byte[]> blocks = pemBlocks(pem, "PRIVATE KEY");
        if (blocks.size() != 1) {
            String hint = pem.contains("-----BEGIN RSA PRIVATE KEY-----") || pem.contains("-----BEGIN EC PRIVATE KEY-----")
                    ? " (it holds a PKCS#1 or SEC 1 key: convert it with `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8`)"
                    : pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") ? " (it is encrypted: give an unencrypted key)"
                    : "";
            throw new TlsConfigException("private key " + file + ": expected one PKCS#8 key (-----BEGIN PRIVATE KEY-----),"
                    + " found " + blocks.size() + hint, null);
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(blocks.get(0));
        for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new TlsConfigException("private key " + file + ": not an RSA, EC or Ed25519 PKCS#8 key", null);
    }

    /** Whether {@code key} signs what {@code cert}'s public key verifies. */
    private static boolean matches(PrivateKey key, X509Certificate cert) throws TlsConfigException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> key.getAlgorithm();
        };
        byte[] probe = "gnomon tls key check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(probe);
            byte[] signature = s.sign();
            Signature v = Signature.getInstance(algorithm);
            v.initVerify(cert.getPublicKey());
            v.update(probe);
            return v.verify(signature);
        } catch (GeneralSecurityException e) {
            return false; // a key of another algorithm than the certificate's
        }
    }

    /** The decoded bodies of the PEM blocks labelled {@code label}, in order. */
    private static List<byte[]> pemBlocks(String pem, String label) {
        String begin = "-----BEGIN " + label + "-----";
        String end = "-----END " + label + "-----";
        List<byte[]> out = new ArrayList<>();
        int at = 0;
        while (true) {
            int b = pem.indexOf(begin, at);
            if (b < 0) {
                return out;
            }
            int e = pem.indexOf(end, b);
            if (e < 0) {
                return out;
            }
            String body = pem.substring(b + begin.length(), e).replaceAll("\\s", "");
            try {
                out.add(Base64.getDecoder().decode(body));
            } catch (IllegalArgumentException bad) {
                out.add(new byte[0]); // not base64: the parser says so with the block's number
            }
            at = e + end.length();
        }
    }
}
