"""A small authoritative DNS server on loopback for tests (Debian's python3-dnslib).

    with DNSServer() as dns:
        dns.set_txt("sel._domainkey.example.org", ["v=DKIM1; k=rsa; p=...", "..."])
        ... resolver "127.0.0.1:%d" % dns.port ...

Answers TXT queries from a dict the test changes at will (NXDOMAIN for
names it does not hold), over UDP and TCP on 127.0.0.1, on a port picked
at runtime. Everything it starts, stop() stops.
"""
import threading

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer as _Server

from harness.ports import free_port


class _Resolver(BaseResolver):
    def __init__(self):
        self.lock = threading.Lock()
        self.txt = {}  # lowercase name without final dot -> list of records (each a list of strings)

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        with self.lock:
            records = self.txt.get(name)
        if records is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
            for strings in records:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(list(strings)), ttl=60))
        return reply


class DNSServer:
    def __init__(self):
        self.resolver = _Resolver()
        self.port = None
        self.servers = []

    def start(self):
        for _ in range(5):  # the UDP and TCP port must both be free
            port = free_port()
            try:
                quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
                udp = _Server(self.resolver, address="127.0.0.1", port=port, logger=quiet)
                tcp = _Server(self.resolver, address="127.0.0.1", port=port, tcp=True, logger=quiet)
            except OSError:
                continue
            self.servers = [udp, tcp]
            self.port = port
            for s in self.servers:
                s.start_thread()
            return self
        raise RuntimeError("no free port for the test DNS server")

    def stop(self):
        for s in self.servers:
            s.stop()
            s.server.server_close()
        self.servers = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def set_txt(self, name, *records):
        """Publish TXT records at name; each record is a list of strings
        (or one string). No records: remove the name."""
        key = name.rstrip(".").lower()
        with self.resolver.lock:
            if records:
                self.resolver.txt[key] = [[r] if isinstance(r, str) else list(r) for r in records]
            else:
                self.resolver.txt.pop(key, None)
