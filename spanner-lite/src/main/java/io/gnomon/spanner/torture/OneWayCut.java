package io.gnomon.spanner.torture;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The {@code partition-one-way} fault: links cut in one direction only, the same on every backend. Which of the
 * three shapes a window gets is drawn from the fault's random source:
 * <ul>
 *   <li>a deaf leader: it hears no one, everyone still hears it (its heartbeats arrive, the acknowledgements
 *       that renew its lease do not);</li>
 *   <li>a mute leader: no one hears it, it still hears everyone (the others elect a leader whose messages
 *       reach it);</li>
 *   <li>a deaf follower: it hears no one, everyone still hears it (it times out and campaigns, again and
 *       again, with ballots the others do hear).</li>
 * </ul>
 *
 * @param description what was cut, for the run's log
 * @param links       each directed link {@code {from, to}} that drops what {@code from} sends to {@code to}
 */
record OneWayCut(String description, List<int[]> links) {
    static OneWayCut choose(SplittableRandom random, int leader, List<Integer> others) {
        List<int[]> links = new ArrayList<>();
        switch (random.nextInt(3)) {
            case 0 -> {
                others.forEach(o -> links.add(new int[] {o, leader}));
                return new OneWayCut("one-way: leader " + leader + " deaf (hears no one, heard by all)", links);
            }
            case 1 -> {
                others.forEach(o -> links.add(new int[] {leader, o}));
                return new OneWayCut("one-way: leader " + leader + " mute (heard by no one, hears all)", links);
            }
            default -> {
                int follower = others.get(0);
                links.add(new int[] {leader, follower});
                others.stream().filter(o -> o != follower).forEach(o -> links.add(new int[] {o, follower}));
                return new OneWayCut("one-way: follower " + follower + " deaf (hears no one, heard by all)", links);
            }
        }
    }
}
