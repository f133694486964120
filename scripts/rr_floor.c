/*
 * The kernel's floor for a spinning 64-byte round trip on loopback: the least any program
 * that uses kernel sockets can do per round trip, and nothing more.
 *
 * The client sends and spins on non-blocking receives until the answer is back; the server
 * spins on non-blocking receives and answers. Four system calls per round trip (two sends,
 * two receives that find data) plus the empty receives of the wait: the same calls netprobe
 * --busy-poll and sockperf --nonblocked make, without their bookkeeping (no histogram, no
 * deadline checks, one clock read per round trip). scripts/bench_net.py builds it with cc and
 * holds sockperf against it, so the goal "0.8x sockperf" can be read against what the kernel
 * itself costs here.
 *
 *   rr_floor tcp|udp SECONDS CLIENT_CPU SERVER_CPU         -> "p50_ns N round_trips M"
 *   rr_floor tcp|udp SECONDS CLIENT_CPU SERVER_CPU split   -> also where the time goes: the
 *     median duration of each of the four calls (a clock read around each; the round trip
 *     then grows by those reads), and how many empty receives the server made per round trip
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define WARMUP 10000

static int server_fd, client_fd, server_cpu, split;
static volatile int done;
/* split: per round trip, the server's last receive and its send, and its empty receives */
static long *server_recv, *server_send, *server_empty;
static size_t server_n, cap;

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) { perror("sched_setaffinity"); exit(2); }
}

static void *serve(void *unused) {
  char buf[MSG];
  (void)unused;
  pin(server_cpu);
  long empty = 0;
  while (!done) {
    long before = split ? now_ns() : 0;
    ssize_t got = recv(server_fd, buf, MSG, MSG_DONTWAIT);
    if (got <= 0) {
      empty++;
      continue;
    }
    long received = split ? now_ns() : 0;
    send(server_fd, buf, (size_t)got, 0);
    if (split && server_n < cap) {
      server_recv[server_n] = received - before;
      server_send[server_n] = now_ns() - received;
      server_empty[server_n++] = empty;
    }
    empty = 0;
  }
  return NULL;
}

static int cmp(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

static void die(const char *what) { perror(what); exit(2); }

/* Median of v[from..n), sorting it in place. */
static long median(long *v, size_t from, size_t n) {
  qsort(v + from, n - from, sizeof *v, cmp);
  return v[from + (n - from) / 2];
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 6 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp")) ||
      (argc == 6 && strcmp(argv[5], "split"))) {
    fprintf(stderr, "usage: rr_floor tcp|udp SECONDS CLIENT_CPU SERVER_CPU [split]\n");
    return 2;
  }
  int tcp = !strcmp(argv[1], "tcp");
  double seconds = atof(argv[2]);
  int client_cpu = atoi(argv[3]);
  server_cpu = atoi(argv[4]);
  split = argc == 6;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (tcp) {
    int one = 1, listener = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(listener, (void *)&addr, len) || listen(listener, 1) ||
        getsockname(listener, (void *)&addr, &len))
      die("listen");
    client_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client_fd, (void *)&addr, len)) die("connect");
    server_fd = accept(listener, NULL, NULL);
    setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(server_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  } else {
    struct sockaddr_in caddr = addr;
    socklen_t clen = sizeof caddr;
    server_fd = socket(AF_INET, SOCK_DGRAM, 0);
    client_fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (bind(server_fd, (void *)&addr, len) || getsockname(server_fd, (void *)&addr, &len) ||
        bind(client_fd, (void *)&caddr, clen) || getsockname(client_fd, (void *)&caddr, &clen) ||
        connect(client_fd, (void *)&addr, len) || connect(server_fd, (void *)&caddr, clen))
      die("udp sockets");
  }
  cap = (size_t)(seconds * 1e6) + WARMUP; /* at most one round trip per microsecond */
  long *rtt = malloc(cap * sizeof *rtt);
  if (!rtt) die("malloc");
  long *client_send = NULL, *client_recv = NULL;
  if (split) { /* the per-call record only when asked for */
    client_send = calloc(cap, sizeof(long));
    client_recv = calloc(cap, sizeof(long));
    server_recv = calloc(cap, sizeof(long));
    server_send = calloc(cap, sizeof(long));
    server_empty = calloc(cap, sizeof(long));
    if (!client_send || !client_recv || !server_recv || !server_send || !server_empty)
      die("calloc");
  }
  pthread_t server;
  pthread_create(&server, NULL, serve, NULL);
  pin(client_cpu);
  char buf[MSG] = {0};
  size_t n = 0;
  long start = now_ns(), until = start + (long)(seconds * 1e9), sent = start;
  while (sent < until && n < cap) {
    if (send(client_fd, buf, MSG, 0) != MSG) die("send");
    long sent_back = split ? now_ns() : 0, last_try = 0;
    for (size_t have = 0; have < MSG;) { /* TCP may deliver the answer in pieces */
      if (split) last_try = now_ns();
      ssize_t got = recv(client_fd, buf + have, MSG - have, MSG_DONTWAIT);
      if (got > 0) have += (size_t)got;
      else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) die("recv");
    }
    long back = now_ns();
    if (split) {
      client_send[n] = sent_back - sent;
      client_recv[n] = back - last_try;
    }
    rtt[n++] = back - sent;
    sent = back;
  }
  done = 1;
  pthread_join(server, NULL);
  if (n <= WARMUP) { fprintf(stderr, "too few round trips: %zu\n", n); return 1; }
  qsort(rtt + WARMUP, n - WARMUP, sizeof *rtt, cmp);
  printf("p50_ns %ld round_trips %zu\n", median(rtt, WARMUP, n), n - WARMUP);
  if (split && server_n > WARMUP) {
    long cs = median(client_send, WARMUP, n), cr = median(client_recv, WARMUP, n);
    long sr = median(server_recv, WARMUP, server_n), ss = median(server_send, WARMUP, server_n);
    printf("median ns: client send %ld, server receive %ld, server send %ld, client receive "
           "%ld; the four calls %ld; server empty receives per round trip %ld\n",
           cs, sr, ss, cr, cs + sr + ss + cr, median(server_empty, WARMUP, server_n));
  }
  return 0;
}
