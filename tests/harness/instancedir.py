"""The private directory each harness server instance lives in.

Servers started by tests (Postfix, Dovecot, rspamd, ...) keep their
configuration, sockets and state in a fresh directory under /tmp that
their unprivileged users (postfix, dovecot, _rspamd) can traverse.
"""
import os
import tempfile


def require_root(what, error=RuntimeError):
    """Raise error unless running as root (private mail servers need it)."""
    if os.geteuid() != 0:
        raise error(f"a private {what} instance must be started as root")


def new_instance_dir(prefix, basedir=None):
    """Create a new 0755 directory named PREFIX-XXXX under basedir or /tmp."""
    path = tempfile.mkdtemp(prefix=f"{prefix}-", dir=basedir or tempfile.gettempdir())
    os.chmod(path, 0o755)
    return path
