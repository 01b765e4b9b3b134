/* ossl-quic-api: crosswire's stream-io peer on OpenSSL 3.5's QUIC API (RFC 9000 §2-3 streams, §3.2/§19.4-5 RESET_STREAM
 * and STOP_SENDING, §10.2 CONNECTION_CLOSE; OSSL_QUIC_client_method/OSSL_QUIC_server_method, SSL_new_listener,
 * SSL_accept_connection, SSL_new_stream, SSL_accept_stream, SSL_stream_conclude, SSL_stream_reset, SSL_shutdown_ex,
 * SSL_get_stream_{read,write}_{state,error_code}, SSL_get_conn_close_info).
 *
 * One connection, either role. stdin carries frames (type byte, 4-byte big-endian length, payload) that the program
 * performs in order, each waiting until it can complete; what it observes goes to an events file, one line each;
 * bytes read on handle 0 (the default stream) go to stdout, on handle h > 0 to OUTDIR/stream-h.bin.
 * The frames and events are documented in interop/peers/README.md (stream-io, "api frames"). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_HANDLES 256

typedef struct {
    SSL *ssl;            /* the stream object; for handle 0 in default-stream mode, the connection itself */
    int out;             /* where its bytes go */
    uint64_t read_bytes;
    int read_done;       /* FIN or reset seen (or the read side does not exist) */
    int stop_seen;       /* STOP_SENDING seen on the write side */
    int reset_sent;      /* an R frame reset the write side */
} Handle;

static struct {
    int server, multi, policy;
    const char *host, *port, *alpn, *ca, *servername, *cert, *key, *keylog, *events, *outdir;
} opt = { .host = "127.0.0.1", .servername = "localhost", .outdir = "." };

static FILE *events, *keylog_file;
static SSL *conn;
static Handle handles[MAX_HANDLES];
static int sent_first_write; /* client default stream: reading before the first write would bind a server stream */

static void event(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(events, fmt, ap);
    va_end(ap);
    fputc('\n', events);
    fflush(events);
}

static void die(const char *what)
{
    /* One event line for the runner (named in its failure reasons), OpenSSL's error queue on stderr for people. */
    if (events != NULL)
        event("error what=\"%s\"", what);
    fprintf(stderr, "ossl-quic-api: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    if (keylog_file != NULL) {
        fprintf(keylog_file, "%s\n", line);
        fflush(keylog_file);
    }
}

/* Server: pick our one ALPN if the client offered it (no common ALPN fails the handshake, as RFC 9001 §8.1 asks). */
static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                          unsigned int inlen, void *arg)
{
    const unsigned char *want = arg;
    (void)ssl;
    for (unsigned int i = 0; i < inlen; i += 1 + in[i])
        if (in[i] == want[0] && i + 1 + in[i] <= inlen && memcmp(in + i + 1, want + 1, want[0]) == 0) {
            *out = in + i + 1;
            *outlen = in[i];
            return SSL_TLSEXT_ERR_OK;
        }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int udp_socket(int server, BIO_ADDR **peer)
{
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = server ? AI_PASSIVE : 0 }, *ai;
    if (getaddrinfo(opt.host, opt.port, &hints, &ai) != 0)
        die("cannot resolve the address");
    int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (fd < 0 || (server ? bind(fd, ai->ai_addr, ai->ai_addrlen) : connect(fd, ai->ai_addr, ai->ai_addrlen)) != 0)
        die(server ? "cannot bind the UDP socket" : "cannot connect the UDP socket");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (peer != NULL) {
        /* QUIC needs the peer's address up front (SSL_set1_initial_peer_addr), even on a connected socket. */
        *peer = BIO_ADDR_new();
        if (ai->ai_family == AF_INET) {
            struct sockaddr_in *sa = (struct sockaddr_in *)ai->ai_addr;
            BIO_ADDR_rawmake(*peer, AF_INET, &sa->sin_addr, sizeof(sa->sin_addr), sa->sin_port);
        } else {
            struct sockaddr_in6 *sa = (struct sockaddr_in6 *)ai->ai_addr;
            BIO_ADDR_rawmake(*peer, AF_INET6, &sa->sin6_addr, sizeof(sa->sin6_addr), sa->sin6_port);
        }
    }
    freeaddrinfo(ai);
    return fd;
}

