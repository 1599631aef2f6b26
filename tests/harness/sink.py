"""An SMTP / LMTP delivery sink on a loopback port that records every transaction.

    sink = Sink("lmtp"); sink.start()          # sink.port is picked at run time
    sink.set_rcpt_reply("bob@example.org", 550, "5.1.1 no such user")
    sink.set_data_reply("carol@example.org", 452, "4.2.2 mailbox full")   # LMTP
    sink.set_default_rcpt_reply(451, "4.3.0 try later")                  # outage
    ...
    sink.wait_for(lambda txs: len(txs) >= 3, timeout=20)
    for tx in sink.transactions(): tx.mail_from, tx.recipients, tx.data
    sink.stop()

It stands for the final hop of a mail system (Dovecot LMTP, a relay) in tests
that check what Postfix delivered, so it implements the server side of both
protocols faithfully: EHLO/HELO (SMTP) or LHLO (LMTP), MAIL, RCPT, DATA with
dot-unstuffing, RSET, NOOP, VRFY, QUIT and PIPELINING (commands are read and
answered strictly in order). LMTP answers DATA once per accepted recipient.

A Transaction is recorded when DATA completes. `recipients` are the
recipients whose final answer was 2xx (the ones Postfix considers delivered);
`rcpt_replies` and `data_replies` hold every answer given. Every RCPT attempt,
also refused ones, is kept in `rcpt_log()`.

Limits: command lines of MAX_LINE bytes, messages of MAX_DATA bytes, at most
MAX_RCPTS recipients per transaction, MAX_CLIENTS concurrent sessions and an
idle timeout per session; a client exceeding any of them gets an error reply.
"""
import re
import socket
import socketserver
import threading
import time

MAX_LINE = 4096            # RFC 5321 allows 512 for commands; stay generous
MAX_DATA_LINE = 1 << 16
MAX_DATA = 32 << 20
MAX_RCPTS = 10000
MAX_CLIENTS = 200
IDLE_TIMEOUT = 120.0

_PATH_RE = re.compile(r"^\s*<([^<>]*)>(.*)$")


class SinkError(Exception):
    pass


class Transaction:
    """One completed MAIL..DATA exchange."""

    def __init__(self, sink_name, proto, helo, peer, mail_from, mail_params):
        self.sink = sink_name
        self.protocol = proto
        self.helo = helo
        self.peer = peer
        self.mail_from = mail_from
        self.mail_params = mail_params
        self.rcpt_replies = []      # [(rcpt, code, text)] for every RCPT of this transaction
        self.data_replies = []      # [(rcpt or None, code, text)]
        self.recipients = []        # rcpts with a final 2xx
        self.data = b""
        self.time = time.time()

    def header(self, name):
        """First value of a header in the message, or None."""
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        want = name.lower() + ":"
        value = None
        for line in head.split("\r\n"):
            if value is not None:
                if line[:1] in (" ", "\t"):
                    value += " " + line.strip()
                    continue
                return value
            if line.lower().startswith(want):
                value = line[len(want):].strip()
        return value

    def __repr__(self):
        return (f"Transaction({self.sink}: from=<{self.mail_from}> to={self.recipients} "
                f"{len(self.data)} bytes)")


def _parse_path(arg, keyword):
    """'FROM:<a@b> SIZE=1' -> ('a@b', 'SIZE=1'); raises SinkError on syntax errors."""
    if not arg.upper().startswith(keyword + ":"):
        raise SinkError(f"501 5.5.4 Syntax: {keyword}:<address>")
    m = _PATH_RE.match(arg[len(keyword) + 1:])
    if not m:
        raise SinkError("501 5.1.7 Bad address syntax")
    return m.group(1), m.group(2).strip()


