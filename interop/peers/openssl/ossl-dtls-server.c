/* ossl-dtls-server: crosswire's long-lived DTLS 1.2 echo server on libssl (OpenSSL 3.0 and 3.5), for
 * `crosswire fuzz-wire dtls --peer openssl|openssl-3.0` (TESTCASE=fuzz-wire in endpoint.sh).
 *
 * Why not `openssl s_server -listen`: after DTLSv1_listen it connect()s its one socket to the client and, after a
 * failed handshake or even a closed connection, hears no one else, so a fuzzing campaign had to restart it after most
 * inputs and could not tell a server that stopped answering from one that was merely busy. This program serves every
 * client, concurrently, for as long as it runs:
 *   - one UDP socket; a datagram from an address without a connection goes to DTLSv1_listen on a listener SSL object
 *     that keeps no per-address state: RFC 6347 §4.2.1 cookie exchange, cookies an HMAC over the client's address and
 *     port under a random key drawn at start (so any number of cookie-less ClientHellos leave no trace);
 *   - a ClientHello with a valid cookie turns the listener object into that client's connection (a fresh listener
 *     takes its place); datagrams are then demultiplexed by source address to per-client SSL objects whose BIO hands
 *     them exactly one datagram per read and sends each write as one datagram to that client (no connect(), so no
 *     client can take the socket from the others);
 *   - retransmission timers (DTLSv1_handle_timeout), a handshake deadline and an idle deadline free clients that went
 *     away; a failed handshake, a fatal alert or close_notify frees the client at once; the number of clients is
 *     bounded (the oldest unfinished handshake gives way to a new one; when all are established the new one is refused);
 *   - application data is echoed record by record.
 *
 * stderr: one line at start ("listening on udp port P", the peer's readiness line), one per client that comes and
 * goes, and on SIGUSR1 (and at exit) a status line with the counts:
 *   status clients=N handshaking=N established=N hvr=N accepted=N completed=N closed=N failed=N timedout=N
 *          evicted=N refused=N datagrams=N
 * SIGTERM/SIGINT end it with exit 0; any other exit is a finding for the fuzzer. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#define COOKIE_LEN 32
#define MAX_DATAGRAM 65536

static struct {
    const char *host, *port, *cert, *key, *alpn, *keylog;
    int max_clients, mtu, verbose;
    double handshake_timeout, idle_timeout;
} opt = { .host = "127.0.0.1", .max_clients = 256, .mtu = 1400, .handshake_timeout = 10, .idle_timeout = 60 };

/* The datagram BIO shared by the listener and every client: reads hand over the one datagram just received (or
 * "retry"), writes go out at once to this BIO's peer. DTLS needs datagram boundaries on both sides, which memory BIOs
 * do not keep, and a BIO_s_datagram would need a connected socket per client. */
typedef struct {
    int fd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    const unsigned char *in;
    size_t in_len;
    int read_empty; /* the last read handed over an empty datagram */
} Dgram;

typedef struct {
    SSL *ssl;
    Dgram *bio;
    int established;
    double started, last_rx, deadline;
    char name[64];
} Client;

static int sock = -1;
static Client *clients;
static int nclients;
static unsigned char cookie_key[32];
static unsigned char *alpn_wire;
static size_t alpn_wire_len;
static FILE *keylog_file;
static BIO_METHOD *dgram_method;
static volatile sig_atomic_t want_status, want_exit;
static struct {
    unsigned long hvr, accepted, completed, closed, failed, timedout, evicted, refused, datagrams;
} stats;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ossl-dtls-server: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static void status(void)
{
    int hs = 0;
    for (int i = 0; i < nclients; i++)
        hs += !clients[i].established;
    say("status clients=%d handshaking=%d established=%d hvr=%lu accepted=%lu completed=%lu closed=%lu failed=%lu "
        "timedout=%lu evicted=%lu refused=%lu datagrams=%lu",
        nclients, hs, nclients - hs, stats.hvr, stats.accepted, stats.completed, stats.closed, stats.failed,
        stats.timedout, stats.evicted, stats.refused, stats.datagrams);
}

