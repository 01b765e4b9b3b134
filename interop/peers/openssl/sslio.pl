#!/usr/bin/perl
# I/O glue between crosswire's endpoint contract and `openssl s_server` / `openssl s_client` (any OpenSSL 3.x).
# Only modules from perl-base (always installed on Debian) are used.
#
# The trick everywhere: s_server and s_client turn each read() of their stdin into one SSL_write (one record), and
# each received record into one write() to stdout. Their stdin/stdout here are AF_UNIX SOCK_SEQPACKET sockets, which
# keep write() boundaries (every read() returns exactly one earlier write()), so records keep their boundaries
# end to end; that matters for DTLS, where each message is one datagram and the peer may compare datagrams.
#
#   sslio.pl echo-server [--cleanup DIR] [--idle S --port P] -- CMD...
#       Runs CMD (an `openssl s_server -quiet -naccept 1 ...`) with its stdout fed back into its stdin (one
#       SOCK_SEQPACKET socket pair): every record received is sent back unchanged as one record. Starts CMD again
#       each time it exits (one DTLS client per s_server, see below); TERM ends CMD and removes DIR.
#
#   sslio.pl http-get --out FILE --request TEXT [--keyupdate] -- CMD...
#       Runs CMD (an `openssl s_client -quiet ...` connected to an HTTP/1.0 server), sends TEXT (\r \n escapes
#       allowed) as one write, keeps stdin open until CMD exits, then checks the response (status 200,
#       Content-Length when present) and writes the body to FILE. --keyupdate first sends "K\n" as a packet of its
#       own, which s_client (with -no_ign_eof, command letters on) turns into a TLS 1.3 KeyUpdate (update_requested).
#
#   sslio.pl echo-client --messages FILE --out FILE [--timeout S] [--handshake-timeout S] [--resend S] -- CMD...
#       Runs CMD (an `openssl s_client -brief -no_ign_eof -nocommands -timeout ...`), sends each line of the messages file
#       (newline included) as its own record, matches the records that come back against them, re-sends the
#       unanswered ones after --resend seconds without progress (DTLS does not retransmit application data), and
#       when all came back writes them, in file order, to the out file (= the messages file, byte for byte) and
#       closes stdin so s_client sends close_notify. Exits 1 when they are not all back --timeout seconds (default
#       30) after the handshake, or without a handshake after --handshake-timeout (default 120), writing what did
#       come back.
#
#   sslio.pl quic-stream -- CMD...
#       crosswire's stream-io contract (interop/peers/README.md) on top of CMD, an `openssl s_client -quic -quiet
#       -no_ign_eof -adv ...`: stdin carries frames TYPE (1 byte) LENGTH (4 bytes, big-endian) PAYLOAD, 'D' = bytes
#       to write on the default stream, 'F' = conclude it (FIN); stdin EOF = close the connection. CMD's stdout (what it
#       read on the stream) and stderr pass through; the exit status is CMD's.
#       s_client has FIN only as the advanced-mode command "{fin}" (SSL_stream_conclude); its stdin EOF is SSL_shutdown.
#       Advanced mode looks for "{" with strchr() in each read() of stdin, so "{" goes as "{{", an escape or "{fin}"
#       never straddles two reads (each SOCK_SEQPACKET packet is one read), and no packet holds both a NUL byte and a
#       "{" (strchr would stop at the NUL and pass a later "{{" on unescaped).
use strict;
use warnings;
no warnings "exec"; # exec is followed by an error report, not by die
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use Socket qw(AF_UNIX SOCK_SEQPACKET);
use POSIX qw(:sys_wait_h _exit);

my $ME = 'sslio';
sub fail { print STDERR "$ME: @_\n"; exit 1; }

# A one-way channel that keeps message boundaries: an AF_UNIX SOCK_SEQPACKET socket pair. Returns (read end, write
# end). s_server and s_client read stdin with a 16 KB buffer, the most a (D)TLS record carries anyway.
sub packet_pipe {
    socketpair(my $r, my $w, AF_UNIX, SOCK_SEQPACKET, 0) or fail "socketpair(AF_UNIX, SOCK_SEQPACKET): $!";
    shutdown($r, 1);
    shutdown($w, 0);
    return ($r, $w);
}

