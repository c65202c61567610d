package io.gnomon.paxos.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every rule of docs/cluster-file.md, with the message and the line it names. */
class ClusterFileTest {
    /** A valid file; tests replace one line of it. Line numbers are in the comments. */
    static final String VALID = """
            processes:
              - {id: 1, peer: "127.0.0.1:7101", client: "127.0.0.1:7201"}
              - {id: 2, peer: "127.0.0.1:7102", client: "127.0.0.1:7202", data-dir: /var/lib/gnomon/2}
              - id: 3
                peer: 127.0.0.1:7103
                client: 127.0.0.1:7203
            groups:
              - {id: 1, range: {start: "", end: "k"}, replicas: [1, 2, 3]}
              - {id: 2, range: {start: "k", end: "t"}, replicas: [2, 3, 1]}
              - id: 3
                range:
                  start: "t"
                replicas: [3]
            """;
    // lines: 1 processes, 2-3 processes 1 and 2, 4-6 process 3, 7 groups, 8-9 groups 1 and 2, 10-13 group 3

    static String replace(String text, String from, String to) {
        assertThat(text).contains(from);
        return text.replace(from, to);
    }

    static ClusterFileException refused(String text) {
        try {
            ClusterSpec spec = ClusterFile.parse(text, "cluster.yaml");
            throw new AssertionError("accepted: " + spec + "\n" + text);
        } catch (ClusterFileException e) {
            return e;
        }
    }

    static void refused(String text, int line, String message) {
        ClusterFileException e = refused(text);
        assertThat(e.getMessage()).isEqualTo("cluster.yaml line " + line + ": " + message);
        assertThat(e.line()).isEqualTo(line);
    }

    @Test
    void readsTheValidFile() throws Exception {
        ClusterSpec c = ClusterFile.parse(VALID, "cluster.yaml");
        assertThat(c.processes()).extracting(ProcessSpec::id).containsExactly(1, 2, 3);
        assertThat(c.processes().get(0)).isEqualTo(new ProcessSpec(1, new HostPort("127.0.0.1", 7101),
                new HostPort("127.0.0.1", 7201), Optional.empty()));
        assertThat(c.processes().get(1).dataDir()).contains(Path.of("/var/lib/gnomon/2"));
        assertThat(c.groups()).extracting(GroupSpec::id).containsExactly(1, 2, 3);
        assertThat(c.groups().get(1).range()).isEqualTo(new KeyRange(Key.ofUtf8("k"), Key.ofUtf8("t")));
        assertThat(c.groups().get(2).range().isUnbounded()).isTrue();
        assertThat(c.groups().get(1).replicas()).containsExactly(2, 3, 1);
        assertThat(c.groupsOf(3)).extracting(GroupSpec::id).containsExactly(1, 2, 3);
        assertThat(c.groupsOf(1)).extracting(GroupSpec::id).containsExactly(1, 2);
    }

    @Test
    void unknownFieldsWithDidYouMean() {
        refused(replace(VALID, "data-dir:", "datadir:"), 3, "process 2: unknown field 'datadir' (did you mean "
                + "'data-dir'?); fields here: id, peer, client, data-dir");
        refused(replace(VALID, "replicas: [3]", "replica: [3]"), 13, "group 3: unknown field 'replica' (did you "
                + "mean 'replicas'?); fields here: id, range, replicas");
        refused(replace(VALID, "start: \"t\"", "begin: \"t\""), 12, "group 3: range: unknown field 'begin'; "
                + "fields here: start, end");
        refused(VALID + "group:\n  - {}\n", 14, "unknown field 'group' (did you mean 'groups'?); fields here: "
                + "processes, groups");
        refused(replace(VALID, "  - id: 3\n    peer", "  - id: 3\n    colour: red\n    peer"), 5,
                "process 3: unknown field 'colour'; fields here: id, peer, client, data-dir");
    }

