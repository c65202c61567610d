package io.gnomon.paxos.cluster;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The rules between the items of a cluster (ids and addresses unique, replicas known, ranges tiling the key space),
 * checked once for a file, where each message names the line, and once for a {@link ClusterSpec} built in code.
 */
final class ClusterRules {
    private ClusterRules() {
    }

    static final Set<Integer> ALLOWED_REPLICAS = Set.of(1, 3, 5);

    /** Where an item of the file is; {@link #NONE} for a spec built in code, whose messages name no line. */
    interface Where {
        /** "cluster.yaml", to start messages with; null for none. */
        String file();

        /** The line of a process's field ({@code "id"}, {@code "peer"}, ...), or of the item when it has none. */
        int processLine(int index, String field);

        /** The line of a group's field; for {@code "replicas"}, of its {@code element}-th replica. */
        int groupLine(int index, String field, int element);

        Where NONE = new Where() {
            @Override
            public String file() {
                return null;
            }

            @Override
            public int processLine(int index, String field) {
                return 0;
            }

            @Override
            public int groupLine(int index, String field, int element) {
                return 0;
            }
        };
    }

    static ClusterFileException problem(Where where, int line, String message) {
        if (where.file() == null) {
            return new ClusterFileException(message, 0);
        }
        return new ClusterFileException(where.file() + (line > 0 ? " line " + line : "") + ": " + message, line);
    }

    /** Why a group has 1, 3 or 5 replicas, for a count that is not one of them. */
    static String replicaCountRule(int count) {
        String why = switch (count) {
            case 0 -> "a group needs at least one replica";
            case 2 -> "2 replicas need both for a majority, so they survive no more failures than 1 does, at twice "
                    + "the cost";
            case 4 -> "4 replicas need 3 for a majority, so they survive one failure, as 3 do, at the cost of a "
                    + "fourth copy";
            default -> count % 2 == 0
                    ? "an even number of replicas survives no more failures than one fewer"
                    : "more than 5 replicas make every write wait for more of them than Gnomon supports";
        };
        return count + " replica" + (count == 1 ? "" : "s") + "; a group has 1, 3 or 5 (" + why + ")";
    }

    /** Every rule between items; the first broken one, in file order within each rule, is the message. */
    static void check(List<ProcessSpec> processes, List<GroupSpec> groups, ClusterLimits limits, Where where)
            throws ClusterFileException {
        counts(processes.size(), groups.size(), limits, where);
        Map<Integer, Integer> processIndex = new HashMap<>();
        Map<HostPort, String> addresses = new HashMap<>();
        Map<Path, Integer> dataDirs = new HashMap<>();
        for (int i = 0; i < processes.size(); i++) {
            ProcessSpec p = processes.get(i);
            Integer earlier = processIndex.putIfAbsent(p.id(), i);
            if (earlier != null) {
                throw problem(where, where.processLine(i, "id"), "process id " + p.id() + " is used twice (first "
                        + at(where.processLine(earlier, "id")) + "); ids are unique");
            }
            if (p.peer().equals(p.client())) {
                throw problem(where, where.processLine(i, "client"), "process " + p.id() + ": client " + p.client()
                        + " is also its peer address; peers and clients need two ports");
            }
            address(addresses, p, "peer", p.peer(), where.processLine(i, "peer"), where);
            address(addresses, p, "client", p.client(), where.processLine(i, "client"), where);
            if (p.dataDir().isPresent()) {
                Path dir = p.dataDir().get().normalize();
                Integer other = dataDirs.putIfAbsent(dir, i);
                if (other != null) {
                    throw problem(where, where.processLine(i, "data-dir"), "process " + p.id() + ": data-dir '"
                            + p.dataDir().get() + "' is process " + processes.get(other).id() + "'s too ("
                            + at(where.processLine(other, "data-dir")) + "); two processes cannot share one");
                }
            }
        }
        Map<Integer, Integer> groupIndex = new HashMap<>();
        for (int g = 0; g < groups.size(); g++) {
            GroupSpec group = groups.get(g);
            Integer earlier = groupIndex.putIfAbsent(group.id(), g);
            if (earlier != null) {
                throw problem(where, where.groupLine(g, "id", 0), "group id " + group.id() + " is used twice (first "
                        + at(where.groupLine(earlier, "id", 0)) + "); ids are unique");
            }
            for (int r = 0; r < group.replicas().size(); r++) {
                int replica = group.replicas().get(r);
                if (!processIndex.containsKey(replica)) {
                    throw problem(where, where.groupLine(g, "replicas", r), "group " + group.id() + ": replica "
                            + replica + " is not a process of this cluster (processes are " + ids(processes) + ")");
                }
            }
        }
        tiling(groups, where);
    }

