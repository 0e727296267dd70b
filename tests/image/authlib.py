"""A CA and server certificate for the TLS registry, and a token server for the registry's
`token` auth (ES256 JWTs with an x5c header, checked by the registry against its root bundle)."""
import base64
import datetime
import http.server
import ipaddress
import json
import os
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def make_tls(dirpath):
    """Returns (ca.pem, server.pem, server.key) for 127.0.0.1, signed by a fresh CA."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("swiftlet test CA")).issuer_name(_name("swiftlet test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (_write(os.path.join(dirpath, "ca.pem"), ca.public_bytes(pem)),
            _write(os.path.join(dirpath, "server.pem"), cert.public_bytes(pem)),
            _write(os.path.join(dirpath, "server.key"), key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())))


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues registry tokens to `user:password` (HTTP basic on the token request)."""

    def __init__(self, dirpath, user, password, service="swiftlet-registry", issuer="swiftlet-token-issuer"):
        self.user, self.password, self.service, self.issuer = user, password, service, issuer
        now = datetime.datetime.now(datetime.timezone.utc)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (x509.CertificateBuilder().subject_name(_name("token signer")).issuer_name(_name("token signer"))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                     .sign(self.key, hashes.SHA256()))
        self.bundle = _write(os.path.join(dirpath, "token-signer.pem"), self.cert.public_bytes(serialization.Encoding.PEM))
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                server.requests.append(query)
                auth = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
                if auth != expected:
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
                    return
                access = []
                for scope in query.get("scope", []):
                    for one in scope.split(" "):
                        kind, name, actions = one.split(":", 2) if one.count(":") >= 2 else (None, None, None)
                        if kind == "repository":
                            access.append({"type": "repository", "name": name, "actions": actions.split(",")})
                body = json.dumps({"token": server.sign(access), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def sign(self, access):
        der = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.user, "aud": self.service, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": str(uuid.uuid4()), "access": access}
        signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def registry_auth(self):
        return {"realm": self.realm, "service": self.service, "issuer": self.issuer, "rootcertbundle": self.bundle}

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
