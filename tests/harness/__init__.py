"""mxkit test harness: private instances of the real servers on loopback.

Every server a test starts listens on 127.0.0.1 (or a unix socket in a
temporary directory) on ports picked at run time, and is stopped by the
test that started it. Nothing here mocks a server.
"""
