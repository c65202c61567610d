package io.gnomon.paxos.cluster;

import java.util.List;
import java.util.Locale;

/** The known field nearest an unknown one, by edit distance, when it is near enough to be a typo. */
final class DidYouMean {
    private DidYouMean() {
    }

    /** The closest of {@code known} within 2 edits (1 for words of up to 4 letters); null when none is. */
    static String closest(String word, List<String> known) {
        String w = word.toLowerCase(Locale.ROOT);
        if (w.length() > 64) {
            return null;
        }
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(w, k);
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        int allowed = Math.min(word.length(), best == null ? 0 : best.length()) <= 4 ? 1 : 2;
        return bestDistance <= allowed ? best : null;
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }
}