static void fatal(const char *what)
{
    say("error: %s", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void addr_name(const struct sockaddr_storage *a, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)a;
        inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
        port = ntohs(s->sin_port);
        snprintf(out, n, "%s:%d", host, port);
    } else {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
        inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
        port = ntohs(s->sin6_port);
        snprintf(out, n, "[%s]:%d", host, port);
    }
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* ---- the datagram BIO ---------------------------------------------------------------------------------------- */

static int dgram_write(BIO *b, const char *data, int len)
{
    Dgram *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    /* A full socket buffer loses the datagram as the network could: DTLS retransmits; blocking here would stall
     * every other client. */
    if (sendto(d->fd, data, (size_t)len, 0, (struct sockaddr *)&d->peer, d->peer_len) < 0 && opt.verbose)
        say("sendto: %s", strerror(errno));
    return len;
}

static int dgram_read(BIO *b, char *out, int len)
{
    Dgram *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (d->in == NULL) {
        BIO_set_retry_read(b);
        return -1;
    }
    /* Like recvfrom() into a short buffer: the rest of the datagram is lost. */
    size_t n = d->in_len < (size_t)len ? d->in_len : (size_t)len;
    memcpy(out, d->in, n);
    d->read_empty = n == 0;
    d->in = NULL;
    d->in_len = 0;
    return (int)n;
}

static long dgram_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    Dgram *d = BIO_get_data(b);
    (void)num;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return d->in != NULL ? (long)d->in_len : 0;
    case BIO_CTRL_WPENDING:
        return 0;
    case BIO_CTRL_DGRAM_GET_PEER:
        /* DTLSv1_listen reports the client's address through this. */
        if (ptr == NULL)
            return 0;
        if (d->peer.ss_family == AF_INET) {
            const struct sockaddr_in *s = (const struct sockaddr_in *)&d->peer;
            return BIO_ADDR_rawmake(ptr, AF_INET, &s->sin_addr, sizeof s->sin_addr, s->sin_port);
        } else {
            const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&d->peer;
            return BIO_ADDR_rawmake(ptr, AF_INET6, &s->sin6_addr, sizeof s->sin6_addr, s->sin6_port);
        }
    case BIO_CTRL_DGRAM_SET_PEER:
    case BIO_CTRL_DGRAM_CONNECT:
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
        /* The peer is fixed per object by this program, and timers are driven from the poll loop. */
        return 1;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return d->peer.ss_family == AF_INET6 ? 48 : 28;
    default:
        return 0;
    }
}

static int dgram_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int dgram_destroy(BIO *b)
{
    free(BIO_get_data(b));
    BIO_set_data(b, NULL);
    return 1;
}

/* An SSL object with a fresh datagram BIO (owned by the BIO, freed with the SSL object). */
static SSL *new_ssl(SSL_CTX *ctx, Dgram **out)
{
    SSL *ssl = SSL_new(ctx);
    BIO *b = BIO_new(dgram_method);
    Dgram *d = calloc(1, sizeof *d);
    if (ssl == NULL || b == NULL || d == NULL)
        fatal("out of memory");
    d->fd = sock;
    BIO_set_data(b, d);
    SSL_set_bio(ssl, b, b);
    /* The BIO cannot ask the kernel for the path MTU (SSL_OP_NO_QUERY_MTU on the context). */
    SSL_set_mtu(ssl, opt.mtu);
    SSL_set_accept_state(ssl);
    *out = d;
    return ssl;
}

/* ---- cookies (RFC 6347 §4.2.1): stateless, bound to the client's address and port ---------------------------- */

static int cookie_for(SSL *ssl, unsigned char *out)
{
    Dgram *d = BIO_get_data(SSL_get_rbio(ssl));
    unsigned char msg[1 + 16 + 2];
    size_t n = 0;
    msg[n++] = (unsigned char)d->peer.ss_family;
    if (d->peer.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&d->peer;
        memcpy(msg + n, &s->sin_addr, 4);
        n += 4;
        memcpy(msg + n, &s->sin_port, 2);
    } else {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&d->peer;
        memcpy(msg + n, &s->sin6_addr, 16);
        n += 16;
        memcpy(msg + n, &s->sin6_port, 2);
    }
    n += 2;
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), cookie_key, sizeof cookie_key, msg, n, out, &len) == NULL || len != COOKIE_LEN)
        return 0;
    return 1;
}

static int cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
    if (!cookie_for(ssl, cookie))
        return 0;
    *len = COOKIE_LEN;
    return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
    unsigned char want[COOKIE_LEN];
    return len == COOKIE_LEN && cookie_for(ssl, want) && CRYPTO_memcmp(want, cookie, COOKIE_LEN) == 0;
}

/* ---- context ------------------------------------------------------------------------------------------------- */

