#!/usr/bin/env python3
"""tests/tools/live_client.py - a tiny live-protocol client (docs/live-protocol.md) for the
crash test, standard library only: HTTP/1.1 with http.client, WebSocket framing by hand
(masked client frames, JSON subprotocol).

  live_client.py setup PORT STATE       register, tribe, map (maps/meadow.json), open, join;
                                        connect, ready, start, place towers, call a wave;
                                        writes STATE (JSON: token, session, acked seqs, last seq)
  live_client.py resume PORT STATE      reconnect with last_seq, check the welcome (resumed,
                                        in progress, no gap), place one more tower (acked)
Exit 0 on success; prints one line per step."""
import base64, http.client, json, os, socket, struct, sys, time

SRC = os.environ.get("STK_SOURCE_DIR", ".")


def req(port, method, path, body=None, token=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, json.loads(data) if data else None
    except ValueError:
        return r.status, data


class WS:
    def __init__(self, port, path):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: stockade.v1.json\r\n\r\n") % (path, key)
        self.s.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise RuntimeError("handshake: connection closed")
            self.buf += d
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("handshake refused: " + head.decode(errors="replace"))
        self.ref = 0

    def send(self, obj):
        if "ref" not in obj and obj.get("op") not in ("auth",):
            self.ref += 1
            obj["ref"] = self.ref
        p = json.dumps(obj).encode()
        mask = os.urandom(4)
        hdr = bytes([0x81])
        n = len(p)
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(p)))
        return obj.get("ref")

    def _need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d

    def recv(self):
        """Next message as a dict, or ("close", code)."""
        while True:
            self._need(2)
            b0, b1 = self.buf[0], self.buf[1]
            n = b1 & 0x7F
            off = 2
            if n == 126:
                self._need(4)
                n = struct.unpack(">H", self.buf[2:4])[0]
                off = 4
            elif n == 127:
                self._need(10)
                n = struct.unpack(">Q", self.buf[2:10])[0]
                off = 10
            self._need(off + n)
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            op = b0 & 0x0F
            if op == 8:
                return ("close", struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005)
            if op == 9:
                continue
            if op in (1, 2):
                return json.loads(payload)

    def close(self):
        self.s.close()


class Player:
    def __init__(self, ws):
        self.ws = ws
        self.seqs = []
        self.acks = {}
        self.rejects = {}
        self.welcome = None
        self.end = None

    def pump_until(self, pred, timeout=10):
        t = time.time() + timeout
        while time.time() < t:
            if pred():
                return True
            m = self.ws.recv()
            if isinstance(m, tuple):
                raise RuntimeError("closed %d" % m[1])
            op = m.get("op")
            if op == "event":
                self.seqs.append(m["seq"])
            elif op == "ack":
                self.acks[m["ref"]] = m
            elif op == "reject":
                self.rejects[m["ref"]] = m
            elif op == "welcome":
                self.welcome = m
            elif op == "end":
                self.end = m
        return pred()

    def op(self, obj):
        ref = self.ws.send(obj)
        self.pump_until(lambda: ref in self.acks or ref in self.rejects)
        return self.acks.get(ref), self.rejects.get(ref)


def setup(port, state_file):
    st, r = req(port, "POST", "/v1/auth/register",
                 {"username": "crashy", "email": "crashy@example.com", "password": "password123"})
    assert st == 201, (st, r)
    st, r = req(port, "POST", "/v1/auth/login", {"username": "crashy", "password": "password123"})
    assert st == 200, (st, r)
    tok = r["access_token"]
    st, r = req(port, "POST", "/v1/tribes",
                 {"name": "Crash", "archetype": "Aggressive", "damage_bonus": 0.30,
                  "attack_speed_bonus": 0.10, "range_bonus": 0.10, "color_theme": "#112233"}, tok)
    assert st == 201, (st, r)
    tribe = r["id"]
    with open(os.path.join(SRC, "maps", "meadow.json")) as f:
        m = json.load(f)
    st, r = req(port, "POST", "/v1/maps", m, tok)
    assert st == 201, (st, r)
    st, r = req(port, "POST", "/v1/sessions", {"map_id": r["id"]}, tok)
    assert st == 201, (st, r)
    sid = r["id"]
    st, r = req(port, "POST", "/v1/sessions/%s/join" % sid, {"tribe_id": tribe}, tok)
    assert st == 200, (st, r)
    print("ok - registered, tribe, map, session", sid)
    p = Player(WS(port, "/v1/sessions/%s/live?access_token=%s" % (sid, tok)))
    p.ws.send({"op": "hello"})
    assert p.pump_until(lambda: p.welcome is not None), "welcome"
    acked = []
    for o in ({"op": "ready", "ready": True}, {"op": "start"}):
        a, rj = p.op(o)
        assert a, rj
        acked.append(a["seq"])
    for x in range(3, 9):
        a, rj = p.op({"op": "place", "x": x, "y": 9 if x % 2 else 11, "tower": "arrow"})
        if a:
            acked.append(a["seq"])
    a, rj = p.op({"op": "call_wave"})
    assert a, rj
    acked.append(a["seq"])
    p.pump_until(lambda: False, timeout=1.5)  # play a little
    state = {"token": tok, "session": sid, "acked": acked, "last_seq": max(p.seqs)}
    with open(state_file, "w") as f:
        json.dump(state, f)
    print("ok - playing: %d ops acked, last seq %d" % (len(acked), state["last_seq"]))
    sys.stdout.flush()
    # keep the socket open: the server is killed under us
    time.sleep(30)


def resume(port, state_file):
    with open(state_file) as f:
        state = json.load(f)
    sid, tok = state["session"], state["token"]
    p = Player(WS(port, "/v1/sessions/%s/live?access_token=%s" % (sid, tok)))
    p.ws.send({"op": "hello", "last_seq": state["last_seq"]})
    assert p.pump_until(lambda: p.welcome is not None), "welcome"
    snap = p.welcome["snapshot"]
    assert snap["state"] == "in_progress", snap["state"]
    assert p.welcome["seq"] >= max(state["acked"]), (p.welcome["seq"], state["acked"])
    assert len(snap["towers"]) >= 1
    print("ok - resumed: state %s tick %d towers %d" % (snap["state"], snap["tick"], len(snap["towers"])))
    a, rj = p.op({"op": "place", "x": 14, "y": 9, "tower": "cannon"})
    if not a:
        a, rj = p.op({"op": "place", "x": 15, "y": 11, "tower": "frost"})
    assert a, rj
    print("ok - a new op is acked after the restart: seq %d" % a["seq"])
    p.pump_until(lambda: False, timeout=0.5)
    p.ws.close()


if __name__ == "__main__":
    cmd, port, sf = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    {"setup": setup, "resume": resume}[cmd](port, sf)