static int open_out(int h)
{
    if (h == 0)
        return 1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/stream-%d.bin", opt.outdir, h);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("cannot create a stream output file");
    return fd;
}

static void bind_handle(int h, SSL *s)
{
    handles[h].ssl = s;
    handles[h].out = open_out(h);
    /* A locally opened unidirectional stream has no read side to watch. */
    handles[h].read_done = (SSL_get_stream_type(s) & SSL_STREAM_TYPE_READ) == 0;
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die("cannot write read bytes out");
        p += k;
        n -= (size_t)k;
    }
}

/* Drains every readable stream; reports its end (FIN), a peer reset (RESET_STREAM code) and a peer STOP_SENDING. */
static void poll_streams(void)
{
    unsigned char buf[16384];
    size_t n;
    for (int h = 0; h < MAX_HANDLES; h++) {
        Handle *hd = &handles[h];
        if (hd->ssl == NULL)
            continue;
        while (!hd->read_done && (h != 0 || opt.server || sent_first_write || opt.multi)) {
            if (SSL_read_ex(hd->ssl, buf, sizeof(buf), &n)) {
                write_all(hd->out, buf, n);
                hd->read_bytes += n;
                continue;
            }
            int err = SSL_get_error(hd->ssl, 0);
            if (err == SSL_ERROR_ZERO_RETURN) {
                event("fin h=%d bytes=%llu", h, (unsigned long long)hd->read_bytes);
                hd->read_done = 1;
            } else if (err != SSL_ERROR_WANT_READ) {
                uint64_t code = 0;
                int st = SSL_get_stream_read_state(hd->ssl);
                if (st == SSL_STREAM_STATE_RESET_REMOTE && SSL_get_stream_read_error_code(hd->ssl, &code) == 1)
                    event("reset h=%d code=%llu bytes=%llu", h, (unsigned long long)code, (unsigned long long)hd->read_bytes);
                else if (st != SSL_STREAM_STATE_CONN_CLOSED)
                    event("read-error h=%d state=%d", h, st);
                hd->read_done = 1;
                ERR_clear_error();
            }
            break;
        }
        /* STOP_SENDING from the peer (RFC 9000 §3.5): OpenSSL answers it by resetting the send part with the same code
         * at once, and SSL_get_stream_write_state then reads RESET_LOCAL (the local reset is checked before the
         * peer's STOP_SENDING), not RESET_REMOTE. A local reset this program did not ask for (no R frame) is therefore
         * the peer's STOP_SENDING; the state is named in the event. */
        int ws = hd->stop_seen ? 0 : SSL_get_stream_write_state(hd->ssl);
        if (ws == SSL_STREAM_STATE_RESET_REMOTE || (ws == SSL_STREAM_STATE_RESET_LOCAL && !hd->reset_sent)) {
            uint64_t code = 0;
            if (SSL_get_stream_write_error_code(hd->ssl, &code) == 1) {
                event("stop-sending h=%d code=%llu state=%s", h, (unsigned long long)code,
                      ws == SSL_STREAM_STATE_RESET_REMOTE ? "RESET_REMOTE" : "RESET_LOCAL");
                hd->stop_seen = 1;
            }
        }
    }
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The frame at the head of the queue, performed as far as possible; returns 1 when done, 0 to retry later. */
static size_t write_off; /* how much of the head W/D frame's payload is written */
static int shutdown_started, shutdown_done;
static int perform(unsigned char type, const unsigned char *p, size_t len)
{
    int h = 0;
    if (type == 'D' || type == 'F') {
        /* The s_client-compatible frames: the default stream (handle 0). */
        type = type == 'D' ? 'W' : 'C';
    } else if (type != 'X' && type != 'Q') {
        if (len < 1)
            die("frame without a handle");
        h = p[0];
        p++;
        len--;
    }
    Handle *hd = &handles[h];
    if (type != 'O' && type != 'A' && type != 'X' && type != 'Q' && hd->ssl == NULL)
        die("frame for a handle with no stream");
    switch (type) {
    case 'O': { /* open: SSL_new_stream, bidirectional ('b') or unidirectional ('u') */
        SSL *s = SSL_new_stream(conn, (len > 0 && p[0] == 'u' ? SSL_STREAM_FLAG_UNI : 0) | SSL_STREAM_FLAG_NO_BLOCK);
        if (s == NULL) {
            ERR_clear_error();
            return 0; /* no stream credit yet (MAX_STREAMS) */
        }
        bind_handle(h, s);
        event("opened h=%d id=%llu", h, (unsigned long long)SSL_get_stream_id(s));
        return 1;
    }
    case 'A': { /* accept: SSL_accept_stream, the next stream the peer opened */
        SSL *s = SSL_accept_stream(conn, SSL_ACCEPT_STREAM_NO_BLOCK);
        if (s == NULL) {
            ERR_clear_error();
            return 0;
        }
        bind_handle(h, s);
        event("accepted h=%d id=%llu", h, (unsigned long long)SSL_get_stream_id(s));
        return 1;
    }
    case 'Q': /* the accept queue's length (accept-stream expect: none) */
        event("accept-queue len=%zu", SSL_get_accept_stream_queue_len(conn));
        return 1;
    case 'W': {
        while (write_off < len) {
            size_t n = 0;
            if (!SSL_write_ex(hd->ssl, p + write_off, len - write_off, &n)) {
                if (SSL_get_error(hd->ssl, 0) == SSL_ERROR_WANT_WRITE)
                    return 0; /* send buffer or flow control full: try again after the next events */
                die("SSL_write_ex failed");
            }
            write_off += n;
            sent_first_write = 1;
        }
        write_off = 0;
        return 1;
    }
    case 'C': /* conclude: FIN after the bytes written */
        if (!SSL_stream_conclude(hd->ssl, 0))
            die("SSL_stream_conclude failed");
        return 1;
    case 'R': { /* reset: RESET_STREAM with the application error code */
        SSL_STREAM_RESET_ARGS args = { .quic_error_code = len >= 8 ? be64(p) : 0 };
        hd->reset_sent = 1;
        if (!SSL_stream_reset(hd->ssl, &args, sizeof(args)))
            die("SSL_stream_reset failed");
        event("reset-sent h=%d code=%llu", h, (unsigned long long)args.quic_error_code);
        return 1;
    }
    case 'S': /* stop sending: OpenSSL 3.5 has no call for it; SSL_free of an unfinished stream sends STOP_SENDING code 0 */
        if (h == 0 && !opt.multi)
            die("the default stream cannot be freed apart from its connection");
        SSL_free(hd->ssl);
        if (hd->out > 1)
            close(hd->out);
        memset(hd, 0, sizeof(*hd));
        event("freed h=%d", h);
        return 1;
    case 'X': { /* shutdown: flags byte (1 = rapid), 8-byte application code, reason */
        if (len < 9)
            die("short X frame");
        static char reason[1024];
        size_t rl = len - 9 < sizeof(reason) - 1 ? len - 9 : sizeof(reason) - 1;
        memcpy(reason, p + 9, rl);
        reason[rl] = 0;
        SSL_SHUTDOWN_EX_ARGS args = { .quic_error_code = be64(p + 1), .quic_reason = reason };
        uint64_t flags = (p[0] & 1) ? SSL_SHUTDOWN_FLAG_RAPID : 0;
        /* Non-blocking: 0 while the streams flush and the close is in progress; the main loop keeps calling. */
        if (!shutdown_started)
            event("shutdown-started rapid=%d code=%llu", (p[0] & 1), (unsigned long long)args.quic_error_code);
        shutdown_started = 1;
        int r = SSL_shutdown_ex(conn, flags, &args, sizeof(args));
        if (r != 1) {
            SSL_CONN_CLOSE_INFO ci;
            /* Closed by the peer meanwhile: nothing left to shut down. */
            if (SSL_get_conn_close_info(conn, &ci, sizeof(ci)) && (ci.flags & SSL_CONN_CLOSE_FLAG_LOCAL) == 0) {
                ERR_clear_error();
                r = 1;
            } else if (r < 0 && SSL_get_error(conn, r) != SSL_ERROR_WANT_READ && SSL_get_error(conn, r) != SSL_ERROR_WANT_WRITE)
                die("SSL_shutdown_ex failed");
        }
        if (r != 1)
            return 0;
        shutdown_done = 1;
        event("shutdown-done");
        return 1;
    }
    default:
        die("unknown frame type");
    }
    return 1;
}

static void report_close(void)
{
    static int reported;
    SSL_CONN_CLOSE_INFO ci;
    if (reported || conn == NULL || !SSL_get_conn_close_info(conn, &ci, sizeof(ci)))
        return;
    reported = 1;
    event("close local=%d transport=%d code=%llu frame=%llu reason=\"%.*s\"", (ci.flags & SSL_CONN_CLOSE_FLAG_LOCAL) != 0,
          (ci.flags & SSL_CONN_CLOSE_FLAG_TRANSPORT) != 0, (unsigned long long)ci.error_code,
          (unsigned long long)ci.frame_type, (int)ci.reason_len, ci.reason != NULL ? ci.reason : "");
}

static void usage(void)
{
    fprintf(stderr, "usage: ossl-quic-api client|server --port P [--host H] --alpn A [--ca F --servername N] "
                    "[--cert F --key F] [--keylog F] [--events F] [--outdir D] [--streams default|multi] [--incoming accept|reject|auto]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "client") != 0 && strcmp(argv[1], "server") != 0))
        usage();
    opt.server = strcmp(argv[1], "server") == 0;
    for (int i = 2; i < argc; i++) {
        const char **slot = NULL;
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(argv[i], "--streams") && (!strcmp(v, "default") || !strcmp(v, "multi"))) {
            opt.multi = !strcmp(v, "multi");
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--incoming") && (!strcmp(v, "accept") || !strcmp(v, "reject") || !strcmp(v, "auto"))) {
            opt.policy = !strcmp(v, "accept") ? SSL_INCOMING_STREAM_POLICY_ACCEPT
                         : !strcmp(v, "reject") ? SSL_INCOMING_STREAM_POLICY_REJECT : SSL_INCOMING_STREAM_POLICY_AUTO;
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--host")) slot = &opt.host;
        else if (!strcmp(argv[i], "--port")) slot = &opt.port;
        else if (!strcmp(argv[i], "--alpn")) slot = &opt.alpn;
        else if (!strcmp(argv[i], "--ca")) slot = &opt.ca;
        else if (!strcmp(argv[i], "--servername")) slot = &opt.servername;
        else if (!strcmp(argv[i], "--cert")) slot = &opt.cert;
        else if (!strcmp(argv[i], "--key")) slot = &opt.key;
        else if (!strcmp(argv[i], "--keylog")) slot = &opt.keylog;
        else if (!strcmp(argv[i], "--events")) slot = &opt.events;
        else if (!strcmp(argv[i], "--outdir")) slot = &opt.outdir;
        if (slot == NULL || i + 1 >= argc)
            usage();
        *slot = argv[++i];
    }
    if (opt.port == NULL || opt.alpn == NULL || strlen(opt.alpn) > 255)
        usage();
    events = opt.events != NULL ? fopen(opt.events, "w") : stderr;
    if (events == NULL)
        die("cannot open the events file");
    if (opt.keylog != NULL && (keylog_file = fopen(opt.keylog, "a")) == NULL)
        die("cannot open the key log");
    unsigned char alpn[256];
    alpn[0] = (unsigned char)strlen(opt.alpn);
    memcpy(alpn + 1, opt.alpn, alpn[0]);

    SSL_CTX *ctx = SSL_CTX_new(opt.server ? OSSL_QUIC_server_method() : OSSL_QUIC_client_method());
    if (ctx == NULL)
        die("SSL_CTX_new failed");
    SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    /* Partial writes: a write larger than the stream's send buffer completes in pieces instead of failing. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL *listener = NULL;
    int fd;
    if (opt.server) {
        if (opt.cert == NULL || opt.key == NULL)
            usage();
        if (SSL_CTX_use_certificate_chain_file(ctx, opt.cert) <= 0 || SSL_CTX_use_PrivateKey_file(ctx, opt.key, SSL_FILETYPE_PEM) <= 0)
            die("cannot load the certificate or key");
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, alpn);
        fd = udp_socket(1, NULL);
        /* One listener, one connection: address validation (Retry) stays OpenSSL's default. */
        if ((listener = SSL_new_listener(ctx, 0)) == NULL || !SSL_set_fd(listener, fd) || !SSL_set_blocking_mode(listener, 0)
            || !SSL_listen(listener))
            die("cannot start the QUIC listener");
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        int port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
        event("listening port=%d", port);
        fprintf(stderr, "listening on udp port %d\n", port); /* the readiness line peer.yaml waits for */
    } else {
        BIO_ADDR *peer;
        if (opt.ca == NULL)
            usage();
        if (!SSL_CTX_load_verify_locations(ctx, opt.ca, NULL))
            die("cannot load the CA");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        fd = udp_socket(0, &peer);
        conn = SSL_new(ctx);
        BIO *bio = BIO_new_dgram(fd, BIO_CLOSE);
        if (conn == NULL || bio == NULL)
            die("SSL_new failed");
        SSL_set_bio(conn, bio, bio);
        /* The certificate is checked against the name (SNI and verification), not the address we send to. */
        if (!SSL_set_tlsext_host_name(conn, opt.servername) || !SSL_set1_host(conn, opt.servername)
            || SSL_set_alpn_protos(conn, alpn, alpn[0] + 1) != 0 || !SSL_set1_initial_peer_addr(conn, peer)
            || !SSL_set_blocking_mode(conn, 0))
            die("cannot configure the connection");
        if (opt.multi && (!SSL_set_default_stream_mode(conn, SSL_DEFAULT_STREAM_MODE_NONE)
                          || !SSL_set_incoming_stream_policy(conn, opt.policy, 0)))
            die("cannot set the stream mode");
        BIO_ADDR_free(peer);
    }

    /* stdin frames are queued and performed in order; reading stdin never waits for the network. */
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    unsigned char *in = NULL;
    size_t in_len = 0, in_cap = 0;
    int stdin_eof = 0, handshake_done = 0;
    for (;;) {
        if (opt.server && conn == NULL) {
            SSL_handle_events(listener);
            if ((conn = SSL_accept_connection(listener, SSL_ACCEPT_CONNECTION_NO_BLOCK)) != NULL) {
                /* Before anything reads the connection: multi-stream mode and the incoming stream policy. */
                if (!SSL_set_blocking_mode(conn, 0)
                    || (opt.multi && (!SSL_set_default_stream_mode(conn, SSL_DEFAULT_STREAM_MODE_NONE)
                                      || !SSL_set_incoming_stream_policy(conn, opt.policy, 0))))
                    die("cannot configure the accepted connection");
                event("connection");
            }
        }
        if (conn != NULL) {
            SSL_handle_events(conn);
            if (!handshake_done) {
                int r = SSL_do_handshake(conn);
                if (r == 1) {
                    const unsigned char *a;
                    unsigned int al;
                    SSL_get0_alpn_selected(conn, &a, &al);
                    event("handshake alpn=%.*s", (int)al, a);
                    handshake_done = 1;
                    /* Default-stream mode: the connection object is the stream (handle 0); the server reads the
                     * client's stream through it from now on, the client once it has written (see poll_streams). */
                    if (!opt.multi)
                        bind_handle(0, conn);
                } else {
                    int e = SSL_get_error(conn, r);
                    SSL_CONN_CLOSE_INFO ci;
                    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                        /* The peer may close as soon as its own handshake completes, before ours returns: that is a
                         * close to report (and frames still to answer), not a failure of this program. */
                        if (!SSL_get_conn_close_info(conn, &ci, sizeof(ci)) || (ci.flags & SSL_CONN_CLOSE_FLAG_LOCAL) != 0) {
                            report_close();
                            die("handshake failed");
                        }
                        ERR_clear_error();
                        event("handshake-interrupted");
                        handshake_done = 1;
                        if (!opt.multi)
                            bind_handle(0, conn);
                    }
                }
            }
            if (handshake_done) {
                poll_streams();
                /* Perform queued frames in order until one has to wait. */
                while (in_len >= 5) {
                    size_t flen = ((size_t)in[1] << 24) | ((size_t)in[2] << 16) | ((size_t)in[3] << 8) | in[4];
                    if (in_len < 5 + flen || !perform(in[0], in + 5, flen))
                        break;
                    memmove(in, in + 5 + flen, in_len - 5 - flen);
                    in_len -= 5 + flen;
                }
                poll_streams();
            }
            report_close();
            /* stdin EOF: without an X frame before it, the close s_client makes (full, application code 0, no
             * reason) is queued; once every frame is done and the connection is closed, exit. */
            if (stdin_eof && in_len == 0) {
                if (shutdown_done)
                    break;
                if (!shutdown_started) {
                    static const unsigned char plain[14] = { 'X', 0, 0, 0, 9 };
                    memcpy(in, plain, sizeof(plain)); /* in_cap >= 65536 once stdin was read at all */
                    in_len = sizeof(plain);
                    continue;
                }
            }
            if (stdin_eof && !handshake_done && SSL_get_conn_close_info(conn, &(SSL_CONN_CLOSE_INFO){ 0 }, sizeof(SSL_CONN_CLOSE_INFO)))
                die("the connection closed before the handshake completed");
        }
        /* Wait for the socket, stdin or OpenSSL's next timer (capped so queued frames are retried). */
        struct timeval tv;
        int infinite = 1;
        int ms = 20;
        if (SSL_get_event_timeout(conn != NULL ? conn : listener, &tv, &infinite) && !infinite) {
            long t = tv.tv_sec * 1000 + tv.tv_usec / 1000;
            if (t < ms)
                ms = (int)t;
        }
        if (in_len >= 5)
            ms = ms > 2 ? 2 : ms;
        struct pollfd pf[2] = { { .fd = fd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
        poll(pf, stdin_eof ? 1 : 2, ms);
        if (!stdin_eof && (pf[1].revents & (POLLIN | POLLHUP))) {
            if (in_cap - in_len < 65536) {
                in_cap = in_cap * 2 + 65536;
                if ((in = realloc(in, in_cap)) == NULL)
                    die("out of memory");
            }
            ssize_t k = read(0, in + in_len, in_cap - in_len);
            if (k == 0)
                stdin_eof = 1;
            else if (k > 0)
                in_len += (size_t)k;
        }
    }
    poll_streams();
    report_close();
    event("exit");
    SSL_free(conn);
    SSL_free(listener);
    SSL_CTX_free(ctx);
    return 0;
}