    @Test
    void idsArePositiveAndUnique() {
        refused(replace(VALID, "{id: 2, peer", "{id: 0, peer"), 3,
                "process #2 in the list: id must be a whole number from 1 to 2147483647, not 0");
        refused(replace(VALID, "{id: 2, peer", "{id: -2, peer"), 3,
                "process #2 in the list: id must be a whole number from 1 to 2147483647, not -2");
        refused(replace(VALID, "{id: 2, peer", "{id: \"2\", peer"), 3,
                "process #2 in the list: id must be a whole number from 1 to 2147483647, not '2'");
        refused(replace(VALID, "{id: 2, peer", "{id: 2.5, peer"), 3,
                "process #2 in the list: id must be a whole number from 1 to 2147483647, not 2.5");
        refused(replace(VALID, "{id: 2, peer", "{id: 99999999999, peer"), 3,
                "process #2 in the list: id must be a whole number from 1 to 2147483647, not 99999999999");
        refused(replace(VALID, "{id: 2, peer", "{id: 1, peer"), 3,
                "process id 1 is used twice (first on line 2); ids are unique");
        refused(replace(VALID, "{id: 2, range", "{id: 1, range"), 9,
                "group id 1 is used twice (first on line 8); ids are unique");
        refused(replace(VALID, "  - id: 3\n    range", "  - range"), 10,
                "group #3 in the list: no 'id' (its id, a whole number from 1)");
    }

