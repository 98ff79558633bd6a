// openloop: a constant-rate (open-loop) HTTP/1.1 load generator for bench/run's latency scenario.
//
//   openloop -c CONNECTIONS -d SECONDS [-R RATE] [-t TIMEOUT] [-H 'Name: value']... http://127.0.0.1:PORT/PATH
//
// With -R, request i is due at start + i/RATE whatever happened before it; it goes out on the first
// idle keep-alive connection (oldest idle first), and its latency runs from when it was due, not from
// when it went out, so a stalled target is charged for every request it held back (no coordinated
// omission). A send more than 1 ms after its time is counted as late. Without -R (or -R 0) it is a
// closed loop like wrk: each connection sends its next request when the last answer ends, and
// latency runs from the send. One thread, one epoll; it prints one line, `BENCH {json}`, with
// exact percentiles from every sample, sorted.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LATE_NS 1000000LL
#define HEAD_MAX 16384

enum state { CONNECTING, IDLE, BUSY, DOWN };
enum body { NONE, LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS };

struct conn {
    int fd;
    enum state state;
    int64_t due, sent;  // when the current request was due and when it went out, ns
    size_t written;
    char head[HEAD_MAX];
    size_t head_len;
    enum body body;
    int64_t remaining;
    int status, closing, head_done, in_ring;
    char line[64];
    size_t line_len;
};

static struct sockaddr_in address;
static char *request;
static size_t request_len;
static struct conn *conns;
static double rate;
static int connections, epoll_fd, timer_fd;
static int64_t *samples;
static size_t sample_count, sample_room;
static struct {
    long long requests, in_window, bytes, connect, read, write, status, timeout, late, unsent;
    int64_t max_delay;
} totals;
static int *idle_ring;
static int idle_head, idle_count;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void fail(const char *message) {
    fprintf(stderr, "openloop: %s\n", message);
    exit(2);
}

static void watch(struct conn *c, uint32_t events, int op) {
    struct epoll_event event = {.events = events, .data.u32 = (uint32_t)(c - conns)};
    if (epoll_ctl(epoll_fd, op, c->fd, &event) != 0) fail("epoll_ctl failed");
}

static void open_conn(struct conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) fail("socket failed (raise ulimit -n?)");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS) {
        totals.connect++;
        close(c->fd);
        c->fd = -1;
        c->state = DOWN;
        return;
    }
    watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void make_idle(struct conn *c) {
    c->state = IDLE;
    if (c->in_ring) return;
    c->in_ring = 1;
    idle_ring[(idle_head + idle_count) % connections] = (int)(c - conns);
    idle_count++;
}

static struct conn *take_idle(void) {
    while (idle_count > 0) {
        struct conn *c = &conns[idle_ring[idle_head]];
        idle_head = (idle_head + 1) % connections;
        idle_count--;
        c->in_ring = 0;
        if (c->state == IDLE) return c;  // one that died while idle is skipped
    }
    return NULL;
}

static void reconnect(struct conn *c) {
    if (c->fd >= 0) close(c->fd);  // closing removes it from the epoll set
    c->fd = -1;
    open_conn(c);
}

static void record(int64_t latency) {
    if (sample_count == sample_room) {
        sample_room = sample_room ? sample_room * 2 : 65536;
        samples = realloc(samples, sample_room * sizeof *samples);
        if (!samples) fail("out of memory for samples");
    }
    samples[sample_count++] = latency;
}

