package io.gnomon.paxos.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/** deploy/cluster/example-3x16.yaml is valid, and is the cluster the generator makes for its shape. */
class ExampleClusterFileTest {
    static final Path EXAMPLE = Path.of("..", "deploy", "cluster", "example-3x16.yaml").toAbsolutePath().normalize();

    @Test
    void theExampleIsValidAndBalanced() throws Exception {
        ClusterSpec c = ClusterFile.load(EXAMPLE);
        assertThat(c.processes()).hasSize(3);
        assertThat(c.groups()).hasSize(16);
        for (ProcessSpec p : c.processes()) {
            assertThat(p.peer().host()).isEqualTo("127.0.0.1");
            assertThat(c.groupsOf(p.id())).hasSize(16);
        }
        assertThat(c).isEqualTo(ClusterSpec.evenlySplit(3, 16, 3, "127.0.0.1", 7101));
        assertThat(c.groupFor("user/42".getBytes(java.nio.charset.StandardCharsets.UTF_8)).id()).isEqualTo(8);
    }
}
