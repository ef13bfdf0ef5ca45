"""WeCom's callback cryptography, written from Tencent's description of it (“加解密方案说明”) and not
from wechatpy's code, so that a mistake shared by both sides cannot pass: the fake WeCom encrypts
what the product must decrypt, and the golden tests pin Tencent's own published sample vectors.

The scheme: ``EncodingAESKey`` is 43 Base64 characters; with one ``=`` it decodes to the 32-byte AES
key, whose first 16 bytes are the IV. A message is ``16 random bytes + its length (4 bytes, network
order) + the message + the receiver's id (the CorpID)``, padded PKCS#7 to a multiple of 32 bytes (not
AES's 16), encrypted with AES-256-CBC and Base64-encoded. The signature is the SHA-1 hex digest of the
token, the timestamp, the nonce and the ciphertext, sorted as strings and joined.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(ValueError):
    """A ciphertext that does not open, or opens for another receiver."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


class CallbackCipher:
    def __init__(self, encoding_aes_key: str, receiver_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise CryptoError("EncodingAESKey must be 43 characters")
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.receiver_id = receiver_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        body = message.encode()
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + self.receiver_id.encode()
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        try:
            data = base64.b64decode(encrypted, validate=True)
        except ValueError as error:
            raise CryptoError("not Base64") from error
        if not data or len(data) % 16:
            raise CryptoError("not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        plain = plain[:-pad]
        (length,) = struct.unpack(">I", plain[16:20])
        message, receiver = plain[20 : 20 + length], plain[20 + length :]
        if receiver.decode(errors="replace") != self.receiver_id:
            raise CryptoError("another receiver's message")
        return message.decode()
