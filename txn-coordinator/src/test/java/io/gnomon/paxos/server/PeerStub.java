package io.gnomon.paxos.server;

import io.gnomon.paxos.grpc.PeerFrame;
import io.gnomon.paxos.grpc.PeerGrpc;
import io.gnomon.paxos.grpc.PeerStreamEnd;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * A peer process's {@code Peer} service on a loopback port, for transport tests: counts the streams opened to it and
 * hands each frame as it arrives (on the transport thread, in order per stream) to the test, with the number of the
 * stream it came on (1, 2, ...).
 */
final class PeerStub implements AutoCloseable {
    final AtomicInteger streams = new AtomicInteger();
    private final Server server;

    PeerStub(BiConsumer<Integer, PeerFrame> onFrame) throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).directExecutor()
                .addService(new PeerGrpc.PeerImplBase() {
                    @Override
                    public StreamObserver<PeerFrame> stream(StreamObserver<PeerStreamEnd> end) {
                        int stream = streams.incrementAndGet();
                        return new StreamObserver<>() {
                            @Override
                            public void onNext(PeerFrame frame) {
                                onFrame.accept(stream, frame);
                            }

                            @Override
                            public void onError(Throwable t) {
                            }

                            @Override
                            public void onCompleted() {
                                end.onCompleted();
                            }
                        };
                    }
                }).build().start();
    }

    String target() {
        return "127.0.0.1:" + server.getPort();
    }

    @Override
    public void close() {
        server.shutdownNow();
    }
}
