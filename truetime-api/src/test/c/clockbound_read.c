/*
 * A ClockBound shared-memory segment reader (protocol version 2) in C, written from the protocol document
 * alone (docs/PROTOCOL.md in ClockBound's public repository, restated in docs/clockbound-segment.md).
 *
 *   gcc -O2 -std=c11 -Wall -Wextra -o clockbound_read clockbound_read.c
 *   ./clockbound_read [/var/run/clockbound/shm0]
 *
 * Prints "earliest latest status generation bound_ns as_of_ns" (interval in nanoseconds since the Unix
 * epoch, as_of in CLOCK_MONOTONIC_COARSE nanoseconds) and exits 0; exits 2 if the clock is not usable (the
 * reason on stderr) and 1 if the file is not a ClockBound v2 segment. Fields are native-endian, read in place.
 *
 * The client arithmetic of the protocol: read CLOCK_REALTIME, then CLOCK_MONOTONIC_COARSE;
 *   bound = bound_ns + max_drift_ppb * (coarse_now - as_of) / 1e9   (rounded up here)
 *   [realtime - bound, realtime + bound], while coarse_now is before void_after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEADER_SIZE 16
#define SEGMENT_SIZE 80 /* header + as_of 16 + void_after 16 + bound 8 + marker 8 + drift 4 + status 4 + flag 1, padded to 8 */
#define MAX_ATTEMPTS 1400

struct bound {
    int64_t as_of_sec, as_of_nsec, void_after_sec, void_after_nsec, bound_ns;
    uint64_t disruption_marker;
    uint32_t max_drift_ppb;
    int32_t clock_status;
    uint8_t disruption_support;
    uint16_t generation;
};

static int64_t ts_ns(int64_t sec, int64_t nsec) { return sec * 1000000000LL + nsec; }

static int64_t now_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts_ns(ts.tv_sec, ts.tv_nsec);
}

/* The generation protocol: an even, unchanged generation around the field reads. 1 = consistent. */
static int read_bound(const uint8_t *seg, struct bound *b) {
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        uint16_t g1 = __atomic_load_n((const uint16_t *) (seg + 14), __ATOMIC_ACQUIRE);
        memcpy(&b->as_of_sec, seg + 16, 8);
        memcpy(&b->as_of_nsec, seg + 24, 8);
        memcpy(&b->void_after_sec, seg + 32, 8);
        memcpy(&b->void_after_nsec, seg + 40, 8);
        memcpy(&b->bound_ns, seg + 48, 8);
        memcpy(&b->disruption_marker, seg + 56, 8);
        memcpy(&b->max_drift_ppb, seg + 64, 4);
        memcpy(&b->clock_status, seg + 68, 4);
        b->disruption_support = seg[72];
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint16_t g2 = __atomic_load_n((const uint16_t *) (seg + 14), __ATOMIC_RELAXED);
        if (g1 == g2 && (g1 & 1) == 0) {
            b->generation = g1;
            return g1 != 0;
        }
        struct timespec pause = {0, attempt < 1000 ? 0 : 50000};
        if (attempt >= 1000) nanosleep(&pause, NULL);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/var/run/clockbound/shm0";
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < SEGMENT_SIZE) {
        fprintf(stderr, "%s: %lld bytes, a v2 segment has %d\n", path, (long long) st.st_size, SEGMENT_SIZE);
        return 1;
    }
    const uint8_t *seg = mmap(NULL, SEGMENT_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (seg == MAP_FAILED) {
        fprintf(stderr, "%s: mmap: %s\n", path, strerror(errno));
        return 1;
    }
    /* Magic: the protocol's bytes 41 4D 5A 4E | 43 42 02 00, as two native 32-bit words. */
    uint32_t magic[2], segsize;
    uint16_t version;
    memcpy(magic, seg, 8);
    memcpy(&segsize, seg + 8, 4);
    memcpy(&version, seg + 12, 2);
    if (magic[0] != 0x414D5A4Eu || magic[1] != 0x43420200u) {
        fprintf(stderr, "%s: wrong magic\n", path);
        return 1;
    }
    if (version != 2) {
        fprintf(stderr, "%s: version %u, this reader supports 2\n", path, version);
        return 1;
    }
    if (segsize < SEGMENT_SIZE) {
        fprintf(stderr, "%s: segment size %u below %d\n", path, segsize, SEGMENT_SIZE);
        return 1;
    }

    struct bound b;
    if (!read_bound(seg, &b)) {
        fprintf(stderr, "%s: never written, or stayed mid-write\n", path);
        return 2;
    }
    int64_t real = now_ns(CLOCK_REALTIME);           /* realtime first ... */
    int64_t mono = now_ns(CLOCK_MONOTONIC_COARSE);   /* ... then the monotonic clock */
    int64_t as_of = ts_ns(b.as_of_sec, b.as_of_nsec);
    int64_t void_after = ts_ns(b.void_after_sec, b.void_after_nsec);
    if (b.clock_status != 1 && b.clock_status != 2) {
        fprintf(stderr, "%s: clock status %d is not usable\n", path, b.clock_status);
        return 2;
    }
    if (mono >= void_after) {
        fprintf(stderr, "%s: bound is void (past void_after)\n", path);
        return 2;
    }
    int64_t elapsed = mono > as_of ? mono - as_of : 0;
    int64_t growth = (int64_t) (((__int128) elapsed * b.max_drift_ppb + 999999999) / 1000000000);
    int64_t bound = b.bound_ns + growth;
    printf("%lld %lld %d %u %lld %lld\n", (long long) (real - bound), (long long) (real + bound), b.clock_status,
           b.generation, (long long) b.bound_ns, (long long) as_of);
    return 0;
}
