/*
 * The trusted native harness of the cpu platform: runs a candidate's `kernel` on buffers the runtime owns.
 *
 * No interpreter, no torch, no secrets: the candidate shares this process with this file only. The runtime
 * times each block of calls itself (wall clock around the exchange on the pipes) and freezes this process
 * before it reads the outputs back, so nothing written here is trusted except the buffers' contents.
 *
 *   harness <command fd> <response fd> <arena file> <arena bytes> <threads> <seccomp program file | -> <kernel.so>
 *
 * Commands (one line each; every answer is one JSON line):
 *   L <size> <S> <K> <in base> <in stride> <out base> <out stride> <in offsets...> <out offsets...> <dims...> <scalars...>
 *     fixes the layout: call i reads input set i mod S and writes output set i mod K.
 *   R <count> <target>   runs `count` calls (the target is always the candidate here), answers when they returned.
 *   Q                    exits.
 * The per-signature stub (generated from the spec, compiled with this file) defines the counts and call_kernel.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* From the generated stub. */
extern const int HARNESS_INPUTS, HARNESS_OUTPUTS, HARNESS_DIMENSIONS, HARNESS_SCALARS;
void call_kernel(void *function, void **pointers, const int64_t *dimensions, const double *scalars);

static int response_fd = -1;

static void answer(const char *text) {
    size_t length = strlen(text), done = 0;
    while (done < length) {
        ssize_t written = write(response_fd, text + done, length - done);
        if (written < 0) {
            if (errno == EINTR) continue;
            _exit(3);
        }
        done += (size_t)written;
    }
}

/* Failure answers carry no text from the candidate: the message is the harness's own, quotes removed. */
static void fail(const char *reason, const char *message) {
    char line[1024];
    char clean[700];
    size_t at = 0;
    for (const char *c = message; *c && at + 1 < sizeof clean; c++) clean[at++] = (*c == '"' || *c == '\\' || (unsigned char)*c < 32) ? ' ' : *c;
    clean[at] = 0;
    snprintf(line, sizeof line, "{\"ok\": false, \"reason\": \"%s\", \"message\": \"%s\"}\n", reason, clean);
    answer(line);
}

