package io.gnomon.clockd.publish;

import io.gnomon.truetime.ClockStatus;
import io.gnomon.truetime.grpc.v1.TrueTimeGrpc;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The daemon's gRPC server: the {@link TrueTimeService}, gRPC health checking ({@code grpc.health.v1}) and
 * server reflection ({@code grpc.reflection.v1}), so {@code grpcurl} and load balancers work without the .proto
 * file. Health, for {@code ""} and {@value #SERVICE_NAME} alike, is SERVING only while the service hands out a
 * usable interval ({@link ClockStatus#isUsable()}: SYNCHRONIZED or FREE_RUNNING), NOT_SERVING otherwise (before
 * the first estimate, UNSYNCHRONIZED, UNVERIFIED, DISRUPTED, or past void-after), so that a readiness probe
 * gates on the clock rather than on the process (docs/protocols.md, "Health").
 *
 * <pre>{@code
 * try (GrpcEndpoint grpc = GrpcEndpoint.start(new InetSocketAddress("127.0.0.1", 7360), service)) {
 *     log.info("gRPC on port {}", grpc.port());
 * }
 * }</pre>
 */
public final class GrpcEndpoint implements AutoCloseable {

    /** The fully qualified gRPC service name, as health checks ask for it. */
    public static final String SERVICE_NAME = TrueTimeGrpc.SERVICE_NAME;

    /** Requests are empty or one int64; anything larger is not ours. */
    static final int MAX_INBOUND_MESSAGE_BYTES = 64 * 1024;
    /** Streams one client connection may hold open (Watch streams plus in-flight unary calls). */
    static final int MAX_CONCURRENT_CALLS_PER_CONNECTION = 256;
    static final long GRACEFUL_SHUTDOWN_MILLIS = 1_000;

    private final Server server;
    private final TrueTimeService service;
    private final HealthStatusManager health;

    private GrpcEndpoint(Server server, TrueTimeService service, HealthStatusManager health) {
        this.server = server;
        this.service = service;
        this.health = health;
    }

    /**
     * Binds {@code bindAddress} (port 0 picks a free port) and starts serving.
     *
     * @throws IOException if the address cannot be bound; the message names it
     */
    public static GrpcEndpoint start(InetSocketAddress bindAddress, TrueTimeService service) throws IOException {
        Objects.requireNonNull(bindAddress, "bindAddress");
        Objects.requireNonNull(service, "service");
        HealthStatusManager health = new HealthStatusManager();
        health.setStatus("", ServingStatus.NOT_SERVING); // the manager starts "" as SERVING; no clock yet
        // Every handler here is non-blocking (a volatile read and arithmetic, or an enqueue), so they run on
        // the transport's event loop threads: no hand-off, lower latency, and no unbounded pool.
        Server server = NettyServerBuilder.forAddress(bindAddress)
                .directExecutor()
                .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
                .maxConcurrentCallsPerConnection(MAX_CONCURRENT_CALLS_PER_CONNECTION)
                .addService(service)
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance())
                .build();
        try {
            server.start();
        } catch (IOException e) {
            String where = bindAddress.getHostString() + ":" + bindAddress.getPort();
            if (isAddressInUse(e)) {
                throw new IOException("gRPC port " + where + " is in use (or the address is not local);"
                        + " choose another port or stop the process holding it", e);
            }
            throw new IOException("cannot start gRPC server on " + where + ": " + e.getMessage(), e);
        }
        // Follows the status on the daemon's publish path; the manager only records it and tells Watch streams.
        service.onStatusChange(status -> {
            ServingStatus serving = status.isUsable() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
            health.setStatus("", serving);
            health.setStatus(SERVICE_NAME, serving);
        });
        return new GrpcEndpoint(server, service, health);
    }

    /** The bound port (the chosen one if started with port 0). */
    public int port() {
        return server.getPort();
    }

    /**
     * Reports NOT_SERVING, completes Watch streams, lets in-flight calls finish for a short while, then
     * cancels what remains. If interrupted, cancels at once and keeps the interrupt flag set.
     */
    @Override
    public void close() {
        health.enterTerminalState();
        service.completeWatchers();
        server.shutdown();
        try {
            if (!server.awaitTermination(GRACEFUL_SHUTDOWN_MILLIS, TimeUnit.MILLISECONDS)) {
                server.shutdownNow();
                server.awaitTermination(GRACEFUL_SHUTDOWN_MILLIS, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** A JDK {@link BindException}, or (with the native epoll transport) netty's own "Address already in use". */
    private static boolean isAddressInUse(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof BindException
                    || (c.getMessage() != null && c.getMessage().contains("Address already in use"))) {
                return true;
            }
        }
        return false;
    }
}
