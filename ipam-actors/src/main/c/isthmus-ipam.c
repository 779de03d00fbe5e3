/*
 * isthmus-ipam: the CNI IPAM plugin of Isthmus.
 *
 * A container runtime (or a main plugin such as macvlan or bridge) runs it once per CNI call, with the call in
 * CNI_* environment variables and the network config on stdin. VERSION is answered here. Every other command is
 * forwarded, with the raw config, over a unix socket to the node's Isthmus gateway, which owns the addresses; the
 * gateway's answer (exit code and stdout bytes) becomes this process's. The wire protocol is in ipam-actors/CNI.md.
 *
 * ADD is reserve-then-commit: the gateway reserves addresses and says so; only then do we ask it to commit, on the
 * same connection, and we print the result after it confirmed the lease is durable. If we die in between, the
 * reservation is never committed and expires in the gateway.
 *
 * It is written in C and linked statically because a JVM per call costs about 115 ms and a runtime may make
 * hundreds of calls a minute on a busy node. Everything it reads is bounded (stdin, frames, JSON depth); every
 * socket operation has a timeout. Errors are CNI error JSON on stdout plus one line on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/isthmus/ipam.sock"
#define MAX_CONFIG (1024 * 1024)          /* bytes of network config accepted on stdin */
#define MAX_FRAME (MAX_CONFIG + 64 * 1024) /* a request or reply frame, config plus the environment */
#define MAX_JSON_DEPTH 64
#define IO_TIMEOUT_SECONDS 30 /* per read or write; a commit waits for the journal */
#define PROTOCOL_VERSION 1
#define SUPPORTED_VERSIONS "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"

enum op { OP_ADD = 1, OP_DEL = 2, OP_CHECK = 3, OP_STATUS = 4, OP_GC = 5, OP_COMMIT = 6 };
enum reply_kind { REPLY_RESERVED = 1, REPLY_DONE = 2 };

/* CNI error codes (SPEC.md, "Well-known Error Codes"). */
enum {
    CNI_INVALID_ENVIRONMENT = 4,
    CNI_IO_FAILURE = 5,
    CNI_DECODING_FAILURE = 6,
    CNI_INVALID_CONFIG = 7,
    CNI_TRY_AGAIN_LATER = 11,
    CNI_NOT_AVAILABLE = 50
};

static char cni_version[32] = "1.1.0"; /* the config's, once read: errors and VERSION answer in it */

/* ---------- output ---------- */