sub nonblocking { my $fh = shift; my $fl = fcntl($fh, F_GETFL, 0); fcntl($fh, F_SETFL, $fl | O_NONBLOCK); }

sub unescape { my $s = shift; $s =~ s/\\r/\r/g; $s =~ s/\\n/\n/g; $s =~ s/\\t/\t/g; $s =~ s/\\\\/\\/g; return $s; }

# Splits "--opt value ... -- CMD..." into (\%opts, \@cmd). Flags listed in %$flags take no value.
sub parse_args {
    my ($flags, @a) = @_;
    my %o;
    while (@a) {
        my $x = shift @a;
        last if $x eq '--';
        fail "unexpected argument '$x'" unless $x =~ /^--([a-z-]+)$/;
        if ($flags->{$1}) { $o{$1} = 1; } else { fail "--$1 needs a value" unless @a; $o{$1} = shift @a; }
    }
    fail 'no command after --' unless @a;
    return (\%o, \@a);
}

# Starts CMD with the given stdin/stdout handles; returns its pid.
my $child = 0;
sub spawn {
    my ($in, $out, $cmd, $err) = @_;
    my $pid = fork();
    fail "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open(STDIN, '<&', $in) or _exit(126);
        open(STDOUT, '>&', $out) or _exit(126);
        if ($err) { open(STDERR, '>&', $err) or _exit(126); }
        exec { $cmd->[0] } @$cmd;
        print STDERR "$ME: cannot run $cmd->[0]: $!\n";
        _exit(127);
    }
    $child = $pid;
    return $pid;
}

# TERM/INT/HUP: end the child too.
for my $sig (qw(TERM INT HUP)) {
    $SIG{$sig} = sub { kill 'TERM', $child if $child; exit 143; };
}
$SIG{PIPE} = 'IGNORE'; # a write to an s_client that already exited fails with EPIPE instead

sub wait_child {
    my ($pid, $secs) = @_;
    my $end = time + $secs;
    my $termed = 0;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        return $? if $r == $pid;
        return -1 if $r < 0;
        if (time >= $end) {
            if ($termed) { kill 'KILL', $pid; } else { kill 'TERM', $pid; $termed = 1; $end = time + 2; }
        }
        select(undef, undef, undef, 0.05);
    }
}

my $mode = shift @ARGV // fail 'usage: sslio.pl echo-server|http-get|echo-client ...';

# Is a UDP socket bound to local port $port connect()ed to a peer (s_server after DTLSv1_listen let a client in)?
sub udp_port_connected {
    my $port = sprintf('%04X', shift);
    for my $f ('/proc/net/udp', '/proc/net/udp6') {
        open(my $fh, '<', $f) or next;
        while (<$fh>) {
            my @c = split ' ';
            next unless @c > 2 && $c[1] =~ /:$port$/;
            return 1 if $c[2] !~ /:0000$/;
        }
    }
    return 0;
}

# Bytes a process passed to write(2) and the like (stdout, stderr, datagrams written to a connected socket; not
# sendto/sendmsg): /proc/PID/io wchar.
sub wchar {
    my $pid = shift;
    open(my $fh, '<', "/proc/$pid/io") or return undef;
    while (<$fh>) { return $1 if /^wchar:\s*(\d+)/; }
    return undef;
}

