package io.gnomon.spanner.check;

import java.util.Arrays;

/** Growable arrays of primitives: the checker keeps per-transaction and per-read facts without boxing. */
final class Growable {
    private Growable() {
    }

    static final class Ints {
        private int[] a = new int[16];
        private int size;

        void add(int v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, a.length * 2);
            }
            a[size++] = v;
        }

        int get(int i) {
            return a[i];
        }

        void set(int i, int v) {
            a[i] = v;
        }

        int size() {
            return size;
        }

        void removeSwap(int i) {
            a[i] = a[--size];
        }
    }

    static final class Longs {
        private long[] a = new long[16];
        private int size;

        void add(long v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, a.length * 2);
            }
            a[size++] = v;
        }

        long get(int i) {
            return a[i];
        }

        void set(int i, long v) {
            a[i] = v;
        }

        int size() {
            return size;
        }
    }
}