    static void counts(int processes, int groups, ClusterLimits limits, Where where) throws ClusterFileException {
        if (processes == 0) {
            throw problem(where, 0, "no processes; a cluster has at least one");
        }
        if (processes > limits.maxProcesses()) {
            throw problem(where, where.processLine(limits.maxProcesses(), "id"), "more than "
                    + limits.maxProcesses() + " processes, the limit (a generator gone wrong?)");
        }
        if (groups == 0) {
            throw problem(where, 0, "no groups; a cluster has at least one, and its groups hold every key");
        }
        if (groups > limits.maxGroups()) {
            throw problem(where, where.groupLine(limits.maxGroups(), "id", 0), "more than " + limits.maxGroups()
                    + " groups, the limit (a generator gone wrong?)");
        }
    }

    private static void address(Map<HostPort, String> seen, ProcessSpec p, String field, HostPort a, int line,
                                Where where) throws ClusterFileException {
        String owner = "process " + p.id() + "'s " + field + " address";
        String other = seen.putIfAbsent(a, owner);
        if (other != null) {
            throw problem(where, line, "process " + p.id() + ": " + field + " " + a + " is already " + other
                    + "; no two processes share an address");
        }
    }

    /** The groups sorted by start must run from the beginning to the end with each start the previous end. */
    private static void tiling(List<GroupSpec> groups, Where where) throws ClusterFileException {
        Integer[] order = new Integer[groups.size()];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparing(i -> groups.get(i).range().start()));
        GroupSpec first = groups.get(order[0]);
        if (!first.range().start().isEmpty()) {
            throw problem(where, where.groupLine(order[0], "start", 0), "no group holds the keys from the beginning "
                    + "of the key space up to " + first.range().start() + ": the first group, group " + first.id()
                    + ", starts there (one group's start must be \"\", the beginning)");
        }
        for (int k = 1; k < order.length; k++) {
            int ai = order[k - 1];
            int bi = order[k];
            GroupSpec a = groups.get(ai);
            GroupSpec b = groups.get(bi);
            int cmp = a.range().isUnbounded() ? 1 : a.range().end().compareTo(b.range().start());
            if (cmp > 0) {
                int later = Math.max(ai, bi);
                int earlier = Math.min(ai, bi);
                throw problem(where, where.groupLine(later, "range", 0), "groups " + groups.get(earlier).id()
                        + " and " + groups.get(later).id() + " overlap: group " + a.id() + " holds " + a.range()
                        + " and group " + b.id() + " holds " + b.range() + " (group " + groups.get(earlier).id() + " "
                        + at(where.groupLine(earlier, "range", 0)) + ")");
            }
            if (cmp < 0) {
                throw problem(where, where.groupLine(bi, "start", 0), "no group holds the keys from "
                        + a.range().end() + " up to " + b.range().start() + ": group " + a.id() + " ends at "
                        + a.range().end() + " and the next, group " + b.id() + ", starts at " + b.range().start());
            }
        }
        GroupSpec last = groups.get(order[order.length - 1]);
        if (!last.range().isUnbounded()) {
            throw problem(where, where.groupLine(order[order.length - 1], "end", 0), "no group holds the keys from "
                    + last.range().end() + " to the end of the key space: the last group, group " + last.id()
                    + ", ends there (one group's end must be empty or absent, the end)");
        }
    }

    private static String at(int line) {
        return line > 0 ? "on line " + line : "earlier";
    }

    /** "1, 2, 3", or the first ten and a count. */
    static String ids(List<ProcessSpec> processes) {
        List<Integer> ids = new ArrayList<>(processes.stream().map(ProcessSpec::id).sorted().toList());
        String shown = ids.stream().limit(10).map(String::valueOf).collect(Collectors.joining(", "));
        return ids.size() <= 10 ? shown : shown + ", ... (" + ids.size() + " in all)";
    }
}