class _Handler(socketserver.StreamRequestHandler):
    timeout = IDLE_TIMEOUT

    def setup(self):
        super().setup()
        self.sink = self.server.sink

    def reply(self, code, text):
        lines = text.split("\n")
        out = "".join(f"{code}-{l}\r\n" for l in lines[:-1]) + f"{code} {lines[-1]}\r\n"
        self.wfile.write(out.encode())
        self.wfile.flush()

    def readline(self, limit):
        line = self.rfile.readline(limit + 1)
        if not line:
            raise EOFError
        if len(line) > limit:
            raise SinkError("500 5.5.2 Line too long")
        return line

    def handle(self):
        sink = self.sink
        if not sink._enter():
            self.reply(421, "4.3.2 Too many connections")
            return
        try:
            self.session()
        except (EOFError, ConnectionError, socket.timeout, OSError):
            pass
        finally:
            sink._leave()

    def session(self):
        sink = self.sink
        proto = sink.protocol
        if sink.greeting_code != 220:
            self.reply(sink.greeting_code, sink.greeting_text)
            return
        self.reply(220, f"{sink.hostname} {proto.upper()} mxkit test sink")
        helo = None
        tx = None
        peer = self.client_address[0]
        while True:
            try:
                raw = self.readline(MAX_LINE)
            except SinkError as e:
                self.reply(*str(e).split(" ", 1))
                # discard the rest of the over-long line
                while not self.rfile.readline(MAX_LINE).endswith(b"\n"):
                    pass
                continue
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO", "LHLO"):
                want = ("LHLO",) if proto == "lmtp" else ("EHLO", "HELO")
                if verb not in want:
                    self.reply(500, f"5.5.1 {verb} not valid for {proto.upper()}")
                    continue
                helo = arg.strip()
                tx = None
                if verb == "HELO":
                    self.reply(250, sink.hostname)
                else:
                    self.reply(250, "\n".join([sink.hostname, "PIPELINING", "8BITMIME",
                                               "ENHANCEDSTATUSCODES", f"SIZE {MAX_DATA}"]))
            elif verb == "MAIL":
                if helo is None:
                    self.reply(503, "5.5.1 Send HELO/EHLO/LHLO first")
                elif tx is not None:
                    self.reply(503, "5.5.1 Nested MAIL command")
                else:
                    try:
                        addr, params = _parse_path(arg, "FROM")
                    except SinkError as e:
                        self.reply(*str(e).split(" ", 1))
                        continue
                    tx = Transaction(sink.name, proto, helo, peer, addr, params)
                    self.reply(250, "2.1.0 Ok")
            elif verb == "RCPT":
                if tx is None:
                    self.reply(503, "5.5.1 Need MAIL command")
                    continue
                try:
                    addr, _params = _parse_path(arg, "TO")
                except SinkError as e:
                    self.reply(*str(e).split(" ", 1))
                    continue
                if len(tx.rcpt_replies) >= MAX_RCPTS:
                    code, text = 452, "4.5.3 Too many recipients"
                else:
                    code, text = sink._rcpt_reply(addr)
                tx.rcpt_replies.append((addr, code, text))
                sink._log_rcpt(tx.mail_from, addr, code)
                self.reply(code, text)
            elif verb == "DATA":
                if tx is None:
                    self.reply(503, "5.5.1 Need MAIL command")
                    continue
                accepted = [r for r, c, _ in tx.rcpt_replies if 200 <= c < 300]
                if not accepted:
                    self.reply(554, "5.5.1 No valid recipients")
                    tx = None
                    continue
                self.reply(354, "End data with <CR><LF>.<CR><LF>")
                data, too_big = self.read_data()
                tx.data = data
                if too_big:
                    self.reply(552, "5.3.4 Message too big")
                    tx = None
                    continue
                if proto == "lmtp":
                    for r in accepted:
                        code, text = sink._data_reply(r)
                        tx.data_replies.append((r, code, text))
                        if 200 <= code < 300:
                            tx.recipients.append(r)
                        self.reply(code, text)
                else:
                    code, text = sink._data_reply(None)
                    tx.data_replies.append((None, code, text))
                    if 200 <= code < 300:
                        tx.recipients = accepted
                    self.reply(code, text)
                sink._record(tx)
                tx = None
            elif verb == "RSET":
                tx = None
                self.reply(250, "2.0.0 Ok")
            elif verb == "NOOP":
                self.reply(250, "2.0.0 Ok")
            elif verb == "VRFY":
                self.reply(252, "2.0.0 Cannot VRFY")
            elif verb == "QUIT":
                self.reply(221, "2.0.0 Bye")
                return
            else:
                self.reply(500, "5.5.2 Command not recognized")

    def read_data(self):
        chunks = []
        size = 0
        too_big = False
        while True:
            line = self.rfile.readline(MAX_DATA_LINE)
            if not line:
                raise EOFError
            if line in (b".\r\n", b".\n"):
                break
            if line.startswith(b"."):
                line = line[1:]
            size += len(line)
            if size > MAX_DATA:
                too_big = True
            elif not too_big:
                chunks.append(line)
        return b"".join(chunks), too_big


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False