/* Our ALPN if the client offered it; none at all otherwise (s_server's choice too: the handshake goes on). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, alpn_wire, (unsigned int)alpn_wire_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    fprintf(keylog_file, "%s\n", line);
    fflush(keylog_file);
}

static SSL_CTX *make_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_server_method());
    if (ctx == NULL)
        fatal("SSL_CTX_new");
    if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) || !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION))
        fatal("cannot restrict the context to DTLS 1.2");
    if (SSL_CTX_use_certificate_chain_file(ctx, opt.cert) != 1)
        fatal("cannot load --cert");
    if (SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        fatal("cannot load --key (or it does not match --cert)");
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_COOKIE_EXCHANGE);
    SSL_CTX_set_cookie_generate_cb(ctx, cookie_generate);
    SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify);
    /* Sessions are not resumed across clients here; a cache would be state the fuzzer cannot reset per input. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (opt.alpn != NULL) {
        size_t n = strlen(opt.alpn);
        if (n == 0 || n > 255)
            fatal("--alpn must be 1..255 bytes");
        alpn_wire = malloc(n + 1);
        alpn_wire[0] = (unsigned char)n;
        memcpy(alpn_wire + 1, opt.alpn, n);
        alpn_wire_len = n + 1;
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    }
    if (opt.keylog != NULL) {
        keylog_file = fopen(opt.keylog, "a");
        if (keylog_file == NULL)
            fatal("cannot open --keylog");
        SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    }
    return ctx;
}

/* ---- clients ------------------------------------------------------------------------------------------------- */

/* Why a call failed, from OpenSSL's error queue (emptied: the queue is shared by all clients). */
static const char *ssl_reason(SSL *ssl, int ret, char *buf, size_t n)
{
    int e = SSL_get_error(ssl, ret);
    unsigned long code = ERR_peek_last_error();
    if (e == SSL_ERROR_ZERO_RETURN)
        snprintf(buf, n, "close_notify");
    else if (code != 0)
        snprintf(buf, n, "%s", ERR_reason_error_string(code) ? ERR_reason_error_string(code) : "error");
    else if (e == SSL_ERROR_SYSCALL && ((Dgram *)BIO_get_data(SSL_get_rbio(ssl)))->read_empty)
        /* dgram_read hands over an empty datagram as 0 bytes, as recvfrom() does; libssl takes that for EOF. */
        snprintf(buf, n, "EOF (an empty datagram)");
    else if (e == SSL_ERROR_SYSCALL)
        /* Fatal by the API's contract even with nothing queued and errno 0: libssl 3.0.22 returns that when the
         * accepted ClientHello comes again as a fragment at a nonzero offset (`fuzz-wire dtls --seed 21 --input 158`;
         * 3.5.7 completes that handshake). Going on regardless, 3.0 fails the handshake later with "bad length". */
        snprintf(buf, n, "SSL_ERROR_SYSCALL, error queue empty, errno %d", errno);
    else
        snprintf(buf, n, "ssl error %d", e);
    ERR_clear_error();
    return buf;
}

static void drop_client(int i, const char *why)
{
    Client *c = &clients[i];
    say("end %s: %s (%s, clients=%d)", c->name, why, c->established ? "established" : "handshake", nclients - 1);
    SSL_free(c->ssl);
    clients[i] = clients[--nclients];
}

static void arm(Client *c)
{
    c->deadline = c->established ? c->last_rx + opt.idle_timeout : c->started + opt.handshake_timeout;
}

/* Drives a client after input or a timer; returns 0 when the client is gone (dropped). */
static int service(int i)
{
    Client *c = &clients[i];
    char why[160];
    if (!c->established) {
        int r = SSL_do_handshake(c->ssl);
        if (r == 1) {
            c->established = 1;
            stats.completed++;
            if (opt.verbose)
                say("established %s (%s)", c->name, SSL_get_cipher_name(c->ssl));
        } else {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                arm(c);
                return 1;
            }
            stats.failed++;
            drop_client(i, ssl_reason(c->ssl, r, why, sizeof why));
            return 0;
        }
    }
    unsigned char buf[16384];
    for (;;) {
        int r = SSL_read(c->ssl, buf, sizeof buf);
        if (r > 0) {
            int w = SSL_write(c->ssl, buf, r);
            if (w <= 0) {
                stats.failed++;
                drop_client(i, ssl_reason(c->ssl, w, why, sizeof why));
                return 0;
            }
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
            break;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            SSL_shutdown(c->ssl); /* our close_notify back (RFC 5246 §7.2.1) */
            stats.closed++;
        } else {
            stats.failed++;
        }
        drop_client(i, ssl_reason(c->ssl, r, why, sizeof why));
        return 0;
    }
    arm(c);
    return 1;
}

