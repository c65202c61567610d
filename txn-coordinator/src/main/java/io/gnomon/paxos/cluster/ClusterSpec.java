package io.gnomon.paxos.cluster;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A valid cluster: its processes and its groups, whose ranges tile the key space. Immutable. Read one with
 * {@link ClusterFile#load}, or make one for a test or a benchmark with {@link #evenlySplit}:
 * <pre>{@code
 * ClusterSpec cluster = ClusterFile.load(Path.of("deploy/cluster/example-3x16.yaml"));
 * GroupSpec group = cluster.groupFor("user/42".getBytes(UTF_8));   // the one group holding the key
 * List<GroupSpec> mine = cluster.groupsOf(2);                        // what process 2 hosts
 * }</pre>
 */
public final class ClusterSpec {
    private final List<ProcessSpec> processes;
    private final List<GroupSpec> groups;
    /** The groups in key order, and their starts: {@link #groupFor} searches these. */
    private final GroupSpec[] byStart;
    private final Key[] starts;
    private final Map<Integer, List<GroupSpec>> groupsByProcess;

    /**
     * A cluster of these processes and groups, in this order.
     *
     * @throws IllegalArgumentException naming the first rule of docs/cluster-file.md the two lists break
     */
    public static ClusterSpec of(List<ProcessSpec> processes, List<GroupSpec> groups) {
        try {
            ClusterRules.check(processes, groups, ClusterLimits.DEFAULT, ClusterRules.Where.NONE);
        } catch (ClusterFileException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return new ClusterSpec(processes, groups);
    }

    /** For lists {@link ClusterRules#check} has passed. */
    ClusterSpec(List<ProcessSpec> processes, List<GroupSpec> groups) {
        this.processes = List.copyOf(processes);
        this.groups = List.copyOf(groups);
        byStart = this.groups.toArray(GroupSpec[]::new);
        Arrays.sort(byStart, Comparator.comparing(g -> g.range().start()));
        starts = Arrays.stream(byStart).map(g -> g.range().start()).toArray(Key[]::new);
        Map<Integer, List<GroupSpec>> hosted = new HashMap<>();
        this.processes.forEach(p -> hosted.put(p.id(), new ArrayList<>()));
        for (GroupSpec g : this.groups) {
            for (int replica : g.replicas()) {
                hosted.get(replica).add(g);
            }
        }
        hosted.replaceAll((id, list) -> List.copyOf(list));
        groupsByProcess = Map.copyOf(hosted);
        assert starts.length > 0 && starts[0].isEmpty() && byStart[byStart.length - 1].range().isUnbounded();
    }

    /** The processes, in the file's order. */
    public List<ProcessSpec> processes() {
        return processes;
    }

    /** The groups, in the file's order. */
    public List<GroupSpec> groups() {
        return groups;
    }

    public Optional<ProcessSpec> process(int id) {
        return processes.stream().filter(p -> p.id() == id).findFirst();
    }

    /** The one group whose range holds this key (ranges tile the key space, so there is always one). */
    public GroupSpec groupFor(byte[] key) {
        // the last start <= key: starts are sorted, distinct, and the first is empty, so it exists
        int lo = 0;
        int hi = starts.length - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid].compareTo(key) <= 0) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        GroupSpec g = byStart[lo];
        assert g.range().contains(key) : g + " does not hold " + Arrays.toString(key);
        return g;
    }

    /**
     * The groups this process replicates, in the file's order.
     *
     * @throws IllegalArgumentException when no process has this id
     */
    public List<GroupSpec> groupsOf(int processId) {
        List<GroupSpec> hosted = groupsByProcess.get(processId);
        if (hosted == null) {
            throw new IllegalArgumentException("process " + processId + " is not a process of this cluster "
                    + "(processes are " + ClusterRules.ids(processes) + ")");
        }
        return hosted;
    }

    /**
     * A cluster for tests, benchmarks and the harness: processes 1..{@code processes} on {@code host}, process i
     * with its peer port at {@code firstPort + 2(i-1)} and its client port just above; groups 1..{@code groups}
     * splitting the key space evenly by their first bytes (fixed-width boundaries, the last group running to the
     * end); group g (from 0) replicated by processes g, g+1, ... (mod {@code processes}), so every process hosts
     * {@code groups * replicasPerGroup / processes} groups, give or take one, and leads as often.
     */
    public static ClusterSpec evenlySplit(int processes, int groups, int replicasPerGroup, String host,
                                          int firstPort) {
        if (processes < 1 || groups < 1 || replicasPerGroup > processes) {
            throw new IllegalArgumentException("evenlySplit: " + processes + " processes, " + groups + " groups, "
                    + replicasPerGroup + " replicas per group: need processes >= 1, groups >= 1 and no more "
                    + "replicas per group than processes");
        }
        if (firstPort < 1 || firstPort + 2L * processes - 1 > 65535) {
            throw new IllegalArgumentException("evenlySplit: ports " + firstPort + " to "
                    + (firstPort + 2L * processes - 1) + " are not all within 1-65535");
        }
        List<ProcessSpec> ps = new ArrayList<>();
        for (int i = 1; i <= processes; i++) {
            int peerPort = firstPort + 2 * (i - 1);
            ps.add(new ProcessSpec(i, new HostPort(host, peerPort), new HostPort(host, peerPort + 1),
                    Optional.empty()));
        }
        int width = 1;
        while (width < 8 && groups > 1L << (8 * width)) {
            width++;
        }
        List<GroupSpec> gs = new ArrayList<>();
        Key start = Key.EMPTY;
        for (int g = 0; g < groups; g++) {
            Key end = g == groups - 1 ? Key.EMPTY : boundary(g + 1, groups, width);
            List<Integer> replicas = new ArrayList<>();
            for (int r = 0; r < replicasPerGroup; r++) {
                replicas.add((g + r) % processes + 1);
            }
            gs.add(new GroupSpec(g + 1, new KeyRange(start, end), replicas));
            start = end;
        }
        return of(ps, gs);
    }

    /** floor(i * 256^width / n) as {@code width} big-endian bytes: strictly increasing in i when 256^width >= n. */
    private static Key boundary(int i, int n, int width) {
        java.math.BigInteger space = java.math.BigInteger.ONE.shiftLeft(8 * width);
        java.math.BigInteger v = space.multiply(java.math.BigInteger.valueOf(i)).divide(java.math.BigInteger.valueOf(n));
        byte[] raw = v.toByteArray();
        byte[] b = new byte[width];
        int copy = Math.min(raw.length, width);
        System.arraycopy(raw, raw.length - copy, b, width - copy, copy);
        return Key.of(b);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClusterSpec c && processes.equals(c.processes) && groups.equals(c.groups);
    }

    @Override
    public int hashCode() {
        return 31 * processes.hashCode() + groups.hashCode();
    }

    @Override
    public String toString() {
        return "ClusterSpec[" + processes.size() + " processes, " + groups.size() + " groups]";
    }
}
