/*
 * replay_main.c: runs a libFuzzer driver over a saved corpus without
 * libFuzzer, so every compiler can replay the corpus as an ordinary test.
 *
 * Usage: <driver>_replay PATH... where each PATH is a file or a directory
 * whose regular files (not recursing, skipping dot files, in name order) are
 * inputs. Each input is read into an exact-size heap buffer and passed to
 * LLVMFuzzerTestOneInput, after LLVMFuzzerInitialize if the driver defines
 * it. The driver aborts on a broken invariant; this program fails if a path
 * cannot be read or no input was found, so a lost corpus is not a pass.
 * Generic over drivers: link it with any file defining LLVMFuzzerTestOneInput.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        free(buf);
        return -1;
    }
    /* An exact-size copy, so a read past the end is a sanitizer report. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) abort();
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int is_input(const struct dirent *d) {
    return d->d_name[0] != '.';
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    unsigned long ran = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) == 0)
                ran++;
            else
                rc = 1;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, is_input, alphasort);
        if (n < 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
            continue;
        }
        for (int j = 0; j < n; j++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]->d_name);
            free(names[j]);
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            if (run_file(path) == 0)
                ran++;
            else
                rc = 1;
        }
        free(names);
    }
    printf("replayed %lu inputs\n", ran);
    if (ran == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    return rc;
}
