/*
 * A counting OTLP/HTTP sink that costs almost nothing per request, for benchmarks whose gateway needs every
 * core the machine has (bench/workers.mjs). One thread, epoll, keep-alive HTTP/1.1; each POST body is held
 * whole and its records counted by skipping the protobuf's outer messages (field 1 resource_*, field 2
 * scope_*, field 2 the records: the same path for logs and spans; for metrics it counts Metric entries),
 * then answered 200 with an empty body (an empty Export*ServiceResponse: full success). Nothing is decoded
 * beyond those three levels, nothing is kept.
 *
 * A compressed body (Content-Encoding other than identity) gets 415 and a body that is not a valid
 * protobuf at those levels gets 400, so a benchmark that sent either sees the loss in its counts instead
 * of a silent success. GET /stats answers {"requests":N,"records":N,"bytes":N,"refused":N}.
 *
 * Built by the benchmark at run time (gcc -O2 count-sink.c -o <tmp>/count-sink); Node's own sink
 * (src/tools/sink) is the reference one, this one only exists to leave the cores to the gateway.
 * Usage: count-sink [port [cert.pem key.pem]]   (0 or none = an ephemeral port; prints "listening <port>")
 *
 * With a certificate and key it serves HTTPS through the system's OpenSSL (built with -DWITH_TLS -lssl
 * -lcrypto; Debian's libssl-dev): bench/tls.mjs's light peers, so the sink's own TLS costs what a C server
 * with the system's AES-GCM pays, not a Node event loop's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
static SSL_CTX *tls_ctx;
#endif

#define MAX_HEADER 16384
#define MAX_BODY (64u << 20)

struct conn {
  int fd;
  char *buf;        /* request bytes: headers, then the body */
  size_t cap, len;  /* allocated, filled */
  size_t head_len;  /* bytes of the header block (0 while it is incomplete) */
  size_t body_len;  /* Content-Length of the request being read */
  int refuse;       /* status to answer instead of counting (415, 400, 411, 413) */
  int is_stats;     /* GET /stats */
  void *ssl;        /* the connection's SSL (HTTPS), or NULL */
};

/* read(2) or SSL_read: > 0 bytes, 0 at EOF, -1 with errno (EAGAIN when it would block). */
static ssize_t conn_read(struct conn *c, char *b, size_t n) {
#ifdef WITH_TLS
  if (c->ssl) {
    int r = SSL_read(c->ssl, b, n > 1u << 30 ? 1 << 30 : (int)n);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) errno = EAGAIN;
    else if (e == SSL_ERROR_ZERO_RETURN) return 0;
    else errno = EIO;
    return -1;
  }
#endif
  return read(c->fd, b, n);
}

static unsigned long long n_requests, n_records, n_bytes, n_refused;

/* Reads a varint at *p (< end); returns 0 when it is truncated or longer than 10 bytes. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 1;
    }
  }
  return 0;
}

/* Skips one field's value of wire type wt; 0 when malformed. */
static int skip(const uint8_t **p, const uint8_t *end, unsigned wt) {
  uint64_t v;
  switch (wt) {
    case 0: return varint(p, end, &v);
    case 1: if (end - *p < 8) return 0; *p += 8; return 1;
    case 2: if (!varint(p, end, &v) || v > (uint64_t)(end - *p)) return 0; *p += v; return 1;
    case 5: if (end - *p < 4) return 0; *p += 4; return 1;
    default: return 0;
  }
}

/*
 * Counts the length-delimited fields numbered path[depth] inside [p, end), descending into each while
 * depth < 2 (path 1 -> 2 -> 2). Returns -1 when the bytes are not a protobuf message.
 */
static long long count_records(const uint8_t *p, const uint8_t *end, int depth) {
  static const unsigned path[3] = {1, 2, 2};
  long long n = 0;
  while (p < end) {
    uint64_t key, len;
    if (!varint(&p, end, &key)) return -1;
    unsigned field = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
    if (field == path[depth] && wt == 2) {
      if (!varint(&p, end, &len) || len > (uint64_t)(end - p)) return -1;
      if (depth == 2) n++;
      else {
        long long inner = count_records(p, p + len, depth + 1);
        if (inner < 0) return -1;
        n += inner;
      }
      p += len;
    } else if (!skip(&p, end, wt)) return -1;
  }
  return n;
}

/* The value of header `name` (case-insensitive) in the header block, or NULL; *vlen its length. */
static const char *header(const char *head, size_t head_len, const char *name, size_t *vlen) {
  size_t nlen = strlen(name);
  const char *end = head + head_len;
  const char *line = memchr(head, '\n', head_len); /* skip the request line */
  while (line && line + 1 < end) {
    line++;
    const char *eol = memchr(line, '\n', (size_t)(end - line));
    if (!eol) break;
    if ((size_t)(eol - line) > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
      const char *v = line + nlen + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
      *vlen = (size_t)(ve - v);
      return v;
    }
    line = eol;
  }
  return NULL;
}

static int send_all(struct conn *c, const char *s, size_t n) {
  int fd = c->fd;
#ifdef WITH_TLS
  /* A reply of a few dozen bytes: SSL_write sends it whole or the peer is gone. */
  if (c->ssl) return SSL_write(c->ssl, s, (int)n) == (int)n ? 0 : -1;
#endif
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      /* The reply is a few dozen bytes into an empty socket buffer; EAGAIN here means a dead peer. */
      return -1;
    }
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

