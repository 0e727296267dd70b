"""Registries that want credentials or TLS: htpasswd basic auth, bearer tokens, a private CA."""
import json
import os
import subprocess
import tempfile

import pytest

from authlib import TokenServer, make_tls
from imagelib import Registry, run_image, skopeo_push


def write_config(work, text):
    fd, path = tempfile.mkstemp(prefix="registries-", suffix=".yaml", dir=work)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def listed(store):
    return json.loads(run_image(store, "list", "--json").stdout)


@pytest.fixture(scope="module")
def basic_registry(work, images):
    htpasswd = os.path.join(work, "htpasswd")
    out = subprocess.run(["htpasswd", "-Bbn", "alice", "s3cret"], capture_output=True, text=True, check=True)
    with open(htpasswd, "w") as f:
        f.write(out.stdout)
    reg = Registry(work, htpasswd=htpasswd)
    try:
        skopeo_push(f"oci:{images.layout_dir}:v1", f"docker://{reg.host}/private/app:v1", creds="alice:s3cret")
        yield reg
    finally:
        reg.stop()


def test_basic_auth(store, work, basic_registry, images):
    config = write_config(work, f'registries:\n  "{basic_registry.host}":\n    plainHTTP: true\n')
    ref = f"{basic_registry.host}/private/app:v1"
    anonymous = run_image(store, "pull", ref, config=config, check=False)
    assert anonymous.returncode != 0
    assert f"registry {basic_registry.host} refused access" in anonymous.stderr and "no credentials" in anonymous.stderr
    wrong = run_image(store, "pull", ref, "--creds", "alice:wrong", config=config, check=False)
    assert wrong.returncode != 0 and "credentials rejected" in wrong.stderr
    assert listed(store) == []
    assert run_image(store, "pull", ref, "--creds", "alice:s3cret", config=config).stdout.strip() == images.v1_config
    assert [i["id"] for i in listed(store)] == [images.v1_config]


def test_credentials_from_the_registry_configuration(store, work, basic_registry, images):
    config = write_config(work, f'registries:\n  "{basic_registry.host}":\n    plainHTTP: true\n'
                                f'    username: alice\n    password: s3cret\n')
    assert run_image(store, "pull", f"{basic_registry.host}/private/app:v1", config=config).stdout.strip() == images.v1_config


@pytest.fixture(scope="module")
def token_registry(work, images):
    tokens = TokenServer(work, "bob", "hunter2")
    reg = Registry(work, token=tokens.registry_auth())
    try:
        skopeo_push(f"oci:{images.layout_dir}:v1", f"docker://{reg.host}/team/app:v1", creds="bob:hunter2")
        yield reg, tokens
    finally:
        reg.stop()
        tokens.stop()


def test_bearer_token_from_the_challenge(store, work, token_registry, images):
    reg, tokens = token_registry
    config = write_config(work, f'registries:\n  "{reg.host}":\n    plainHTTP: true\n')
    ref = f"{reg.host}/team/app:v1"
    denied = run_image(store, "pull", ref, config=config, check=False)
    assert denied.returncode != 0 and "token server" in denied.stderr and "401" in denied.stderr
    before = len(tokens.requests)
    assert run_image(store, "pull", ref, "--creds", "bob:hunter2", config=config).stdout.strip() == images.v1_config
    # The token was asked for with the registry's service and a pull scope for the repository.
    asked = tokens.requests[before:]
    assert asked and asked[0]["service"] == ["swiftlet-registry"] and asked[0]["scope"] == ["repository:team/app:pull"]


def test_tls_with_a_private_ca(store, work, images):
    certs = tempfile.mkdtemp(prefix="tls-", dir=work)
    ca, cert, key = make_tls(certs)
    reg = Registry(work, tls=(cert, key))
    try:
        skopeo_push(f"oci:{images.layout_dir}:v1", f"docker://{reg.host}/secure/app:v1")
        ref = f"{reg.host}/secure/app:v1"
        untrusted = run_image(store, "pull", ref, check=False)
        assert untrusted.returncode != 0 and f"image {ref}" in untrusted.stderr
        assert "certificate" in untrusted.stderr.lower() or "handshake" in untrusted.stderr.lower(), untrusted.stderr
        config = write_config(work, f'registries:\n  "{reg.host}":\n    caFile: {ca}\n')
        assert run_image(store, "pull", ref, config=config).stdout.strip() == images.v1_config
        insecure = write_config(work, f'registries:\n  "{reg.host}":\n    insecureSkipVerify: true\n')
        run_image(store, "rm", ref)
        assert run_image(store, "pull", ref, config=insecure).stdout.strip() == images.v1_config
    finally:
        reg.stop()
