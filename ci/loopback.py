"""What ci/bench-compare and ci/recovery-bench share about members on loopback."""
import json
import socket
import urllib.request


def free_ports(n):
    """n ports free on 127.0.0.1 right now (bound together, so distinct)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def healthy(port, ssl_context=None):
    """True if the member on this client port answers /health with true.

    With an ssl.SSLContext, over https (the context holds the CA and the
    client certificate)."""
    scheme = "https" if ssl_context is not None else "http"
    try:
        with urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}/health", timeout=1,
                                    context=ssl_context) as r:
            return json.loads(r.read()).get("health") == "true"
    except Exception:
        return False