static int reply(struct conn *c, int status) {
  char out[256];
  const char *reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : status == 411 ? "Length Required" : status == 413 ? "Payload Too Large" : status == 415 ? "Unsupported Media Type" : "Not Found";
  int n;
  if (c->is_stats) {
    char body[200];
    int bl = snprintf(body, sizeof body, "{\"requests\":%llu,\"records\":%llu,\"bytes\":%llu,\"refused\":%llu}", n_requests, n_records, n_bytes, n_refused);
    n = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", bl, body);
  } else
    n = snprintf(out, sizeof out, "HTTP/1.1 %d %s\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n", status, reason);
  return send_all(c, out, (size_t)n);
}

/* Parses the header block once it is complete; 0 = need more bytes, 1 = parsed, -1 = close. */
static int parse_head(struct conn *c) {
  char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
  if (!e) return c->len >= MAX_HEADER ? -1 : 0;
  c->head_len = (size_t)(e - c->buf) + 4;
  c->refuse = 0;
  c->is_stats = c->len >= 11 && memcmp(c->buf, "GET /stats ", 11) == 0;
  size_t vlen;
  const char *v = header(c->buf, c->head_len, "content-length", &vlen);
  c->body_len = v ? strtoull(v, NULL, 10) : 0;
  if (c->is_stats) return 1;
  if (memcmp(c->buf, "POST ", 5) != 0) c->refuse = 404;
  else if (!v) c->refuse = 411;
  else if (c->body_len > MAX_BODY) return -1;
  const char *enc = header(c->buf, c->head_len, "content-encoding", &vlen);
  if (!c->refuse && enc && !(vlen == 8 && strncasecmp(enc, "identity", 8) == 0)) c->refuse = 415;
  return 1;
}

/* Handles every complete request in the buffer; -1 = close the connection. */
static int serve(struct conn *c) {
  for (;;) {
    if (!c->head_len) {
      int r = parse_head(c);
      if (r <= 0) return r;
    }
    size_t total = c->head_len + c->body_len;
    if (total > c->cap) {
      char *nb = realloc(c->buf, total);
      if (!nb) return -1;
      c->buf = nb;
      c->cap = total;
    }
    if (c->len < total) return 0;
    int status = c->refuse;
    if (!c->is_stats && !status) {
      const uint8_t *body = (const uint8_t *)c->buf + c->head_len;
      long long n = count_records(body, body + c->body_len, 0);
      if (n < 0) status = 400;
      else {
        n_requests++;
        n_records += (unsigned long long)n;
        n_bytes += c->body_len;
        status = 200;
      }
    }
    if (status != 200 && !c->is_stats) n_refused++;
    if (reply(c, status ? status : 200) < 0) return -1;
    /* Pipelined bytes of the next request move to the front (the exporter does not pipeline). */
    memmove(c->buf, c->buf + total, c->len - total);
    c->len -= total;
    c->head_len = 0;
    c->body_len = 0;
  }
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  int port = argc > 1 ? atoi(argv[1]) : 0;
  if (argc > 3) {
#ifdef WITH_TLS
    tls_ctx = SSL_CTX_new(TLS_server_method());
    if (!tls_ctx || SSL_CTX_use_certificate_chain_file(tls_ctx, argv[2]) != 1 || SSL_CTX_use_PrivateKey_file(tls_ctx, argv[3], SSL_FILETYPE_PEM) != 1) {
      ERR_print_errors_fp(stderr);
      fprintf(stderr, "count-sink: cannot use %s / %s as the TLS certificate and key\n", argv[2], argv[3]);
      return 1;
    }
#else
    fprintf(stderr, "count-sink: built without TLS; build with -DWITH_TLS -lssl -lcrypto to serve HTTPS\n");
    return 1;
#endif
  }
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 128) < 0) {
    perror("count-sink: bind/listen on 127.0.0.1");
    return 1;
  }
  socklen_t al = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &al);
  printf("listening %d\n", ntohs(a.sin_port));
  fflush(stdout);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (!c) {
        int fd;
        while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          nc->cap = 1 << 20;
          nc->buf = malloc(nc->cap);
#ifdef WITH_TLS
          if (tls_ctx) {
            nc->ssl = SSL_new(tls_ctx);
            SSL_set_fd(nc->ssl, fd);
            SSL_set_accept_state(nc->ssl); /* the handshake runs inside the first SSL_read */
          }
#endif
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      int closing = 0;
      for (;;) {
        if (c->len == c->cap) {
          /* Headers still incomplete (serve() grows the buffer to the body's size once they are parsed). */
          if (c->cap >= MAX_HEADER + MAX_BODY) { closing = 1; break; }
          c->cap *= 2;
          c->buf = realloc(c->buf, c->cap);
        }
        ssize_t r = conn_read(c, c->buf + c->len, c->cap - c->len);
        if (r > 0) {
          c->len += (size_t)r;
          if (serve(c) < 0) { closing = 1; break; }
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        closing = 1; /* EOF or error */
        break;
      }
      if (closing) {
#ifdef WITH_TLS
        if (c->ssl) SSL_free(c->ssl);
#endif
        close(c->fd); /* also removes it from the epoll set */
        free(c->buf);
        free(c);
      }
    }
  }
}