static int install_filter(const char *path) {
    int descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) return -1;
    struct stat status;
    if (fstat(descriptor, &status) != 0 || status.st_size <= 0 || status.st_size % sizeof(struct sock_filter) != 0 ||
        status.st_size > 4096 * (off_t)sizeof(struct sock_filter)) {
        close(descriptor);
        errno = EINVAL;
        return -1;
    }
    struct sock_filter *code = malloc((size_t)status.st_size);
    ssize_t got = code ? read(descriptor, code, (size_t)status.st_size) : -1;
    close(descriptor);
    if (got != status.st_size) {
        free(code);
        errno = EIO;
        return -1;
    }
    struct sock_fprog program = {(unsigned short)(status.st_size / sizeof(struct sock_filter)), code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) return -1;
    free(code);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 8) return 2;
    int command_fd = atoi(argv[1]);
    response_fd = atoi(argv[2]);
    size_t arena_bytes = (size_t)strtoull(argv[4], NULL, 10);
    int threads = atoi(argv[5]);
    FILE *commands = fdopen(command_fd, "r");
    if (!commands) return 2;

    int arena_fd = open(argv[3], O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    unsigned char *arena = arena_fd < 0 ? MAP_FAILED : mmap(NULL, arena_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, arena_fd, 0);
    if (arena == MAP_FAILED) {
        fail("runtime_error", "the harness cannot map its buffers");
        return 1;
    }
    close(arena_fd);
    /* The filter goes on before the candidate's library is opened, so its constructors already run under it. */
    if (strcmp(argv[6], "-") != 0 && install_filter(argv[6]) != 0) {
        fail("runtime_error", "the harness cannot install the candidate's system-call filter; the candidate is not run");
        return 1;
    }
    void *library = dlopen(argv[7], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *error = dlerror();
        fail(error && strstr(error, "undefined symbol") ? "missing_entry" : "runtime_error", error ? error : "dlopen failed");
        return 1;
    }
    void *function = dlsym(library, "kernel");
    if (!function) {
        fail("missing_entry", "the library exports no function `kernel` (declare it extern \"C\")");
        return 1;
    }
    void (*set_threads)(int) = (void (*)(int))dlsym(library, "omp_set_num_threads");
    if (set_threads && threads > 0) set_threads(threads);
    answer("{\"ok\": true, \"ready\": true}\n");

    int inputs = HARNESS_INPUTS, outputs = HARNESS_OUTPUTS, dimension_count = HARNESS_DIMENSIONS, scalar_count = HARNESS_SCALARS;
    uint64_t *input_offsets = calloc((size_t)inputs + 1, sizeof(uint64_t));
    uint64_t *output_offsets = calloc((size_t)outputs + 1, sizeof(uint64_t));
    int64_t *dimensions = calloc((size_t)dimension_count + 1, sizeof(int64_t));
    double *scalars = calloc((size_t)scalar_count + 1, sizeof(double));
    void **pointers = calloc((size_t)(inputs + outputs) + 1, sizeof(void *));
    uint64_t input_sets = 0, output_sets = 0, input_base = 0, input_stride = 0, output_base = 0, output_stride = 0;
    int laid_out = 0;
    char *line = NULL;
    size_t capacity = 0;
    while (getline(&line, &capacity, commands) > 0) {
        char *cursor = line;
        char op = *cursor++;
        if (op == 'Q') {
            answer("{\"ok\": true}\n");
            return 0;
        }
        if (op == 'L') {
            unsigned long long size_index = strtoull(cursor, &cursor, 10);
            (void)size_index;
            input_sets = strtoull(cursor, &cursor, 10);
            output_sets = strtoull(cursor, &cursor, 10);
            input_base = strtoull(cursor, &cursor, 10);
            input_stride = strtoull(cursor, &cursor, 10);
            output_base = strtoull(cursor, &cursor, 10);
            output_stride = strtoull(cursor, &cursor, 10);
            for (int j = 0; j < inputs; j++) input_offsets[j] = strtoull(cursor, &cursor, 10);
            for (int j = 0; j < outputs; j++) output_offsets[j] = strtoull(cursor, &cursor, 10);
            for (int j = 0; j < dimension_count; j++) dimensions[j] = strtoll(cursor, &cursor, 10);
            for (int j = 0; j < scalar_count; j++) scalars[j] = strtod(cursor, &cursor);
            /* The runtime computed the layout; this only refuses one that leaves the mapping. */
            if (input_sets < 1 || output_sets < 1 || input_base + input_sets * input_stride > arena_bytes ||
                output_base + output_sets * output_stride > arena_bytes) {
                fail("runtime_error", "layout outside the shared buffers");
                laid_out = 0;
                continue;
            }
            laid_out = 1;
            answer("{\"ok\": true}\n");
            continue;
        }
        if (op == 'R') {
            unsigned long long count = strtoull(cursor, &cursor, 10);
            if (!laid_out || count > output_sets) {
                fail("runtime_error", "run before a layout, or more calls than output sets");
                continue;
            }
            for (unsigned long long call = 0; call < count; call++) {
                unsigned char *in = arena + input_base + (call % input_sets) * input_stride;
                unsigned char *out = arena + output_base + (call % output_sets) * output_stride;
                for (int j = 0; j < inputs; j++) pointers[j] = in + input_offsets[j];
                for (int j = 0; j < outputs; j++) pointers[inputs + j] = out + output_offsets[j];
                call_kernel(function, pointers, dimensions, scalars);
            }
            answer("{\"ok\": true}\n");
            continue;
        }
        fail("runtime_error", "unknown harness command");
    }
    return 0;
}
