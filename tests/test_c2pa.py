"""Signed C2PA manifests on exported PNGs, with a CA and signing certificate made here (offline, no trust list)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from agent.session.c2pa import ASSERTION, SigningFailed, read_manifest
from agent.session.provenance import read_provenance
from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient

pytest.importorskip("c2pa", reason="the c2pa extra (c2pa-python) is not installed")
pytest.importorskip("cryptography", reason="the c2pa extra (cryptography) is not installed")


def name(common: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tests")]
    )


def usage(*, sign: bool):
    from cryptography import x509

    unused = ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement")
    flags = dict.fromkeys((*unused, "encipher_only", "decipher_only"), False)
    return x509.KeyUsage(digital_signature=sign, key_cert_sign=not sign, crl_sign=not sign, **flags)


def write_credentials(folder: Path) -> tuple[Path, Path]:
    """A test CA and an ES256 signing certificate it issued (email protection EKU), as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.UTC)

    def builder(subject: str, issuer: str, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
        )  # fmt: skip

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        builder("test CA", "test CA", ca_key).add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(usage(sign=False), True).sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        builder("dialogpaint test signer", "test CA", key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True).add_extension(usage(sign=True), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    cert, private = folder / "chain.pem", folder / "key.pem"
    cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, private


def test_exported_png_carries_a_signed_manifest_with_the_recipe(tmp_path):
    cert, key = write_credentials(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", confirm="never", c2pa_cert=str(cert), c2pa_key=str(key))
    with create_engine(settings) as engine:
        session = engine.open(gradient())
        session.send("apply a sepia tone")
        out = session.export(tmp_path / "signed.png")
        root = session.revisions[0]
        original = session.export(tmp_path / "original.png", root["id"])
        stored_original = engine.deps.store.get(root["image"])
    png = out.read_bytes()
    manifest = read_manifest(png)
    assert manifest["validation_state"] == "Valid"  # intact; untrusted only because the CA is ours
    assert {s["code"] for s in manifest["validation_status"]} <= {"signingCredential.untrusted"}
    recipe = next(a["data"] for a in manifest["assertions"] if a["label"] == ASSERTION)
    assert recipe == json.loads(read_provenance(out).model_dump_json())  # the text chunk survives signing
    assert recipe["chain"][0]["tool"] == "sepia"
    assert original.read_bytes() == stored_original  # the upload is exported as stored, unsigned


def test_half_configured_or_bad_credentials_are_refused(tmp_path):
    cert, _ = write_credentials(tmp_path)
    with pytest.raises(SigningFailed, match="needs both"):
        create_engine(Settings(data_dir=tmp_path / "a", c2pa_cert=str(cert)))
    with pytest.raises(SigningFailed, match="no C2PA private key file at"):
        create_engine(Settings(data_dir=tmp_path / "b", c2pa_cert=str(cert), c2pa_key=str(tmp_path / "nope.pem")))
    (tmp_path / "bad.pem").write_text("not a key")
    settings = Settings(
        data_dir=tmp_path / "c", confirm="never", c2pa_cert=str(cert), c2pa_key=str(tmp_path / "bad.pem")
    )
    with create_engine(settings) as engine:
        session = engine.open(gradient())
        session.send("apply a sepia tone")
        with pytest.raises(SigningFailed, match="C2PA signing failed"):
            session.export(tmp_path / "x.png")
