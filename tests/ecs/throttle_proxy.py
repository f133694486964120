"""A loopback proxy in front of moto that answers the first N calls of one ECS operation with
ThrottlingException, as AWS does under load; everything else is forwarded.

  python throttle_proxy.py LISTEN_PORT UPSTREAM_URL OPERATION N COUNT_FILE
"""
import http.server
import sys
import urllib.error
import urllib.request

port, upstream, operation, limit, count_file = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                                                int(sys.argv[4]), sys.argv[5])
throttled = 0


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        global throttled
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith("." + operation) and throttled < limit:
            throttled += 1
            with open(count_file, "w") as f:
                f.write(str(throttled))
            payload = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-ErrorType", "ThrottlingException")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        req = urllib.request.Request(upstream + self.path, data=body or None, headers=headers,
                                     method=self.command)
        try:
            resp = urllib.request.urlopen(req)
            status, data, rh = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as e:
            status, data, rh = e.code, e.read(), e.headers
        self.send_response(status)
        for k, v in rh.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = forward


http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
