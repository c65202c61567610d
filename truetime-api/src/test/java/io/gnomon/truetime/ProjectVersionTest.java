package io.gnomon.truetime;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProjectVersionTest {
    /** Maven filtered the resource: a version, not the placeholder or the "unknown" phrase. */
    @Test
    void theBuildWroteTheProjectVersion() {
        assertThat(ProjectVersion.get()).matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
    }

    @Test
    void aLineIsTheProgramNameAndTheVersion() {
        assertThat(ProjectVersion.line("replica")).isEqualTo("replica " + ProjectVersion.get());
        assertThatThrownBy(() -> ProjectVersion.line(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("programName must be non-blank, was ' '");
    }
}