if ($mode eq 'echo-server') {
    my ($o, $cmd) = parse_args({}, @ARGV);
    my $cleanup = $o->{cleanup};
    my $idle = $o->{idle} // 0;
    my $port = $o->{port};
    for my $sig (qw(TERM INT HUP)) {
        $SIG{$sig} = sub { kill 'TERM', $child if $child; system('rm', '-rf', '--', $cleanup) if $cleanup; exit 143; };
    }
    # s_server -listen only does the stateless cookie exchange for its first client: it then connect()s its UDP socket
    # to that client and stays bound to it, even after the connection ends. So CMD serves one client (-naccept 1) and
    # is started again for the next one.
    # Its stdout is the write end and its stdin the read end of one socket pair: an echo is in stdin the moment the
    # record is written out, and s_server, which looks at stdin before the network in each turn of its loop, sends
    # it before it reads the next record (so an echo also goes out before a close_notify that followed the record).
    # A client that vanished without close_notify (lost on the way) would hold the server forever: with --idle S and
    # --port P, an s_server whose socket is connected to a client and that wrote nothing for S seconds is restarted.
    # "Wrote" is /proc/PID/io wchar: its echoes to stdout and, once connected, its datagrams (OpenSSL sends on a
    # connected UDP socket with write()). Under heavy loss a handshake can stay silent for minutes (DTLS timers back
    # off to 60 s and answers get lost too), so S must be long (endpoint.sh: 180 s); each run starts a fresh server
    # anyway, this only matters for a later client of the same server.
    my $quick_failures = 0;
    while (1) {
        my ($r, $w) = packet_pipe();
        my $t0 = time;
        my $pid = spawn($r, $w, $cmd);
        close $r;
        close $w;
        my ($last, $seen, $st) = (time, undef, undef);
        while (1) {
            if (waitpid($pid, WNOHANG) == $pid) { $st = $?; last; }
            my $wc = wchar($pid);
            if (defined $wc && (!defined $seen || $wc != $seen)) { $last = time; $seen = $wc; }
            if ($idle && $port && time - $last >= $idle && udp_port_connected($port)) {
                print STDERR "$ME: s_server silent for ${idle}s with a client (gone without close_notify?): restarting it\n";
                kill 'TERM', $pid;
                waitpid($pid, 0);
                $st = $?;
                last;
            }
            select(undef, undef, undef, 0.25);
        }
        $child = 0;
        if ($st != 0 && time - $t0 < 2) {
            fail "$cmd->[0] fails at once (status " . ($st >> 8) . '), giving up' if ++$quick_failures >= 5;
            select(undef, undef, undef, 0.3);
        } else {
            $quick_failures = 0;
        }
        print STDERR "$ME: s_server ended (status " . ($st >> 8) . "), starting it again for the next client\n";
    }
}