static int write_all(int fd, const void *data, size_t length) {
    const char *p = data;
    while (length > 0) {
        ssize_t n = write(fd, p, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Appends s to out as the inside of a JSON string (quotes, backslashes and control bytes escaped). */
static void json_escape(char *out, size_t cap, const char *s) {
    size_t used = strlen(out);
    for (; *s && used + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[used++] = '\\';
            out[used++] = (char)c;
        } else if (c < 0x20) {
            used += (size_t)snprintf(out + used, cap - used, "\\u%04x", c);
        } else {
            out[used++] = (char)c;
        }
    }
    out[used] = '\0';
}

/* Prints a CNI error result on stdout, the details on stderr, and exits with the code. */
__attribute__((noreturn, format(printf, 3, 4)))
static void fail(int code, const char *msg, const char *details_format, ...) {
    char details[1024];
    va_list args;
    va_start(args, details_format);
    vsnprintf(details, sizeof details, details_format, args);
    va_end(args);

    char json[3072] = "{\"cniVersion\":\"";
    json_escape(json, sizeof json, cni_version);
    size_t used = strlen(json);
    snprintf(json + used, sizeof json - used, "\",\"code\":%d,\"msg\":\"", code);
    json_escape(json, sizeof json, msg);
    used = strlen(json);
    snprintf(json + used, sizeof json - used, "\",\"details\":\"");
    json_escape(json, sizeof json, details);
    used = strlen(json);
    snprintf(json + used, sizeof json - used, "\"}\n");

    dprintf(STDERR_FILENO, "isthmus-ipam: %s: %s\n", msg, details);
    write_all(STDOUT_FILENO, json, strlen(json));
    exit(code);
}

/* ---------- stdin ---------- */

static char *read_stdin(size_t *length) {
    char *buffer = malloc(MAX_CONFIG + 1);
    if (!buffer) fail(CNI_IO_FAILURE, "I/O failure", "out of memory reading the network config");
    size_t used = 0;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buffer + used, MAX_CONFIG + 1 - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(CNI_IO_FAILURE, "I/O failure", "cannot read the network config from stdin: %s", strerror(errno));
        if (n == 0) break;
        used += (size_t)n;
        if (used > MAX_CONFIG) {
            fail(CNI_IO_FAILURE, "I/O failure", "the network config on stdin is larger than %d bytes", MAX_CONFIG);
        }
    }
    buffer[used] = '\0';
    *length = used;
    return buffer;
}

/* ---------- just enough JSON: validate the document, pick cniVersion and ipam.socket ---------- */

struct scan {
    const char *p;
    const char *end;
    int depth;
};

static void skip_ws(struct scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads a string at s->p (which is at its opening quote); decodes it into out (if not NULL, up to cap - 1 bytes;
 * *too_long is set when it did not fit). Returns 0, or -1 on malformed input. */
static int scan_string(struct scan *s, char *out, size_t cap, int *too_long) {
    size_t used = 0;
    if (s->p >= s->end || *s->p != '"') return -1;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p++;
        unsigned codepoint;
        if (c == '"') {
            if (out) out[used] = '\0';
            return 0;
        }
        if (c < 0x20) return -1;
        if (c != '\\') {
            codepoint = c;
        } else {
            if (s->p >= s->end) return -1;
            char e = *s->p++;
            switch (e) {
            case '"': codepoint = '"'; break;
            case '\\': codepoint = '\\'; break;
            case '/': codepoint = '/'; break;
            case 'b': codepoint = '\b'; break;
            case 'f': codepoint = '\f'; break;
            case 'n': codepoint = '\n'; break;
            case 'r': codepoint = '\r'; break;
            case 't': codepoint = '\t'; break;
            case 'u':
                if (s->end - s->p < 4) return -1;
                codepoint = 0;
                for (int i = 0; i < 4; i++) {
                    int digit = hex_digit(*s->p++);
                    if (digit < 0) return -1;
                    codepoint = codepoint * 16 + (unsigned)digit;
                }
                break;
            default: return -1;
            }
        }
        if (!out) continue;
        /* Raw bytes are copied as they are; \u escapes become UTF-8 (a path or version never needs surrogates). */
        char bytes[3];
        size_t n;
        if (c != '\\' || codepoint < 0x80) {
            bytes[0] = (char)codepoint;
            n = 1;
        } else if (codepoint < 0x800) {
            bytes[0] = (char)(0xc0 | (codepoint >> 6));
            bytes[1] = (char)(0x80 | (codepoint & 0x3f));
            n = 2;
        } else {
            bytes[0] = (char)(0xe0 | (codepoint >> 12));
            bytes[1] = (char)(0x80 | ((codepoint >> 6) & 0x3f));
            bytes[2] = (char)(0x80 | (codepoint & 0x3f));
            n = 3;
        }
        if (codepoint == 0 || used + n >= cap) {
            *too_long = 1; /* a NUL inside a path counts as unusable too */
            continue;
        }
        memcpy(out + used, bytes, n);
        used += n;
    }
    return -1;
}

static int skip_value(struct scan *s);

/* Walks the members of the object at s->p; for each, calls member(key, s, context) positioned at the value, which
 * must consume the value (or return 1 to have it skipped). Returns 0, or -1 on malformed input. */
static int scan_object(struct scan *s, int (*member)(const char *key, struct scan *s, void *context), void *context) {
    if (++s->depth > MAX_JSON_DEPTH) return -1;
    s->p++; /* '{' */
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        char key[64];
        int key_too_long = 0;
        skip_ws(s);
        if (scan_string(s, key, sizeof key, &key_too_long) < 0) return -1;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':') return -1;
        s->p++;
        skip_ws(s);
        int handled = member && !key_too_long ? member(key, s, context) : 1;
        if (handled < 0) return -1;
        if (handled > 0 && skip_value(s) < 0) return -1;
        skip_ws(s);
        if (s->p >= s->end) return -1;
        if (*s->p == '}') {
            s->p++;
            s->depth--;
            return 0;
        }
        if (*s->p != ',') return -1;
        s->p++;
    }
}