static int find_client(const struct sockaddr_storage *from)
{
    for (int i = 0; i < nclients; i++)
        if (same_addr(&clients[i].bio->peer, from))
            return i;
    return -1;
}

/* Room for one more client: the oldest unfinished handshake gives way (a flood of half-done handshakes must not lock
 * out real clients); established clients are never evicted. */
static int make_room(void)
{
    if (nclients < opt.max_clients)
        return 1;
    int oldest = -1;
    for (int i = 0; i < nclients; i++)
        if (!clients[i].established && (oldest < 0 || clients[i].started < clients[oldest].started))
            oldest = i;
    if (oldest < 0)
        return 0;
    stats.evicted++;
    drop_client(oldest, "evicted for a new client (too many handshakes)");
    return 1;
}

static SSL *listener;
static Dgram *listener_bio;

static void on_datagram(SSL_CTX *ctx, const unsigned char *data, size_t len, const struct sockaddr_storage *from,
                        socklen_t from_len, double t)
{
    stats.datagrams++;
    int i = find_client(from);
    if (i >= 0) {
        Client *c = &clients[i];
        c->bio->in = data;
        c->bio->in_len = len;
        c->last_rx = t;
        service(i);
        /* A datagram the SSL object did not read (it was gone first) must not stay pointed at. */
        if ((i = find_client(from)) >= 0)
            clients[i].bio->in = NULL;
        return;
    }
    memcpy(&listener_bio->peer, from, from_len);
    listener_bio->peer_len = from_len;
    listener_bio->in = data;
    listener_bio->in_len = len;
    BIO_ADDR *peer = BIO_ADDR_new();
    int r = DTLSv1_listen(listener, peer);
    BIO_ADDR_free(peer);
    listener_bio->in = NULL;
    if (r == 0) {
        /* No valid cookie: either a HelloVerifyRequest went out, or the datagram was dropped. DTLSv1_listen writes
         * nothing else, so a sent datagram here is a HelloVerifyRequest. */
        ERR_clear_error();
        return;
    }
    if (r < 0) {
        /* A fatal error poisons the listener object: start over with a fresh one. */
        char why[160];
        if (opt.verbose)
            say("listen %s: %s", "error", ssl_reason(listener, r, why, sizeof why));
        ERR_clear_error();
        SSL_free(listener);
        listener = new_ssl(ctx, &listener_bio);
        return;
    }
    if (!make_room()) {
        stats.refused++;
        char name[64];
        addr_name(from, name, sizeof name);
        say("refused %s: %d established clients", name, nclients);
        /* The listener object is half into this client's handshake now: a fresh one listens on. */
        SSL_free(listener);
        listener = new_ssl(ctx, &listener_bio);
        return;
    }
    Client *c = &clients[nclients++];
    memset(c, 0, sizeof *c);
    c->ssl = listener;
    c->bio = listener_bio;
    c->started = c->last_rx = t;
    addr_name(from, c->name, sizeof c->name);
    stats.accepted++;
    say("accept %s (clients=%d)", c->name, nclients);
    listener = new_ssl(ctx, &listener_bio);
    service(nclients - 1);
}

/* Counts HelloVerifyRequests: the listener's BIO sees every datagram DTLSv1_listen sends, and those are all it sends. */
static int listener_write(BIO *b, const char *data, int len)
{
    if (b == SSL_get_wbio(listener))
        stats.hvr++;
    return dgram_write(b, data, len);
}

static void on_timers(double t)
{
    for (int i = 0; i < nclients;) {
        Client *c = &clients[i];
        if (t >= c->deadline) {
            stats.timedout++;
            drop_client(i, c->established ? "idle timeout" : "handshake timeout");
            continue;
        }
        struct timeval tv;
        if (DTLSv1_get_timeout(c->ssl, &tv) && tv.tv_sec == 0 && tv.tv_usec == 0) {
            /* Retransmits our last flight; past libssl's retry budget the handshake fails and the client ends here. */
            if (DTLSv1_handle_timeout(c->ssl) < 0) {
                char why[160];
                stats.failed++;
                drop_client(i, ssl_reason(c->ssl, -1, why, sizeof why));
                continue;
            }
            ERR_clear_error();
        }
        i++;
    }
}

