"""OpenSSH public keys, parsed once with `cryptography`. Callers say which key types they accept.

Pure: used by the model's checks (operators' keys on the ICM 7.10 hosts, partners' SFTP keys).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

MIN_RSA_BITS = 2048
_CURVES = {"ecdsa-sha2-nistp256": "secp256r1", "ecdsa-sha2-nistp384": "secp384r1", "ecdsa-sha2-nistp521": "secp521r1"}


@dataclass(frozen=True)
class SshPublicKey:
    algorithm: str
    data: str  # base64 wire format
    comment: str

    @property
    def key(self) -> str:
        """The ``<type> <data>`` form Azure stores (no comment)."""
        return f"{self.algorithm} {self.data}"


def parse(text: str, accepted: tuple[str, ...], where: str) -> SshPublicKey:
    """``text`` as an OpenSSH public key of one of the ``accepted`` types; ValueError saying why not.

    ``where`` names the consumer in messages (e.g. "Azure SFTP"), because what it accepts differs.
    """
    if "PRIVATE KEY" in text:
        raise ValueError("this is a private key; give the public key (the .pub file) and keep the private key secret")
    parts = text.strip().split(maxsplit=2)
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise ValueError(
            f"not an OpenSSH public key; expected '<type> <base64> [comment]' with type {_one_of(accepted)}"
        )
    algorithm, data = parts[0], parts[1]
    if algorithm not in accepted:
        raise ValueError(f"key type '{algorithm}' is not accepted by {where}; use {_one_of(accepted)}")
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the key data is not valid base64") from None
    try:
        key = load_ssh_public_key(f"{algorithm} {data}".encode())
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(f"the key data does not encode a {algorithm} key") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA key has {key.key_size} bits; {where} needs at least {MIN_RSA_BITS} bits")
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name != _CURVES.get(algorithm):
        raise ValueError(f"the key data does not encode a {algorithm} key")
    return SshPublicKey(algorithm, data, parts[2].strip() if len(parts) == 3 else "")


def _one_of(types: tuple[str, ...]) -> str:
    return " or ".join(f"'{t}'" for t in types)
