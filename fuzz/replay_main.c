/*
 * fuzz/replay_main.c — run a fuzz target over files without libFuzzer.
 *
 * Linked with any fuzz_*.c in the sanitizer build so the corpora replay in
 * the normal test run (no clang needed there). Arguments are files or
 * directories (one level). Prints one PASS line per corpus; a crash or
 * sanitizer report ends the process, which the runner counts as failure.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_FILE (16u << 20)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    buf = malloc(REPLAY_MAX_FILE);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, REPLAY_MAX_FILE, f);
    fclose(f);
    /* an exact-size copy so ASan catches reads one past the input */
    {
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int total = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        int count = 0;

        if (stat(argv[i], &st) != 0) {
            printf("FAIL replay %s: missing\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *de;
            char path[4096];
            while (d && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
                if (replay_file(path) == 0)
                    count++;
            }
            if (d)
                closedir(d);
        } else if (replay_file(argv[i]) == 0) {
            count++;
        }
        total += count;
        printf("PASS replay %s (%d inputs)\n", argv[i], count);
    }
    return total > 0 ? 0 : 1;
}