static int next_wait_ms(double t)
{
    double wait = 1.0;
    for (int i = 0; i < nclients; i++) {
        double d = clients[i].deadline - t;
        if (d < wait)
            wait = d;
        struct timeval tv;
        if (DTLSv1_get_timeout(clients[i].ssl, &tv)) {
            double r = tv.tv_sec + tv.tv_usec / 1e6;
            if (r < wait)
                wait = r;
        }
    }
    return wait <= 0 ? 0 : (int)(wait * 1000) + 1;
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        want_status = 1;
    else
        want_exit = 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: ossl-dtls-server --cert FILE --key FILE [--host ADDR] [--port N] [--alpn P] [--keylog FILE]\n"
            "       [--max-clients N] [--handshake-timeout S] [--idle-timeout S] [--mtu N] [-v]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(flag) (strcmp(a, flag) == 0 && v != NULL && ++i)
        if (ARG("--host"))
            opt.host = v;
        else if (ARG("--port"))
            opt.port = v;
        else if (ARG("--cert"))
            opt.cert = v;
        else if (ARG("--key"))
            opt.key = v;
        else if (ARG("--alpn"))
            opt.alpn = v;
        else if (ARG("--keylog"))
            opt.keylog = v[0] ? v : NULL;
        else if (ARG("--max-clients"))
            opt.max_clients = atoi(v);
        else if (ARG("--handshake-timeout"))
            opt.handshake_timeout = atof(v);
        else if (ARG("--idle-timeout"))
            opt.idle_timeout = atof(v);
        else if (ARG("--mtu"))
            opt.mtu = atoi(v);
        else if (strcmp(a, "-v") == 0)
            opt.verbose = 1;
        else
            usage();
#undef ARG
    }
    if (opt.cert == NULL || opt.key == NULL || opt.port == NULL || opt.max_clients < 1 || opt.mtu < 256 ||
        opt.handshake_timeout <= 0 || opt.idle_timeout <= 0)
        usage();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (RAND_bytes(cookie_key, sizeof cookie_key) != 1)
        fatal("RAND_bytes");
    clients = calloc((size_t)opt.max_clients, sizeof *clients);
    dgram_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "crosswire datagram");
    if (clients == NULL || dgram_method == NULL)
        fatal("out of memory");
    BIO_meth_set_write(dgram_method, listener_write);
    BIO_meth_set_read(dgram_method, dgram_read);
    BIO_meth_set_ctrl(dgram_method, dgram_ctrl);
    BIO_meth_set_create(dgram_method, dgram_create);
    BIO_meth_set_destroy(dgram_method, dgram_destroy);

    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_PASSIVE },
                    *ai = NULL;
    if (getaddrinfo(opt.host, opt.port, &hints, &ai) != 0 || ai == NULL)
        fatal("--host/--port: cannot resolve");
    sock = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (sock < 0 || bind(sock, ai->ai_addr, ai->ai_addrlen) != 0)
        fatal(strerror(errno));
    freeaddrinfo(ai);
    int rcvbuf = 4 << 20;
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

    SSL_CTX *ctx = make_ctx();
    listener = new_ssl(ctx, &listener_bio);
    say("listening on udp port %s (%s, %s, max %d clients, handshake timeout %g s, idle timeout %g s)", opt.port,
        opt.host, OpenSSL_version(OPENSSL_VERSION), opt.max_clients, opt.handshake_timeout, opt.idle_timeout);

    static unsigned char buf[MAX_DATAGRAM];
    while (!want_exit) {
        if (want_status) {
            want_status = 0;
            status();
        }
        double t = now_s();
        struct pollfd p = { .fd = sock, .events = POLLIN };
        int n = poll(&p, 1, next_wait_ms(t));
        if (n < 0 && errno != EINTR)
            fatal(strerror(errno));
        t = now_s();
        /* A bounded batch, so that a flood of datagrams cannot starve the timers. */
        for (int k = 0; n > 0 && k < 64; k++) {
            struct sockaddr_storage from;
            socklen_t from_len = sizeof from;
            ssize_t r = recvfrom(sock, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
            if (r < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED)
                    fatal(strerror(errno));
                break;
            }
            on_datagram(ctx, buf, (size_t)r, &from, from_len, t);
        }
        on_timers(now_s());
    }
    status();
    for (int i = nclients - 1; i >= 0; i--)
        drop_client(i, "server exit");
    SSL_free(listener);
    SSL_CTX_free(ctx);
    return 0;
}