class Sink:
    """A recording SMTP or LMTP server on 127.0.0.1."""

    def __init__(self, protocol="smtp", name=None, host="127.0.0.1", port=0,
                 hostname="sink.mxkit.test"):
        if protocol not in ("smtp", "lmtp"):
            raise ValueError("protocol must be 'smtp' or 'lmtp'")
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the sink listens on loopback only")
        self.protocol = protocol
        self.name = name or protocol
        self.hostname = hostname
        self._host = host
        self._want_port = port
        self.port = None
        self._server = None
        self._thread = None
        self._cond = threading.Condition()
        self._txs = []
        self._rcpts = []
        self._rcpt_rules = {}
        self._data_rules = {}
        self._default_rcpt = (250, "2.1.5 Ok")
        self._default_data = (250, "2.0.0 Ok: queued")
        self._clients = 0
        self.greeting_code = 220
        self.greeting_text = ""

    # -- lifecycle -------------------------------------------------------
    def start(self):
        self._server = _Server((self._host, self._want_port), _Handler)
        self._server.sink = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name=f"sink-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        """Postfix next-hop syntax: '[127.0.0.1]:PORT' (smtp) / 'inet:127.0.0.1:PORT' (lmtp)."""
        if self.protocol == "lmtp":
            return f"inet:{self._host}:{self.port}"
        return f"[{self._host}]:{self.port}"

    @property
    def transport(self):
        """A transport(5) value that delivers to this sink."""
        return f"{self.protocol}:{self.address}"

    # -- behaviour -------------------------------------------------------
    def set_rcpt_reply(self, rcpt, code, text=None):
        """Answer RCPT TO:<rcpt> (case-insensitive) with code; None restores 250."""
        with self._cond:
            if code is None:
                self._rcpt_rules.pop(rcpt.lower(), None)
            else:
                self._rcpt_rules[rcpt.lower()] = (code, text or _default_text(code))

    def set_data_reply(self, rcpt, code, text=None):
        """The answer to DATA for rcpt (LMTP: per recipient; SMTP: rcpt=None)."""
        key = rcpt.lower() if rcpt else None
        with self._cond:
            if code is None:
                self._data_rules.pop(key, None)
            else:
                self._data_rules[key] = (code, text or _default_text(code))

    def set_default_rcpt_reply(self, code=250, text=None):
        with self._cond:
            self._default_rcpt = (code, text or ("2.1.5 Ok" if code == 250 else _default_text(code)))

    def set_default_data_reply(self, code=250, text=None):
        with self._cond:
            self._default_data = (code, text or ("2.0.0 Ok: queued" if code == 250
                                                 else _default_text(code)))

    def set_greeting(self, code=220, text=""):
        """A non-220 code makes the sink refuse every session (e.g. 421)."""
        self.greeting_code = code
        self.greeting_text = text or _default_text(code)

    def _rcpt_reply(self, rcpt):
        with self._cond:
            return self._rcpt_rules.get(rcpt.lower(), self._default_rcpt)

    def _data_reply(self, rcpt):
        with self._cond:
            key = rcpt.lower() if rcpt else None
            return self._data_rules.get(key, self._default_data)

    # -- records ---------------------------------------------------------
    def _enter(self):
        with self._cond:
            if self._clients >= MAX_CLIENTS:
                return False
            self._clients += 1
            return True

    def _leave(self):
        with self._cond:
            self._clients -= 1

    def _log_rcpt(self, mail_from, rcpt, code):
        with self._cond:
            self._rcpts.append((mail_from, rcpt, code))

    def _record(self, tx):
        with self._cond:
            self._txs.append(tx)
            self._cond.notify_all()

    def transactions(self):
        """A copy of the list of completed transactions, oldest first."""
        with self._cond:
            return list(self._txs)

    def rcpt_log(self):
        """Every RCPT seen: [(mail_from, rcpt, code)]."""
        with self._cond:
            return list(self._rcpts)

    def delivered(self):
        """[(mail_from, rcpt)] for every recipient that got a final 2xx."""
        return [(tx.mail_from, r) for tx in self.transactions() for r in tx.recipients]

    def clear(self):
        with self._cond:
            self._txs.clear()
            self._rcpts.clear()

    def wait_for(self, predicate, timeout=30.0):
        """Wait until predicate(transactions) is true; returns the transactions.
        Raises TimeoutError with a summary when it does not become true in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                txs = list(self._txs)
                if predicate(txs):
                    return txs
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"sink {self.name}: condition not met after {timeout}s "
                                       f"({len(txs)} transactions)")
                self._cond.wait(min(left, 0.5))

    def wait_quiet(self, quiet=1.0, timeout=60.0):
        """Wait until no new transaction arrived for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            count = len(self._txs)
            last = time.monotonic()
            while time.monotonic() < deadline:
                self._cond.wait(0.1)
                if len(self._txs) != count:
                    count = len(self._txs)
                    last = time.monotonic()
                elif time.monotonic() - last >= quiet:
                    return list(self._txs)
        raise TimeoutError(f"sink {self.name}: still receiving after {timeout}s")


def _default_text(code):
    if 200 <= code < 300:
        return "2.0.0 Ok"
    if 400 <= code < 500:
        return "4.3.0 Temporary failure (test sink)"
    return "5.1.1 Rejected (test sink)"
