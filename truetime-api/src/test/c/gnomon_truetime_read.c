/*
 * A Gnomon TrueTime segment reader in C, written from docs/shm-segment.md alone.
 *
 *   gcc -O2 -std=c11 -Wall -Wextra -o gnomon_truetime_read gnomon_truetime_read.c
 *   ./gnomon_truetime_read [/dev/shm/gnomon-truetime] [--accept-unverified]
 *
 * Prints "earliest latest status" (nanoseconds since the Unix epoch) and exits 0, or prints the reason the
 * clock is not usable on stderr and exits 2 (bad segment: 1). Little-endian hosts only (x86-64, arm64):
 * the fields are read in place. truetime-api's CReaderTest compiles it and checks it against the Java reader.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEGMENT_SIZE 128
#define SPIN_ATTEMPTS 1000
#define BACKOFF_NANOS 50000L
#define MAX_READ_ATTEMPTS (SPIN_ATTEMPTS + 400) /* about 20 ms in all */
#define MAX_DRIFT_PPB_LIMIT 100000000LL
#define SATURATED_BOUND (INT64_MAX / 4)

enum { UNKNOWN = 0, SYNCHRONIZED = 1, FREE_RUNNING = 2, UNSYNCHRONIZED = 3, UNVERIFIED = 4 };

struct snapshot {
    int64_t as_of_monotonic, epoch_offset, bound, void_after_monotonic, max_drift_ppb;
    int32_t status;
};

static int64_t load_i64(const uint8_t *seg, int off) {
    return __atomic_load_n((const int64_t *) (seg + off), __ATOMIC_RELAXED);
}

static int32_t load_i32(const uint8_t *seg, int off) {
    return __atomic_load_n((const int32_t *) (seg + off), __ATOMIC_RELAXED);
}

/* The seqlock read: 1 on success, 0 if the segment stayed mid-write for MAX_READ_ATTEMPTS tries. */
static int read_snapshot(const uint8_t *seg, struct snapshot *s) {
    for (int attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
        uint64_t seq = __atomic_load_n((const uint64_t *) (seg + 8), __ATOMIC_ACQUIRE);
        s->as_of_monotonic = load_i64(seg, 16);
        s->epoch_offset = load_i64(seg, 24);
        s->bound = load_i64(seg, 32);
        s->void_after_monotonic = load_i64(seg, 40);
        s->max_drift_ppb = load_i64(seg, 48);
        s->status = load_i32(seg, 56);
        __atomic_thread_fence(__ATOMIC_ACQUIRE); /* the field loads complete before the re-check */
        if ((seq & 1) == 0 && seq != 0 && seq == __atomic_load_n((const uint64_t *) (seg + 8), __ATOMIC_RELAXED)) {
            return 1;
        }
        if (attempt < SPIN_ATTEMPTS) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else { /* a live writer preempted mid-write resumes after a scheduling quantum: wait for it */
            struct timespec pause = {0, BACKOFF_NANOS};
            nanosleep(&pause, NULL);
        }
    }
    return 0;
}

/* bound + ceil(|elapsed| * drift / 1e9), saturating at SATURATED_BOUND (docs/shm-segment.md, "Arithmetic"). */
static int64_t bound_at(int64_t bound, int64_t drift_ppb, int64_t elapsed) {
    uint64_t e = elapsed < 0 ? (uint64_t) 0 - (uint64_t) elapsed : (uint64_t) elapsed;
    if (e > (uint64_t) INT64_MAX) {
        return SATURATED_BOUND;
    }
    int64_t seconds = (int64_t) (e / 1000000000ULL);
    int64_t rest = (int64_t) (e % 1000000000ULL);
    if (seconds > SATURATED_BOUND / (drift_ppb > 0 ? drift_ppb : 1)) {
        return SATURATED_BOUND;
    }
    int64_t growth = seconds * drift_ppb + (rest * drift_ppb + 999999999LL) / 1000000000LL;
    uint64_t sum = (uint64_t) bound + (uint64_t) growth; /* both >= 0: no signed overflow */
    return sum > (uint64_t) SATURATED_BOUND ? SATURATED_BOUND : (int64_t) sum;
}

int main(int argc, char **argv) {
    const char *path = "/dev/shm/gnomon-truetime";
    int accept_unverified = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--accept-unverified") == 0) {
            accept_unverified = 1;
        } else {
            path = argv[i];
        }
    }

    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "%s: no TrueTime segment: %s\n", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < SEGMENT_SIZE) {
        fprintf(stderr, "%s: segment is %lld bytes, expected at least %d\n", path, (long long) st.st_size, SEGMENT_SIZE);
        return 1;
    }
    const uint8_t *seg = mmap(NULL, SEGMENT_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (seg == MAP_FAILED) {
        fprintf(stderr, "%s: mmap: %s\n", path, strerror(errno));
        return 1;
    }
    if (memcmp(seg, "GNMN", 4) != 0) {
        fprintf(stderr, "%s: wrong magic (not a Gnomon TrueTime segment)\n", path);
        return 1;
    }
    uint16_t version = (uint16_t) (seg[4] | seg[5] << 8);
    if (version != 1) {
        fprintf(stderr, "%s: segment layout version %u, this reader supports 1\n", path, version);
        return 1;
    }

    struct snapshot s;
    if (!read_snapshot(seg, &s)) {
        fprintf(stderr, "%s: never published, or stayed mid-write (status UNKNOWN)\n", path);
        return 2;
    }
    struct timespec ts; /* read after the snapshot */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;

    int usable = s.status == SYNCHRONIZED || s.status == FREE_RUNNING || (accept_unverified && s.status == UNVERIFIED);
    if (!usable) {
        fprintf(stderr, "%s: status %d is not usable\n", path, s.status);
        return 2;
    }
    if ((int64_t) ((uint64_t) now - (uint64_t) s.void_after_monotonic) > 0) {
        fprintf(stderr, "%s: snapshot is void (status UNKNOWN)\n", path);
        return 2;
    }
    if (s.bound < 0 || s.max_drift_ppb < 0 || s.max_drift_ppb > MAX_DRIFT_PPB_LIMIT) {
        fprintf(stderr, "%s: corrupt snapshot (status UNKNOWN)\n", path);
        return 2;
    }
    int64_t b = bound_at(s.bound, s.max_drift_ppb, (int64_t) ((uint64_t) now - (uint64_t) s.as_of_monotonic));
    int64_t mid = (int64_t) ((uint64_t) now + (uint64_t) s.epoch_offset);
    printf("%lld %lld %d\n", (long long) (mid - b), (long long) (mid + b), s.status);
    return 0;
}
