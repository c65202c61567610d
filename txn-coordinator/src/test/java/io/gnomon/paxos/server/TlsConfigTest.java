package io.gnomon.paxos.server;

import com.google.protobuf.ByteString;
import io.gnomon.paxos.grpc.AppendReply;
import io.gnomon.paxos.grpc.AppendRequest;
import io.gnomon.paxos.grpc.Outcome;
import io.gnomon.paxos.grpc.ReplicaGrpc;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * TLS from PEM files: {@link TlsConfig#load} refuses unusable files by name and reason, and a server with its
 * credentials serves {@link ReplicaClient}s over TLS, refusing (with mutual TLS) clients without a certificate its
 * authority signed. Certificates come from the openssl command line ({@link TestCertificates}).
 */
class TlsConfigTest {
    private static final Duration T = Duration.ofSeconds(20);

    @TempDir
    Path tmp;

    private TestCertificates certs;
    private Server server;

    @BeforeEach
    void certificates() throws Exception {
        certs = new TestCertificates(tmp);
        certs.authority("ca");
        certs.issue("ca", "server");
        certs.issue("ca", "client");
        certs.authority("rogue-ca");
        certs.issue("rogue-ca", "rogue");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.shutdownNow();
        }
    }

    private TlsConfig config(String name, String ca, boolean mutual) throws TlsConfig.TlsConfigException {
        return TlsConfig.load(certs.pem(name), certs.key(name), certs.pem(ca), mutual);
    }

    /** A replica stand-in that applies every unary append, behind {@code tls}. */
    private String serve(TlsConfig tls) throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), tls.serverCredentials())
                .directExecutor()
                .addService(new ReplicaGrpc.ReplicaImplBase() {
                    @Override
                    public void append(AppendRequest request, StreamObserver<AppendReply> reply) {
                        reply.onNext(AppendReply.newBuilder().setOutcome(Outcome.APPLIED)
                                .setResult(ByteString.copyFromUtf8("over tls")).build());
                        reply.onCompleted();
                    }
                }).build().start();
        return "127.0.0.1:" + server.getPort();
    }

    private AppendReply appendThrough(String target, io.grpc.ChannelCredentials credentials) throws Exception {
        try (ReplicaClient.Connections c = credentials == null
                ? ReplicaClient.connect(Map.of(1, target), ReplicaClient.AppendCalls.UNARY)
                : ReplicaClient.connect(Map.of(1, target), ReplicaClient.AppendCalls.UNARY, credentials)) {
            return c.group(1, List.of(1)).append(new byte[] {1}, T);
        }
    }

    @Test
    void mutualTlsServesClientsTheAuthoritySignedAndRefusesOthers() throws Exception {
        String target = serve(config("server", "ca", true));
        AppendReply ok = appendThrough(target, config("client", "ca", false).channelCredentials());
        assertThat(ok.getOutcome()).as(ok.getDetail()).isEqualTo(Outcome.APPLIED);
        assertThat(ok.getResult().toStringUtf8()).isEqualTo("over tls");

        // A client whose certificate another authority signed (it trusts the server's) is refused in the handshake.
        TlsConfig rogue = new TlsConfig(certs.pem("rogue"), certs.key("rogue"), certs.pem("ca"), false);
        AppendReply refused = appendThrough(target, rogue.channelCredentials());
        assertThat(refused.getOutcome()).isEqualTo(Outcome.UNKNOWN);
        assertThat(refused.getDetail()).contains("UNAVAILABLE");

        // Plaintext to a TLS port gets nowhere either.
        assertThat(appendThrough(target, null).getOutcome()).isEqualTo(Outcome.UNKNOWN);
    }

    @Test
    void aClientThatDoesNotTrustTheServersAuthorityRefusesIt() throws Exception {
        String target = serve(config("server", "ca", false));
        assertThat(appendThrough(target, config("client", "ca", false).channelCredentials()).getOutcome())
                .isEqualTo(Outcome.APPLIED); // no client certificate demanded, the server's is trusted
        AppendReply distrusted = appendThrough(target, config("rogue", "rogue-ca", false).channelCredentials());
        assertThat(distrusted.getOutcome()).isEqualTo(Outcome.UNKNOWN);
        assertThat(distrusted.getDetail()).contains("UNAVAILABLE");
    }

    @Test
    void aClusterOverMutualTlsElectsReplicatesAndServesOnlyClientsWithACertificate() throws Exception {
        try (LocalCluster cluster = new LocalCluster(tmp.resolve("cluster"), 3).withTls(config("server", "ca", true))) {
            cluster.startAll(); // the replicas dial each other over TLS with the same certificate
            try (ReplicaClient.Connections tls = ReplicaClient.connect(cluster.targets(), ReplicaClient.AppendCalls.STREAM,
                    config("client", "ca", false).channelCredentials())) {
                ReplicaClient client = tls.group(ReplicaServer.GROUP, cluster.targets().keySet());
                await().atMost(T).pollInterval(Duration.ofMillis(20))
                        .until(() -> client.leaseHolder(Duration.ofSeconds(1)).isPresent());
                ListAppends.appendOnce(client, "k", 1, T);
                assertThat(ListAppends.read(client, "k", T)).containsExactly(1L);
            }
            ReplicaClient plain = cluster.client(ReplicaServer.GROUP, ReplicaClient.AppendCalls.UNARY);
            assertThat(plain.statuses(Duration.ofSeconds(2))).as("plaintext clients get no answer").isEmpty();
        }
    }

    @Test
    void unusableFilesAreRefusedAtLoadWithTheFileAndTheReason() throws Exception {
        Path missing = tmp.resolve("nope.pem");
        assertThatThrownBy(() -> TlsConfig.load(missing, certs.key("server"), certs.pem("ca"), true))
                .isInstanceOf(TlsConfig.TlsConfigException.class)
                .hasMessage("certificate chain " + missing + ": no such file");

        Path notPem = Files.writeString(tmp.resolve("not.pem"), "hello\n");
        assertThatThrownBy(() -> TlsConfig.load(certs.pem("server"), certs.key("server"), notPem, true))
                .hasMessageStartingWith("trusted authorities " + notPem + ": no PEM certificate in it");

        // The client's key with the server's certificate.
        assertThatThrownBy(() -> TlsConfig.load(certs.pem("server"), certs.key("client"), certs.pem("ca"), true))
                .hasMessage("private key " + certs.key("client") + " is not the key of the first certificate in "
                        + certs.pem("server") + " (CN=server)");

        // An EC key in SEC 1 form instead of PKCS#8: the message says how to convert it.
        certs.openssl("ec", "-in", "server.key", "-out", "server-sec1.key");
        Path sec1 = tmp.resolve("server-sec1.key");
        assertThatThrownBy(() -> TlsConfig.load(certs.pem("server"), sec1, certs.pem("ca"), true))
                .hasMessageContaining("private key " + sec1 + ": expected one PKCS#8 key")
                .hasMessageContaining("openssl pkcs8 -topk8");

        Path garbled = Files.writeString(tmp.resolve("garbled.pem"),
                "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n");
        assertThatThrownBy(() -> TlsConfig.load(garbled, certs.key("server"), certs.pem("ca"), true))
                .hasMessageStartingWith("certificate chain " + garbled + ": certificate 1 of 1 is not an X.509 certificate");
    }
}