static int skip_value(struct scan *s) {
    int ignored = 0;
    skip_ws(s);
    if (s->p >= s->end) return -1;
    switch (*s->p) {
    case '"': return scan_string(s, NULL, 0, &ignored);
    case '{': return scan_object(s, NULL, NULL);
    case '[':
        if (++s->depth > MAX_JSON_DEPTH) return -1;
        s->p++;
        skip_ws(s);
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            s->depth--;
            return 0;
        }
        for (;;) {
            if (skip_value(s) < 0) return -1;
            skip_ws(s);
            if (s->p >= s->end) return -1;
            if (*s->p == ']') {
                s->p++;
                s->depth--;
                return 0;
            }
            if (*s->p != ',') return -1;
            s->p++;
        }
    case 't': if (s->end - s->p >= 4 && !memcmp(s->p, "true", 4)) { s->p += 4; return 0; } return -1;
    case 'f': if (s->end - s->p >= 5 && !memcmp(s->p, "false", 5)) { s->p += 5; return 0; } return -1;
    case 'n': if (s->end - s->p >= 4 && !memcmp(s->p, "null", 4)) { s->p += 4; return 0; } return -1;
    default: {
        const char *start = s->p;
        while (s->p < s->end && strchr("+-0123456789.eE", *s->p)) s->p++;
        return s->p > start ? 0 : -1;
    }
    }
}

struct config {
    char version[32];
    int version_too_long;
    int version_seen;
    char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int socket_too_long;
    int socket_seen;
};

static int ipam_member(const char *key, struct scan *s, void *context) {
    struct config *config = context;
    if (strcmp(key, "socket") != 0) return 1;
    config->socket_seen = 1;
    if (s->p < s->end && *s->p == '"') {
        return scan_string(s, config->socket, sizeof config->socket, &config->socket_too_long);
    }
    config->socket_too_long = 1; /* not a string: as unusable as an overlong path */
    return 1;
}

static int top_member(const char *key, struct scan *s, void *context) {
    struct config *config = context;
    if (strcmp(key, "cniVersion") == 0 && s->p < s->end && *s->p == '"') {
        config->version_seen = 1;
        return scan_string(s, config->version, sizeof config->version, &config->version_too_long);
    }
    if (strcmp(key, "ipam") == 0 && s->p < s->end && *s->p == '{') {
        return scan_object(s, ipam_member, config);
    }
    return 1;
}

