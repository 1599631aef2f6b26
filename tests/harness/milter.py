"""A small milter-protocol client (the MTA side, protocol version 6).

    m = MilterClient("unix:/tmp/x.sock"); m.negotiate()
    m.connect("client.example", "203.0.113.5")
    m.mail("<alice@example.org>", macros={"{auth_authen}": "alice"})
    m.header("From", " alice@example.org") ... ; m.eoh(); m.body(b"..."); m.eom()

Each step returns the milter's answer: a one-letter code ('c' continue,
'a' accept, 't' tempfail, 'r' reject, ...) or None where no reply was
negotiated; eom() also returns the modifications it received. Written
from the protocol description in libmilter's mfdef.h; used by tests to
drive milters without an MTA and to check what they would do.
"""
import socket
import struct

SMFIF_ADDHDRS = 0x01
SMFIF_CHGHDRS = 0x10
SMFIP_NOCONNECT = 0x01
SMFIP_NOHELO = 0x02
SMFIP_NOMAIL = 0x04
SMFIP_NORCPT = 0x08
SMFIP_NOBODY = 0x10
SMFIP_NOHDRS = 0x20
SMFIP_NOEOH = 0x40
SMFIP_NR_HDR = 0x80
SMFIP_NOUNKNOWN = 0x100
SMFIP_NODATA = 0x200
SMFIP_SKIP = 0x400
SMFIP_RCPT_REJ = 0x800
SMFIP_NR_CONN = 0x1000
SMFIP_NR_HELO = 0x2000
SMFIP_NR_MAIL = 0x4000
SMFIP_NR_RCPT = 0x8000
SMFIP_NR_DATA = 0x10000
SMFIP_NR_UNKN = 0x20000
SMFIP_NR_EOH = 0x40000
SMFIP_NR_BODY = 0x80000
SMFIP_HDR_LEADSPC = 0x100000

ALL_PROTOCOL = 0x1FFFFF
BODY_CHUNK = 65535
MAX_PACKET = 1 << 20
IO_TIMEOUT = 30


class MilterError(Exception):
    pass


class MilterClient:
    def __init__(self, spec, protocol=ALL_PROTOCOL, actions=0x1FF):
        if spec.startswith("unix:"):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = spec[5:]
        elif spec.startswith("inet:"):
            port, host = spec[5:].split("@")
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (host, int(port))
        else:
            raise ValueError(spec)
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.connect(target)
        self.offer_protocol = protocol
        self.offer_actions = actions
        self.protocol = 0
        self.actions = 0

    def close(self):
        try:
            self._send(b"Q")
        except OSError:
            pass
        self.sock.close()

    # -- wire -------------------------------------------------------------
    def _send(self, cmd, data=b""):
        self.sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise MilterError("milter closed the connection")
            buf += chunk
        return buf

    def _recv(self):
        (n,) = struct.unpack(">I", self._recv_exact(4))
        if n < 1 or n > MAX_PACKET:
            raise MilterError(f"bad packet length {n}")
        data = self._recv_exact(n)
        return data[:1].decode(), data[1:]

    def _reply(self):
        """Read until a final answer; skip progress packets."""
        while True:
            code, data = self._recv()
            if code != "p":
                return code, data

    @staticmethod
    def _z(*parts):
        return b"".join((p.encode() if isinstance(p, str) else p) + b"\0" for p in parts)

    def _macros(self, cmd, macros):
        if macros:
            pairs = []
            for k, v in macros.items():
                pairs += [k, v]
            self._send(b"D", cmd + self._z(*pairs))

    # -- steps ------------------------------------------------------------
    def negotiate(self):
        self._send(b"O", struct.pack(">III", 6, self.offer_actions, self.offer_protocol))
        code, data = self._recv()
        if code != "O":
            raise MilterError(f"negotiation answered {code!r}")
        _, self.actions, self.protocol = struct.unpack(">III", data[:12])
        return self.actions, self.protocol

    def _step(self, nr_flag, skip_flag=0):
        if skip_flag and self.protocol & skip_flag:
            return None
        if self.protocol & nr_flag:
            return None
        return self._reply()[0]

    def connect(self, host, addr=None, port=25, macros=None):
        self._macros(b"C", macros)
        if addr is None:
            data = self._z(host) + b"U" + struct.pack(">H", 0) + self._z("")
        else:
            fam = b"6" if ":" in addr else b"4"
            data = self._z(host) + fam + struct.pack(">H", port) + self._z(addr)
        if self.protocol & SMFIP_NOCONNECT:
            return None
        self._send(b"C", data)
        return self._step(SMFIP_NR_CONN)

    def helo(self, name):
        if self.protocol & SMFIP_NOHELO:
            return None
        self._send(b"H", self._z(name))
        return self._step(SMFIP_NR_HELO)

    def mail(self, sender, macros=None):
        self._macros(b"M", macros)
        if self.protocol & SMFIP_NOMAIL:
            return None
        self._send(b"M", self._z(sender))
        return self._step(SMFIP_NR_MAIL)

    def rcpt(self, rcpt):
        if self.protocol & SMFIP_NORCPT:
            return None
        self._send(b"R", self._z(rcpt))
        return self._step(SMFIP_NR_RCPT)

    def data(self):
        if self.protocol & SMFIP_NODATA:
            return None
        self._send(b"T")
        return self._step(SMFIP_NR_DATA)

    def header(self, name, value):
        """value as it follows the colon; the leading space is removed
        unless SMFIP_HDR_LEADSPC was negotiated (as MTAs do)."""
        if self.protocol & SMFIP_NOHDRS:
            return None
        if isinstance(value, str):
            value = value.encode()
        if not self.protocol & SMFIP_HDR_LEADSPC and value[:1] == b" ":
            value = value[1:]
        self._send(b"L", self._z(name, value))
        return self._step(SMFIP_NR_HDR)

    def eoh(self):
        if self.protocol & SMFIP_NOEOH:
            return None
        self._send(b"N")
        return self._step(SMFIP_NR_EOH)

    def body(self, data):
        """Send the body in chunks; returns the first non-continue answer."""
        if self.protocol & SMFIP_NOBODY:
            return None
        for i in range(0, len(data), BODY_CHUNK):
            self._send(b"B", data[i:i + BODY_CHUNK])
            r = self._step(SMFIP_NR_BODY)
            if r not in (None, "c"):
                return r
        return None

    def eom(self):
        """End of message: (final code, [(action, fields...)]); envelope
        changes are ('+' addrcpt | '-' delrcpt | 'e' chgfrom, 0, address, b"")."""
        self._send(b"E")
        mods = []
        while True:
            code, data = self._recv()
            if code == "p":
                continue
            if code in ("h", "i", "m"):
                if code == "h":
                    idx, rest = 0, data
                else:
                    (idx,) = struct.unpack(">I", data[:4])
                    rest = data[4:]
                name, value = rest.split(b"\0")[:2]
                mods.append((code, idx, name.decode(), value))
                continue
            if code in ("+", "-", "e"):  # addrcpt, delrcpt, chgfrom: the address
                mods.append((code, 0, data.split(b"\0")[0].decode(), b""))
                continue
            if code == "y":  # a final answer with its own SMTP reply text
                mods.append((code, 0, "", data.rstrip(b"\0")))
            return code, mods

    def abort(self):
        self._send(b"A")