static void flush_request(struct conn *c) {
    while (c->written < request_len) {
        ssize_t n = write(c->fd, request + c->written, request_len - c->written);
        if (n > 0) {
            c->written += (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            watch(c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
            return;
        } else {
            totals.write++;
            reconnect(c);
            return;
        }
    }
}

static void send_request(struct conn *c, int64_t due, int64_t now) {
    c->state = BUSY;
    c->due = due;
    c->sent = now;
    c->written = 0;
    c->head_len = 0;
    c->body = NONE;
    c->status = 0;
    c->closing = 0;
    c->head_done = 0;
    if (now - due > LATE_NS) totals.late++;
    if (now - due > totals.max_delay) totals.max_delay = now - due;
    flush_request(c);
}

// Reads the status line and the fields that frame the body once the whole head has arrived.
static int parse_head(struct conn *c, size_t end) {
    c->head[end] = 0;
    if (strncmp(c->head, "HTTP/1.", 7) != 0) return -1;
    c->status = atoi(c->head + 9);
    c->body = LENGTH;
    c->remaining = 0;
    for (char *line = strstr(c->head, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        char *field = line + 2;
        if (strncasecmp(field, "content-length:", 15) == 0) {
            c->remaining = strtoll(field + 15, NULL, 10);
        } else if (strncasecmp(field, "transfer-encoding:", 18) == 0 && strcasestr(field, "chunked") &&
                   strcasestr(field, "chunked") < strstr(field, "\r\n")) {
            c->body = CHUNK_SIZE;
            c->line_len = 0;
        } else if (strncasecmp(field, "connection:", 11) == 0 && strcasestr(field, "close") &&
                   strcasestr(field, "close") < strstr(field, "\r\n")) {
            c->closing = 1;
        }
    }
    return 0;
}

// Consumes body bytes; returns how many of `n` it took, and sets c->body to NONE at the body's end.
static size_t take_body(struct conn *c, const char *data, size_t n) {
    size_t used = 0;
    while (used < n && c->body != NONE) {
        if (c->body == LENGTH || c->body == CHUNK_DATA) {
            size_t step = (size_t)c->remaining < n - used ? (size_t)c->remaining : n - used;
            used += step;
            c->remaining -= (int64_t)step;
            if (c->remaining == 0) c->body = c->body == LENGTH ? NONE : CHUNK_END;
            continue;
        }
        char ch = data[used++];
        if (ch != '\n') {
            if (c->line_len < sizeof c->line - 1) c->line[c->line_len++] = ch;
            continue;
        }
        c->line[c->line_len] = 0;
        int empty = c->line_len == 0 || (c->line_len == 1 && c->line[0] == '\r');
        c->line_len = 0;
        if (c->body == CHUNK_SIZE) {
            c->remaining = strtoll(c->line, NULL, 16);
            c->body = c->remaining ? CHUNK_DATA : TRAILERS;
        } else if (c->body == CHUNK_END) {
            c->body = CHUNK_SIZE;
        } else if (empty) {
            c->body = NONE;
        }
    }
    if (c->body == LENGTH && c->remaining == 0) c->body = NONE;
    return used;
}

static void finish(struct conn *c, int64_t now, int64_t window_end) {
    // An open loop's request was due inside the window, whenever its answer came; a closed loop's counts
    // only inside it, as wrk counts.
    if (rate > 0 || now <= window_end) {
        totals.requests++;
        record(now - c->due);
    }
    if (now <= window_end) totals.in_window++;
    if (c->status < 200 || c->status > 399) totals.status++;
    if (c->closing) {
        reconnect(c);
    } else if (rate == 0 && now < window_end) {
        send_request(c, now, now);  // a closed loop's next request goes out at once, as wrk's does
    } else {
        make_idle(c);
    }
}

static void on_readable(struct conn *c, int64_t window_end) {
    char buffer[65536];
    for (;;) {
        ssize_t n = read(c->fd, buffer, sizeof buffer);
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0 || c->state != BUSY) {
            if (c->state == BUSY) totals.read++;
            reconnect(c);
            return;
        }
        totals.bytes += n;
        size_t used = 0;
        for (;;) {
            if (!c->head_done) {
                size_t room = HEAD_MAX - 1 - c->head_len;
                size_t step = (size_t)n - used < room ? (size_t)n - used : room;
                memcpy(c->head + c->head_len, buffer + used, step);
                size_t before = c->head_len;
                c->head_len += step;
                c->head[c->head_len] = 0;
                char *end = strstr(c->head, "\r\n\r\n");
                if (!end) {
                    if (c->head_len == HEAD_MAX - 1) {
                        totals.read++;
                        reconnect(c);
                        return;
                    }
                    break;
                }
                size_t head_end = (size_t)(end - c->head) + 4;
                used += head_end - before;
                if (parse_head(c, head_end) != 0) {
                    totals.read++;
                    reconnect(c);
                    return;
                }
                c->head_done = 1;
            }
            used += take_body(c, buffer + used, (size_t)n - used);
            if (c->body == NONE) {
                finish(c, now_ns(), window_end);
                return;
            }
            if (used >= (size_t)n) break;
        }
        // A short read took all there was: asking again would only cost a read that finds nothing.
        if ((size_t)n < sizeof buffer) return;
    }
}

static void arm(int64_t at) {
    struct itimerspec spec = {0};
    spec.it_value.tv_sec = at / 1000000000LL;
    spec.it_value.tv_nsec = at % 1000000000LL;
    if (timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, NULL) != 0) fail("timerfd_settime failed");
}

static int compare(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double percentile(double p) {
    if (sample_count == 0) return 0;
    size_t rank = (size_t)(p / 100.0 * (double)sample_count + 0.999999);
    if (rank < 1) rank = 1;
    return (double)samples[rank - 1] / 1000.0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: openloop -c CONNECTIONS -d SECONDS [-R RATE] [-t TIMEOUT] [-H 'Name: value']... "
            "http://127.0.0.1:PORT/PATH\n");
    exit(2);
}

int main(int argc, char **argv) {
    double seconds = 0, timeout = 10;
    const char *headers[64];
    int header_count = 0, has_host = 0;
    int option;
    while ((option = getopt(argc, argv, "c:d:R:t:H:")) != -1) {
        switch (option) {
            case 'c': connections = atoi(optarg); break;
            case 'd': seconds = atof(optarg); break;
            case 'R': rate = atof(optarg); break;
            case 't': timeout = atof(optarg); break;
            case 'H':
                if (header_count == 64) fail("at most 64 -H fields");
                headers[header_count++] = optarg;
                if (strncasecmp(optarg, "host:", 5) == 0) has_host = 1;
                break;
            default: usage();
        }
    }
    if (optind != argc - 1 || connections < 1 || seconds <= 0 || rate < 0) usage();
    const char *url = argv[optind];
    if (strncmp(url, "http://", 7) != 0) fail("the URL must be http://IPV4:PORT/PATH");
    char host[64];
    int port;
    const char *path = strchr(url + 7, '/');
    if (!path || sscanf(url + 7, "%63[^:]:%d", host, &port) != 2) fail("the URL must be http://IPV4:PORT/PATH");
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) fail("the URL's host must be an IPv4 address");

    request = malloc(8192 + 1024 * (size_t)header_count);
    request_len = (size_t)sprintf(request, "GET %s HTTP/1.1\r\n", path);
    if (!has_host) request_len += (size_t)sprintf(request + request_len, "Host: %.*s\r\n", (int)(path - url - 7), url + 7);
    for (int i = 0; i < header_count; i++) request_len += (size_t)sprintf(request + request_len, "%.1000s\r\n", headers[i]);
    request_len += (size_t)sprintf(request + request_len, "\r\n");

    // Wake-ups as close to each request's time as the kernel allows (the default slack is 50 µs).
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event timer_event = {.events = EPOLLIN, .data.u32 = (uint32_t)connections};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer_fd, &timer_event);
    conns = calloc((size_t)connections, sizeof *conns);
    idle_ring = calloc((size_t)connections, sizeof *idle_ring);
    struct epoll_event *events = calloc((size_t)connections + 1, sizeof *events);

    // Every connection is open before the clock starts.
    for (int i = 0; i < connections; i++) open_conn(&conns[i]);
    int64_t connect_deadline = now_ns() + 10000000000LL;
    int pending = connections;
    while (pending > 0 && now_ns() < connect_deadline) {
        int n = epoll_wait(epoll_fd, events, connections + 1, 100);
        for (int i = 0; i < n; i++) {
            if (events[i].data.u32 >= (uint32_t)connections) continue;
            struct conn *c = &conns[events[i].data.u32];
            if (c->state != CONNECTING) continue;
            int error = 0;
            socklen_t length = sizeof error;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
            if (error) fail("cannot connect to the target");
            watch(c, EPOLLIN, EPOLL_CTL_MOD);
            make_idle(c);
            pending--;
        }
    }
    if (pending > 0) fail("connections did not open within 10 s");

    int64_t interval = rate > 0 ? (int64_t)(1e9 / rate) : 0;
    long long total = rate > 0 ? (long long)(rate * seconds + 0.5) : 0;
    long long next = 0;  // the next request to go out
    int64_t start = now_ns() + 1000000;
    int64_t window_end = start + (int64_t)(seconds * 1e9);
    int64_t timeout_ns = (int64_t)(timeout * 1e9);
    // An open loop waits for the last request's answer (up to the timeout); a closed one stops at the end.
    int64_t stop = rate > 0 ? window_end + timeout_ns : window_end;
    int64_t next_sweep = start;
    if (rate > 0) arm(start);
    while (now_ns() < start) {}
    for (;;) {
        int64_t now = now_ns();
        if (now >= stop) break;
        if (rate > 0) {
            struct conn *c;
            while (next < total && start + next * interval <= now && (c = take_idle())) {
                send_request(c, start + next * interval, now);
                next++;
            }
            if (next < total) arm(start + next * interval > now ? start + next * interval : now + 100000);
            if (next == total) {
                int busy = 0;
                for (int i = 0; i < connections && !busy; i++) busy = conns[i].state == BUSY;
                if (!busy) break;
            }
        } else if (now < window_end) {
            struct conn *c;
            while ((c = take_idle())) send_request(c, now, now);
        }
        if (now >= next_sweep) {
            // A request outstanding past the timeout is given up: its connection starts over.
            for (int i = 0; i < connections; i++) {
                struct conn *c = &conns[i];
                if (c->state == BUSY && now - c->sent > timeout_ns) {
                    totals.timeout++;
                    reconnect(c);
                } else if (c->state == DOWN) {
                    open_conn(c);
                }
            }
            next_sweep = now + 100000000LL;
        }
        int wait_ms = rate > 0 ? 100 : (int)((window_end - now) / 1000000) + 1;
        if (wait_ms > 100) wait_ms = 100;
        int n = epoll_wait(epoll_fd, events, connections + 1, wait_ms);
        for (int i = 0; i < n; i++) {
            uint32_t index = events[i].data.u32;
            if (index == (uint32_t)connections) {
                uint64_t expirations;
                while (read(timer_fd, &expirations, sizeof expirations) > 0) {}
                continue;
            }
            struct conn *c = &conns[index];
            if (c->state == CONNECTING) {
                int error = 0;
                socklen_t length = sizeof error;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
                if (error) {
                    totals.connect++;
                    close(c->fd);
                    c->fd = -1;
                    c->state = DOWN;
                    continue;
                }
                watch(c, EPOLLIN, EPOLL_CTL_MOD);
                make_idle(c);
                continue;
            }
            if ((events[i].events & EPOLLOUT) && c->state == BUSY && c->written < request_len) {
                flush_request(c);
                if (c->fd >= 0 && c->written == request_len) watch(c, EPOLLIN, EPOLL_CTL_MOD);
            }
            if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->fd >= 0) on_readable(c, window_end);
        }
    }
    int64_t ended = now_ns();
    if (rate > 0) {
        totals.unsent = total - next;
        for (int i = 0; i < connections; i++) totals.timeout += conns[i].state == BUSY;
        totals.timeout += totals.unsent;
    }
    qsort(samples, sample_count, sizeof *samples, compare);
    double sum = 0;
    for (size_t i = 0; i < sample_count; i++) sum += (double)samples[i];
    double window = (double)((rate > 0 ? window_end : (ended < window_end ? ended : window_end)) - start);
    printf("BENCH {\"requests\":%lld,\"duration_us\":%.0f,\"bytes\":%lld,\"connect\":%lld,\"read\":%lld,"
           "\"write\":%lld,\"status\":%lld,\"timeout\":%lld,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
           "\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,\"rate\":%.0f,\"scheduled\":%lld,\"late\":%lld,"
           "\"unsent\":%lld,\"max_send_delay_us\":%.1f,\"connections\":%d,\"answered_in_window\":%lld}\n",
           totals.requests, window / 1000.0, totals.bytes, totals.connect, totals.read, totals.write, totals.status,
           totals.timeout, percentile(50), percentile(90), percentile(99), percentile(99.9),
           sample_count ? (double)samples[sample_count - 1] / 1000.0 : 0, sample_count ? sum / sample_count / 1000.0 : 0,
           rate, total, totals.late, totals.unsent, (double)totals.max_delay / 1000.0, connections, totals.in_window);
    return 0;
}