/* Returns 0 when the config is one well-formed JSON object (and fills what it found), -1 otherwise. */
static int scan_config(const char *json, size_t length, struct config *config) {
    struct scan s = {json, json + length, 0};
    memset(config, 0, sizeof *config);
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{') return -1;
    if (scan_object(&s, top_member, config) < 0) return -1;
    skip_ws(&s);
    return s.p == s.end ? 0 : -1;
}

static int plausible_version(const char *v) {
    if (!*v) return 0;
    for (; *v; v++) {
        if (!strchr("0123456789.", *v)) return 0;
    }
    return 1;
}

/* ---------- the gateway conversation ---------- */

struct buffer {
    unsigned char *data;
    size_t used;
    size_t cap;
};

static void put_bytes(struct buffer *b, const void *data, size_t length) {
    if (b->used + length > b->cap) {
        fail(CNI_IO_FAILURE, "I/O failure", "request frame larger than %d bytes", MAX_FRAME);
    }
    memcpy(b->data + b->used, data, length);
    b->used += length;
}

static void encode_u32(unsigned char *bytes, uint32_t value) {
    bytes[0] = (unsigned char)(value >> 24);
    bytes[1] = (unsigned char)(value >> 16);
    bytes[2] = (unsigned char)(value >> 8);
    bytes[3] = (unsigned char)value;
}

static void put_u32(struct buffer *b, uint32_t value) {
    unsigned char bytes[4];
    encode_u32(bytes, value);
    put_bytes(b, bytes, 4);
}

static void put_field(struct buffer *b, const char *data, size_t length) {
    put_u32(b, (uint32_t)length);
    put_bytes(b, data, length);
}

static void put_env(struct buffer *b, const char *name) {
    const char *value = getenv(name);
    put_field(b, value ? value : "", value ? strlen(value) : 0);
}

static const char *socket_path;
static int unreachable_code = CNI_TRY_AGAIN_LATER;
static const char *unreachable_msg = "Try again later";

__attribute__((noreturn))
static void gateway_failed(const char *what, int error) {
    if (error == EAGAIN || error == EWOULDBLOCK) {
        fail(unreachable_code, unreachable_msg, "the Isthmus gateway at %s did not answer within %d s (%s)",
             socket_path, IO_TIMEOUT_SECONDS, what);
    }
    fail(unreachable_code, unreachable_msg, "the Isthmus gateway at %s failed while %s: %s", socket_path, what,
         error ? strerror(error) : "connection closed");
}

static void send_frame(int fd, const struct buffer *payload) {
    unsigned char header[4];
    encode_u32(header, (uint32_t)payload->used); /* at most MAX_FRAME: put_bytes refuses more */
    if (write_all(fd, header, 4) < 0 || write_all(fd, payload->data, payload->used) < 0) {
        gateway_failed("sending the request", errno);
    }
}

static void read_exactly(int fd, void *data, size_t length, const char *what) {
    unsigned char *p = data;
    while (length > 0) {
        ssize_t n = read(fd, p, length);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) gateway_failed(what, errno);
        if (n == 0) gateway_failed(what, 0);
        p += n;
        length -= (size_t)n;
    }
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct reply {
    int kind;
    int exit_code;
    const unsigned char *out;
    uint32_t out_length;
    const unsigned char *err;
    uint32_t err_length;
    unsigned char *frame;
};

static struct reply read_reply(int fd) {
    unsigned char header[4];
    struct reply reply;
    read_exactly(fd, header, 4, "reading the reply");
    uint32_t length = get_u32(header);
    if (length < 11 || length > MAX_FRAME) {
        fail(CNI_IO_FAILURE, "I/O failure", "the gateway at %s sent a reply frame of %u bytes", socket_path, length);
    }
    reply.frame = malloc(length);
    if (!reply.frame) fail(CNI_IO_FAILURE, "I/O failure", "out of memory reading the reply");
    read_exactly(fd, reply.frame, length, "reading the reply");
    const unsigned char *p = reply.frame;
    const unsigned char *end = p + length;
    if (p[0] != PROTOCOL_VERSION) {
        fail(CNI_IO_FAILURE, "I/O failure", "the gateway at %s speaks protocol version %d, this plugin %d",
             socket_path, p[0], PROTOCOL_VERSION);
    }
    reply.kind = p[1];
    reply.exit_code = p[2];
    p += 3;
    reply.out_length = get_u32(p);
    p += 4;
    if (reply.out_length > (size_t)(end - p) - 4) goto malformed;
    reply.out = p;
    p += reply.out_length;
    reply.err_length = get_u32(p);
    p += 4;
    if (reply.err_length != (size_t)(end - p)) goto malformed;
    reply.err = p;
    if (reply.kind != REPLY_RESERVED && reply.kind != REPLY_DONE) goto malformed;
    return reply;
malformed:
    fail(CNI_IO_FAILURE, "I/O failure", "the gateway at %s sent a malformed reply", socket_path);
}

static void print_stderr(const struct reply *reply) {
    if (reply->err_length > 0) {
        write_all(STDERR_FILENO, "isthmus-ipam: ", 14);
        write_all(STDERR_FILENO, reply->err, reply->err_length);
        write_all(STDERR_FILENO, "\n", 1);
    }
}

static int connect_gateway(void) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    memcpy(address.sun_path, socket_path, strlen(socket_path) + 1); /* length checked by the caller */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(CNI_IO_FAILURE, "I/O failure", "cannot create a unix socket: %s", strerror(errno));
    struct timeval timeout = {.tv_sec = IO_TIMEOUT_SECONDS};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0) {
        fail(CNI_IO_FAILURE, "I/O failure", "cannot set socket timeouts: %s", strerror(errno));
    }
    while (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        if (errno == EINTR) continue;
        int error = errno;
        fail(unreachable_code, unreachable_msg,
             "cannot reach the Isthmus gateway at %s: %s (is the gateway running on this node, and is \"socket\" "
             "in the ipam config right?)", socket_path, strerror(error));
    }
    return fd;
}