if ($mode eq 'http-get') {
    my ($o, $cmd) = parse_args({ keyupdate => 1 }, @ARGV);
    my $outfile = $o->{out} // fail '--out missing';
    my $request = unescape($o->{request} // fail '--request missing');
    my ($in_r, $in_w) = packet_pipe();
    pipe(my $out_r, my $out_w) or fail "pipe: $!";
    my $pid = spawn($in_r, $out_w, $cmd);
    close $in_r;
    close $out_w;
    # s_client reads stdin only once the handshake is done; the packets wait in the pipe, each read separately.
    syswrite($in_w, "K\n") if $o->{keyupdate};
    my $sent = syswrite($in_w, $request) // 0; # s_client may already have failed (its status is reported below)
    open(my $fh, '>:raw', $outfile) or fail "$outfile: $!";
    my ($head, $header_done, $status, $length, $body) = ('', 0, '', undef, 0);
    while (1) {
        my $n = sysread($out_r, my $buf, 1 << 16);
        fail "reading s_client output: $!" unless defined $n;
        last if $n == 0;
        if (!$header_done) {
            $head .= $buf;
            my $i = index($head, "\r\n\r\n");
            next if $i < 0 && length($head) < (1 << 20);
            fail 'no end of the HTTP response header in the first MB' if $i < 0;
            $header_done = 1;
            my $h = substr($head, 0, $i);
            $buf = substr($head, $i + 4);
            ($status) = $h =~ m{^(HTTP/\d\.\d \d\d\d[^\r\n]*)};
            fail 'response does not start with an HTTP status line: ' . substr($h, 0, 80) unless $status;
            ($length) = $h =~ m{\r\ncontent-length:\s*(\d+)}i;
        }
        print $fh $buf or fail "$outfile: $!";
        $body += length $buf;
    }
    close $fh or fail "$outfile: $!";
    my $st = wait_child($pid, 10);
    close $in_w;
    fail 'connection ended before a complete HTTP response header (s_client status ' . ($st >> 8) . ')' unless $header_done;
    fail 'the request could not be written to s_client' unless $sent == length $request;
    fail "server answered '$status'" unless $status =~ m{^HTTP/\d\.\d 200};
    fail "body has $body bytes, Content-Length says $length" if defined $length && $length != $body;
    if ($st != 0) {
        # s_client exits 1 when the server closes TCP without close_notify; the body is complete when
        # Content-Length says so, otherwise a truncation cannot be told apart from the end of the body.
        my $code = $st >> 8;
        fail "s_client exited with status $code" unless defined $length;
        print STDERR "$ME: s_client exited with status $code after a complete body (Content-Length $length)\n";
    }
    print STDERR "$ME: $outfile: $body bytes ($status)\n";
    exit 0;
}

if ($mode eq 'echo-client') {
    my ($o, $cmd) = parse_args({}, @ARGV);
    my $outfile = $o->{out} // fail '--out missing';
    my $timeout = $o->{timeout} // 30;
    my $hs_timeout = $o->{'handshake-timeout'} // 120;
    my $resend = $o->{resend} // 1;
    open(my $mf, '<:raw', $o->{messages} // fail '--messages missing') or fail "$o->{messages}: $!";
    my @msgs = do { local $/; my $all = <$mf> // ''; grep { length } split /(?<=\n)/, $all };
    close $mf;
    my @back = (0) x @msgs;
    my $left = @msgs;

    my ($in_r, $in_w) = packet_pipe();
    my ($out_r, $out_w) = packet_pipe();
    pipe(my $err_r, my $err_w) or fail "pipe: $!";
    my $pid = spawn($in_r, $out_w, $cmd, $err_w);
    close $in_r;
    close $out_w;
    close $err_w;
    nonblocking($in_w);
    nonblocking($out_r);
    nonblocking($err_r);

    # The messages wait in s_client's stdin until its handshake is done (it reads stdin only then). The handshake's
    # end is the "CONNECTION ESTABLISHED" line of -brief on its stderr: the --timeout (for the echo) and the re-send
    # timer start there; the handshake itself may take up to --handshake-timeout (DTLS timers back off under loss).
    my @queue = @msgs;
    my $start = time;
    my $hs_at;
    my $last_progress = time;
    my ($records, $unexpected, $resends) = (0, 0, 0);
    my ($child_done, $errbuf) = (0, '');
    while ($left > 0) {
        my $now = time;
        last if defined $hs_at ? $now - $hs_at >= $timeout : $now - $start >= $hs_timeout;
        my ($rin, $win) = ('', '');
        vec($rin, fileno($out_r), 1) = 1;
        vec($rin, fileno($err_r), 1) = 1 if $err_r;
        vec($win, fileno($in_w), 1) = 1 if @queue;
        my $n = select(my $rout = $rin, my $wout = $win, undef, 0.1);
        if ($n > 0 && $err_r && vec($rout, fileno($err_r), 1)) {
            my $r = sysread($err_r, my $e, 8192);
            if (!$r) { close $err_r; $err_r = undef; }
            else {
                print STDERR $e;
                $errbuf .= $e;
                if (!defined $hs_at && $errbuf =~ /^CONNECTION ESTABLISHED/m) { $hs_at = time; $last_progress = time; }
                $errbuf = substr($errbuf, -256) if length $errbuf > 4096;
            }
        }
        if ($n > 0 && @queue && vec($wout, fileno($in_w), 1)) {
            while (@queue) {
                my $w = syswrite($in_w, $queue[0]);
                last unless defined $w; # EAGAIN: s_client's stdin is full
                shift @queue;
            }
        }
        if ($n > 0 && vec($rout, fileno($out_r), 1)) {
            my $r = sysread($out_r, my $rec, 1 << 17);
            if (defined $r && $r == 0) { $child_done = 1; last; }
            if (defined $r) {
                $records++;
                my $found = 0;
                # One record = one message; otherwise try it as consecutive unanswered messages (a peer that merged).
                for my $k (0 .. $#msgs) {
                    if (!$back[$k] && $msgs[$k] eq $rec) { $back[$k] = 1; $left--; $found = 1; last; }
                }
                if (!$found) {
                    my @take;
                    my $rest = $rec;
                    for my $k (0 .. $#msgs) {
                        next if $back[$k];
                        last unless length $rest && substr($rest, 0, length $msgs[$k]) eq $msgs[$k];
                        push @take, $k;
                        $rest = substr($rest, length $msgs[$k]);
                    }
                    if (@take && !length $rest) { $back[$_] = 1 for @take; $left -= @take; $found = 1; }
                }
                if ($found) { $last_progress = time; } else { $unexpected++; }
            }
        }
        if (defined $hs_at && !@queue && $left > 0 && time - $last_progress >= $resend) {
            @queue = map { $msgs[$_] } grep { !$back[$_] } 0 .. $#msgs;
            $resends += @queue;
            $last_progress = time;
        }
    }
    open(my $fh, '>:raw', $outfile) or fail "$outfile: $!";
    print $fh map { $back[$_] ? $msgs[$_] : () } 0 .. $#msgs;
    close $fh or fail "$outfile: $!";
    my $got = @msgs - $left;
    print STDERR "$ME: $got of " . scalar(@msgs) . " message(s) echoed back ($records record(s) received, $unexpected unmatched, $resends re-sent"
      . (defined $hs_at ? sprintf(', handshake after %d s', $hs_at - $start) : ', no handshake') . ")\n";
    # EOF on s_client's stdin: with -no_ign_eof it sends close_notify and exits (the server can take the next client).
    close $in_w;
    my $st = $child_done ? wait_child($pid, 2) : wait_child($pid, 3);
    fail "s_client ended before all messages came back (status " . ($st >> 8) . ")" if $child_done && $left;
    fail "handshake not done after ${hs_timeout}s" unless defined $hs_at || !$left;
    fail "timeout ${timeout}s after the handshake: $left message(s) did not come back" if $left;
    exit 0;
}

if ($mode eq 'quic-stream') {
    my ($o, $cmd) = parse_args({}, @ARGV);
    my ($in_r, $in_w) = packet_pipe();
    open(my $out, '>&', \*STDOUT) or fail "dup stdout: $!";
    my $pid = spawn($in_r, $out, $cmd);
    close $out;
    close $in_r;
    binmode STDIN;
    my $readn = sub {
        my $want = shift;
        my $buf = '';
        while (length($buf) < $want) {
            my $n = sysread(STDIN, $buf, $want - length($buf), length($buf));
            fail "reading stdin: $!" unless defined $n;
            return undef if $n == 0;
        }
        return $buf;
    };
    # One packet per read() of s_client: at most 1024 bytes before escaping (s_client reads up to 16 KB at a time; a
    # larger packet would be cut short).
    my $put = sub { return defined syswrite($in_w, shift); };
    my $send = sub { my $raw = shift; return $put->($raw =~ s/\{/{{/gr); };
    # A failed write means s_client is gone: stop feeding it and report its exit status.
    FRAME: while (my $head = $readn->(5)) {
        my ($type, $len) = unpack('a1 N', $head);
        my $payload = $len ? $readn->($len) : '';
        fail "stdin ended inside a frame" unless defined $payload;
        if ($type eq 'F') {
            last FRAME unless $put->('{fin}');
            next;
        }
        fail "unknown frame type '$type'" unless $type eq 'D';
        my ($start, $brace, $nul) = (0, 0, 0);
        for my $i (0 .. length($payload) - 1) {
            my $c = substr($payload, $i, 1);
            my ($b, $z) = ($c eq '{', $c eq "\0");
            if ($i - $start >= 1024 || ($b && $nul) || ($z && $brace)) {
                last FRAME unless $send->(substr($payload, $start, $i - $start));
                ($start, $brace, $nul) = ($i, 0, 0);
            }
            $brace ||= $b;
            $nul ||= $z;
        }
        last FRAME if $start < length($payload) && !$send->(substr($payload, $start));
    }
    # stdin EOF (or s_client gone): s_client's stdin ends too, so it shuts the connection down and exits.
    close $in_w;
    my $st = wait_child($pid, 60);
    exit($st < 0 ? 1 : ($st & 127) ? 128 + ($st & 127) : $st >> 8);
}

fail "unknown mode '$mode'";