    @Test
    void addressesAreHostPortAndNotShared() {
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: 127.0.0.1"), 5,
                "process 3: peer '127.0.0.1' has no port (write host:port, e.g. 127.0.0.1:7101)");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: 127.0.0.1:0"), 5,
                "process 3: peer port 0 is not from 1 to 65535 (0, pick any port, cannot be dialled)");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: 127.0.0.1:65536"), 5,
                "process 3: peer port 65536 is not from 1 to 65535 (0, pick any port, cannot be dialled)");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: \"127.0.0.1:http\""), 5,
                "process 3: peer '127.0.0.1:http': port 'http' is not a number from 1 to 65535");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: \"0.0.0.0:7103\""), 5,
                "process 3: peer '0.0.0.0' is the wildcard address, which nobody can dial (name this host)");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: \"[0:0:0:0:0:0:0:0]:7103\""), 5,
                "process 3: peer '0:0:0:0:0:0:0:0' is the wildcard address, which nobody can dial (name this host)");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: \"300.0.0.1:7103\""), 5,
                "process 3: peer '300.0.0.1' is not an IPv4 address (four numbers 0-255)");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: \"-bad-.example:7103\""), 5,
                "process 3: peer '-bad-.example' is not a host name or IP address (letters, digits and '-' in "
                        + "dot-separated labels of 1-63 characters, not starting or ending with '-')");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: \"::1:7103\""), 5,
                "process 3: peer '::1:7103' is not host:port (an IPv6 address is written in brackets, [::1]:7101)");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: 7103"), 5, "process 3: peer must be text, not 7103");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: 127.0.0.1:7101"), 5,
                "process 3: peer 127.0.0.1:7101 is already process 1's peer address; no two processes share an "
                        + "address");
        refused(replace(VALID, "peer: 127.0.0.1:7103", "peer: 127.0.0.1:7202"), 5,
                "process 3: peer 127.0.0.1:7202 is already process 2's client address; no two processes share "
                        + "an address");
        refused(replace(VALID, "client: \"127.0.0.1:7201\"", "client: \"127.0.0.1:7101\""), 2,
                "process 1: client 127.0.0.1:7101 is also its peer address; peers and clients need two ports");
        refused(replace(VALID, "    client: 127.0.0.1:7203\n", ""), 4,
                "process 3: no 'client' (the address clients reach it at, host:port)");
        // IPv6 in brackets, and names, are fine; names compare without case
        String v6 = replace(VALID, "peer: 127.0.0.1:7103", "peer: \"[::1]:7103\"");
        assertThat(parsed(v6).processes().get(2).peer()).isEqualTo(new HostPort("::1", 7103));
        refused(replace(replace(VALID, "peer: 127.0.0.1:7103", "peer: Node-A:7103"), "\"127.0.0.1:7101\"",
                "\"node-a:7103\""), 5, "process 3: peer node-a:7103 is already process 1's peer address; no two "
                + "processes share an address");
    }

    @Test
    void dataDirsAreNotShared() {
        refused(replace(VALID, "client: \"127.0.0.1:7201\"}", "client: \"127.0.0.1:7201\", data-dir: "
                + "/var/lib/gnomon/x/../2}"), 3, "process 2: data-dir '/var/lib/gnomon/2' is process 1's too (on line "
                + "2); two processes cannot share one");
        refused(replace(VALID, "data-dir: /var/lib/gnomon/2", "data-dir: \"\""), 3,
                "process 2: data-dir '' must be a path: not empty, no control characters (leave it out for the "
                        + "server's default)");
    }

    @Test
    void oneThreeOrFiveReplicasDistinctAndKnown() {
        refused(replace(VALID, "replicas: [3]", "replicas: [3, 1]"), 13, "group 3: 2 replicas; a group has 1, 3 or 5 "
                + "(2 replicas need both for a majority, so they survive no more failures than 1 does, at twice the "
                + "cost)");
        refused(replace(VALID, "replicas: [3]", "replicas: [3, 1, 2, 4]"), 13, "group 3: 4 replicas; a group has 1, "
                + "3 or 5 (4 replicas need 3 for a majority, so they survive one failure, as 3 do, at the cost of a "
                + "fourth copy)");
        refused(replace(VALID, "replicas: [3]", "replicas: []"), 13,
                "group 3: 0 replicas; a group has 1, 3 or 5 (a group needs at least one replica)");
        refused(replace(VALID, "replicas: [3]", "replicas: [1, 2, 3, 4, 5, 6, 7]"), 13, "group 3: 7 replicas; a "
                + "group has 1, 3 or 5 (more than 5 replicas make every write wait for more of them than Gnomon "
                + "supports)");
        refused(replace(VALID, "replicas: [3]", "replicas: 3"), 13,
                "group 3: replicas must be a list of process ids, e.g. [1, 2, 3], not 3");
        refused(replace(VALID, "replicas: [2, 3, 1]", "replicas: [2, 3, 2]"), 9,
                "group 2: replica 2 is listed twice; a process holds one replica of a group");
        refused(replace(VALID, "replicas: [3]", "replicas:\n      - 7"), 14,
                "group 3: replica 7 is not a process of this cluster (processes are 1, 2, 3)");
        refused(replace(VALID, "replicas: [3]", "replicas: [0]"), 13,
                "group 3: replica must be a whole number from 1 to 2147483647, not 0");
    }

    @Test
    void rangesHaveStartBeforeEnd() {
        refused(replace(VALID, "{start: \"k\", end: \"t\"}", "{start: \"k\", end: \"k\"}"), 9, "group 2: range "
                + "start \"k\" is not before its end \"k\" (keys compare as unsigned bytes; an empty end is the end "
                + "of the key space)");
        refused(replace(VALID, "{start: \"k\", end: \"t\"}", "{start: \"t\", end: \"k\"}"), 9, "group 2: range "
                + "start \"t\" is not before its end \"k\" (keys compare as unsigned bytes; an empty end is the end "
                + "of the key space)");
        refused(replace(VALID, "start: \"t\"", "start: 10"), 12, "group 3: range start must be text, not 10 "
                + "(quote a key that YAML would read as a number or true/false: \"10\")");
        refused(replace(VALID, "start: \"t\"", "start: \"hex:0g\""), 12,
                "group 3: range start 'hex:0g' is not hex: followed by two hex digits (0-9, a-f) per byte");
        refused(replace(VALID, "start: \"t\"", "start: \"hex:abc\""), 12,
                "group 3: range start 'hex:abc' is not hex: followed by two hex digits (0-9, a-f) per byte");
        refused(replace(VALID, "range:\n      start: \"t\"", "range: \"t\""), 11,
                "group 3: range must be a mapping, e.g. {start: \"a\", end: \"k\"}, not 't'");
    }

    @Test
    void rangesTileTheKeySpace() {
        refused(replace(VALID, "{start: \"k\", end: \"t\"}", "{start: \"j\", end: \"t\"}"), 9, "groups 1 and 2 "
                + "overlap: group 1 holds [\"\", \"k\") and group 2 holds [\"j\", \"t\") (group 1 on line 8)");
        refused(replace(VALID, "{start: \"k\", end: \"t\"}", "{start: \"l\", end: \"t\"}"), 9, "no group holds "
                + "the keys from \"k\" up to \"l\": group 1 ends at \"k\" and the next, group 2, starts at \"l\"");
        refused(replace(VALID, "{start: \"\", end: \"k\"}", "{start: \"a\", end: \"k\"}"), 8, "no group holds the "
                + "keys from the beginning of the key space up to \"a\": the first group, group 1, starts there (one "
                + "group's start must be \"\", the beginning)");
        refused(replace(VALID, "start: \"t\"", "start: \"t\"\n      end: \"z\""), 13, "no group holds the keys "
                + "from \"z\" to the end of the key space: the last group, group 3, ends there (one group's end must "
                + "be empty or absent, the end)");
        // an unbounded group that is not the last overlaps the ones after it
        refused(replace(VALID, "{start: \"k\", end: \"t\"}", "{start: \"k\"}"), 11, "groups 2 and 3 overlap: "
                + "group 2 holds [\"k\", end) and group 3 holds [\"t\", end) (group 2 on line 9)");
        // a null start is the beginning, as an absent one is
        refused(replace(VALID, "{start: \"\", end: \"k\"}", "{start: ~, end: \"k\"}") + "  - {id: 4, range: "
                + "{end: \"b\"}, replicas: [1]}\n", 14, "groups 1 and 4 overlap: group 1 holds [\"\", \"k\") and "
                + "group 4 holds [\"\", \"b\") (group 1 on line 8)");
    }

    @Test
    void atLeastOneProcessAndOneGroup() {
        assertThat(refused("").getMessage()).isEqualTo("cluster.yaml: empty; a cluster file names at least one "
                + "process and one group (docs/cluster-file.md)");
        assertThat(refused("# nothing here\n").getMessage()).startsWith("cluster.yaml: empty;");
        refused("processes: []\ngroups: []\n", 1, "no processes; a cluster has at least one");
        refused(VALID.substring(VALID.indexOf("groups:")), 1, "no 'processes:'; a cluster has at least one "
                + "process; write 'processes:' and one '- {id: 1, peer: \"host:port\", client: \"host:port\"}' per "
                + "process");
        refused(VALID.substring(0, VALID.indexOf("groups:")) + "groups:\n", 7, "'groups:' is empty; a cluster has "
                + "at least one group; write 'groups:' and one '- {id: 1, range: {start: \"\", end: \"\"}, "
                + "replicas: [1]}' per group");
        refused(VALID.substring(0, VALID.indexOf("groups:")) + "groups: []\n", 7,
                "no groups; a cluster has at least one, and its groups hold every key");
        refused("- 1\n- 2\n", 1, "a cluster file is a mapping with 'processes:' and 'groups:' at the top, not a list");
        refused("processes: {id: 1}\n", 1, "'processes' must be a list (one '- ...' per item), not a mapping");
    }

    @Test
    void limitsOnProcessesGroupsFileAndKeys() throws Exception {
        ClusterLimits small = new ClusterLimits(3, 3, 10_000, 4);
        assertThat(ClusterFile.parse(VALID, "cluster.yaml", small).groups()).hasSize(3);
        ClusterFileException e = assertThrows(() -> ClusterFile.parse(VALID.replace("processes:\n",
                "processes:\n  - {id: 9, peer: \"h:1\", client: \"h:2\"}\n"), "cluster.yaml", small));
        assertThat(e.getMessage()).isEqualTo("cluster.yaml line 5: more than 3 items in 'processes', the limit (a "
                + "generator gone wrong?)");
        e = assertThrows(() -> ClusterFile.parse(VALID + "  - {id: 4, range: {start: \"z\"}, replicas: [1]}\n",
                "cluster.yaml", small));
        assertThat(e.getMessage()).isEqualTo("cluster.yaml line 14: more than 3 items in 'groups', the limit (a "
                + "generator gone wrong?)");
        e = assertThrows(() -> ClusterFile.parse(VALID, "cluster.yaml", new ClusterLimits(3, 3, 100, 4)));
        assertThat(e.getMessage()).startsWith("cluster.yaml: " + VALID.length() + " characters, more than the limit "
                + "of 100");
        String longKey = replace(VALID, "start: \"t\"", "start: \"tttt\"").replace("end: \"t\"", "end: \"tttt\"");
        assertThat(ClusterFile.parse(longKey, "cluster.yaml", small).groups()).hasSize(3);
        e = assertThrows(() -> ClusterFile.parse(longKey.replace("tttt", "ttttt"), "cluster.yaml", small));
        assertThat(e.getMessage()).isEqualTo("cluster.yaml line 9: group 2: range end is 5 bytes, more than the limit "
                + "of 4");
    }

    @Test
    void theDefaultLimitsAdmitOneHundredThousandGroupsAndNoMore() throws Exception {
        // one parse at the limit (the file is about 8 MiB: past SnakeYAML's own 3 MB default, which is raised);
        // one past it is refused as the list streams in, shown above with small limits, and here in code
        ClusterSpec big = ClusterSpec.evenlySplit(5, ClusterLimits.DEFAULT.maxGroups(), 3, "127.0.0.1", 7101);
        String text = ClusterFile.write(big);
        assertThat(text.length()).isLessThan(ClusterLimits.DEFAULT.maxFileBytes());
        assertThat(ClusterFile.parse(text, "big.yaml")).isEqualTo(big);
        assertThatThrownBy(() -> ClusterSpec.evenlySplit(5, ClusterLimits.DEFAULT.maxGroups() + 1, 3, "h", 7101))
                .hasMessage("more than 100000 groups, the limit (a generator gone wrong?)");
        assertThatThrownBy(() -> ClusterSpec.evenlySplit(ClusterLimits.DEFAULT.maxProcesses() + 1, 1, 1, "h", 7101))
                .hasMessage("more than 1000 processes, the limit (a generator gone wrong?)");
    }

    @Test
    void yamlProblemsInPlainWords() {
        ClusterFileException e = refused(replace(VALID, "    peer: 127.0.0.1:7103", "\tpeer: 127.0.0.1:7103"));
        assertThat(e.getMessage()).startsWith("cluster.yaml line 5, column 1: not valid YAML: a tab character; YAML "
                + "indents with spaces only");
        e = refused(replace(VALID, "[1, 2, 3]}", "[1, 2, 3}"));
        assertThat(e.getMessage()).startsWith("cluster.yaml line 8, column ");
        assertThat(e.line()).isEqualTo(8);
        refused(replace(VALID, "  - id: 3\n    peer", "  - id: 3\n    id: 4\n    peer"), 5,
                "'id' is given twice in one mapping (first on line 4)");
        refused(replace(VALID, "{id: 2, peer", "{id: *two, peer").replace("{id: 1, peer", "{id: &two 1, peer"), 3,
                "an alias (*name); a cluster file writes every value out");
        refused(VALID + "---\nprocesses: []\n", 15, "a second YAML document; a cluster file holds one");
    }

    @Test
    void hexKeysAndUtf8Keys() throws Exception {
        String text = replace(replace(VALID, "end: \"k\"", "end: \"hex:00ff\""), "start: \"k\"", "start: \"hex:00FF\"")
                .replace("\"t\"", "\"ünïcödé\"");
        ClusterSpec c = ClusterFile.parse(text, "cluster.yaml");
        assertThat(c.groups().get(0).range().end().bytes()).containsExactly(0x00, 0xff);
        assertThat(c.groups().get(2).range().start().bytes())
                .isEqualTo("ünïcödé".getBytes(StandardCharsets.UTF_8));
        assertThat(ClusterFile.parse(ClusterFile.write(c), "again.yaml")).isEqualTo(c);
    }

    @Test
    void loadNamesTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("cluster.yaml");
        Files.writeString(file, replace(VALID, "replicas: [3]", "replicas: [7]"));
        ClusterFileException e = assertThrows(() -> ClusterFile.load(file));
        assertThat(e.getMessage()).isEqualTo("cluster.yaml line 13: group 3: replica 7 is not a process of this "
                + "cluster (processes are 1, 2, 3)");
        e = assertThrows(() -> ClusterFile.load(dir.resolve("missing.yaml")));
        assertThat(e.getMessage()).isEqualTo(dir.resolve("missing.yaml") + ": no such file");
        Files.writeString(file, VALID + "# " + "x".repeat(200) + "\n");
        e = assertThrows(() -> ClusterFile.load(file, new ClusterLimits(3, 3, VALID.length() + 100, 8)));
        assertThat(e.getMessage()).isEqualTo(file + ": " + Files.size(file) + " bytes, more than the limit of "
                + (VALID.length() + 100) + " (a generator gone wrong?)");
        assertThat(e.line()).isZero();
        Files.write(file, new byte[] {'p', ':', ' ', (byte) 0xc3, (byte) 0x28});
        e = assertThrows(() -> ClusterFile.load(file));
        assertThat(e.getMessage()).isEqualTo(file + ": not UTF-8 text (write other bytes in keys as hex:...)");
    }

    @Test
    void specsBuiltInCodeFollowTheSameRules() {
        List<ProcessSpec> ps = List.of(new ProcessSpec(1, new HostPort("h", 1), new HostPort("h", 2),
                Optional.empty()));
        assertThatThrownBy(() -> ClusterSpec.of(ps, List.of(new GroupSpec(1, new KeyRange(Key.EMPTY, Key.ofUtf8("m")),
                List.of(1))))).isInstanceOf(IllegalArgumentException.class).hasMessage("no group holds the keys from "
                + "\"m\" to the end of the key space: the last group, group 1, ends there (one group's end must be "
                + "empty or absent, the end)");
        assertThatThrownBy(() -> new GroupSpec(1, KeyRange.ALL, List.of(1, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("group 1: 2 replicas;");
        assertThatThrownBy(() -> ClusterSpec.of(ps, List.of(new GroupSpec(1, KeyRange.ALL, List.of(2)))))
                .hasMessage("group 1: replica 2 is not a process of this cluster (processes are 1)");
        assertThatThrownBy(() -> ClusterSpec.of(ps, List.of(new GroupSpec(1, KeyRange.ALL, List.of(1)))).groupsOf(5))
                .hasMessage("process 5 is not a process of this cluster (processes are 1)");
    }

    static ClusterSpec parsed(String text) {
        try {
            return ClusterFile.parse(text, "cluster.yaml");
        } catch (ClusterFileException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    interface Call {
        void run() throws Exception;
    }

    static ClusterFileException assertThrows(Call call) {
        try {
            call.run();
        } catch (ClusterFileException e) {
            return e;
        } catch (Exception e) {
            throw new AssertionError("threw " + e, e);
        }
        throw new AssertionError("no ClusterFileException");
    }
}