static int parse_command(const char *command) {
    static const struct { const char *name; int op; } commands[] = {
        {"ADD", OP_ADD}, {"DEL", OP_DEL}, {"CHECK", OP_CHECK}, {"STATUS", OP_STATUS}, {"GC", OP_GC}, {"VERSION", 0},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(command, commands[i].name) == 0) return commands[i].op;
    }
    return -1;
}

int main(void) {
    /* A gateway that closes the connection mid-write must give us EPIPE (and a CNI error), not kill us silently. */
    signal(SIGPIPE, SIG_IGN);
    const char *command = getenv("CNI_COMMAND");
    if (!command || !*command) {
        fail(CNI_INVALID_ENVIRONMENT, "Invalid necessary environment variables",
             "CNI_COMMAND is not set (this is a CNI plugin: the container runtime runs it)");
    }
    int op = parse_command(command);
    if (op < 0) {
        fail(CNI_INVALID_ENVIRONMENT, "Invalid necessary environment variables",
             "CNI_COMMAND=%.64s is not one of ADD, DEL, CHECK, STATUS, GC, VERSION", command);
    }

    size_t config_length;
    char *config_json = read_stdin(&config_length);
    struct config config;
    int config_ok = scan_config(config_json, config_length, &config) == 0;
    if (config_ok && config.version_seen && !config.version_too_long && plausible_version(config.version)) {
        snprintf(cni_version, sizeof cni_version, "%s", config.version);
    }

    if (op == 0) { /* VERSION: no gateway needed */
        char out[256] = "{\"cniVersion\":\"";
        json_escape(out, sizeof out, cni_version);
        size_t used = strlen(out);
        snprintf(out + used, sizeof out - used, "\",\"supportedVersions\":%s}\n", SUPPORTED_VERSIONS);
        return write_all(STDOUT_FILENO, out, strlen(out)) < 0 ? CNI_IO_FAILURE : 0;
    }
    if (!config_ok) {
        fail(CNI_DECODING_FAILURE, "Failed to decode content", "the network config on stdin is not a JSON object");
    }
    if (config.socket_seen && (config.socket_too_long || !config.socket[0])) {
        fail(CNI_INVALID_CONFIG, "Invalid network config",
             "ipam.socket must be a string: a unix socket path of 1 to %zu bytes", sizeof config.socket - 1);
    }
    socket_path = config.socket_seen ? config.socket : DEFAULT_SOCKET;
    if (op == OP_STATUS) { /* the code STATUS defines for "cannot serve ADD" */
        unreachable_code = CNI_NOT_AVAILABLE;
        unreachable_msg = "The plugin is not available";
    }

    int fd = connect_gateway();
    struct buffer request = {malloc(MAX_FRAME), 0, MAX_FRAME};
    if (!request.data) fail(CNI_IO_FAILURE, "I/O failure", "out of memory building the request");
    unsigned char head[2] = {PROTOCOL_VERSION, (unsigned char)op};
    put_bytes(&request, head, 2);
    put_env(&request, "CNI_CONTAINERID");
    put_env(&request, "CNI_NETNS");
    put_env(&request, "CNI_IFNAME");
    put_env(&request, "CNI_ARGS");
    put_env(&request, "CNI_PATH");
    put_field(&request, config_json, config_length);
    send_frame(fd, &request);

    struct reply reply = read_reply(fd);
    print_stderr(&reply);
    if (reply.kind == REPLY_RESERVED) {
        if (op != OP_ADD) {
            fail(CNI_IO_FAILURE, "I/O failure", "the gateway at %s answered a reservation to %s", socket_path, command);
        }
        unsigned char commit_head[2] = {PROTOCOL_VERSION, OP_COMMIT};
        struct buffer commit = {commit_head, 2, 2};
        send_frame(fd, &commit);
        reply = read_reply(fd);
        print_stderr(&reply);
        if (reply.kind != REPLY_DONE) {
            fail(CNI_IO_FAILURE, "I/O failure", "the gateway at %s answered the commit with another reservation",
                 socket_path);
        }
    }
    close(fd);
    if (write_all(STDOUT_FILENO, reply.out, reply.out_length) < 0) return CNI_IO_FAILURE;
    return reply.exit_code;
}
