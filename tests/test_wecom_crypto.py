"""The fake WeCom's cryptography against Tencent's published sample (the WXBizMsgCrypt samples'
verify-URL and message vectors), and the product's (wechatpy's) against the fake's: one side written
apart from the other, both pinned to Tencent's numbers."""

from __future__ import annotations

import pytest
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from tests.wecom_fake.crypto import CallbackCipher, CryptoError, signature

# Tencent's sample: token, EncodingAESKey and CorpID of the WXBizMsgCrypt sample programs.
TOKEN, AES_KEY, CORP_ID = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
# 1. The callback URL check: GET …?msg_signature=…&timestamp=…&nonce=…&echostr=…
ECHO_SIGNATURE, ECHO_TIMESTAMP, ECHO_NONCE = (
    "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "1409659589",
    "263014780",
)
ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
ECHO_PLAIN = "1616140317555161061"
# 2. A member's text message, POSTed to the callback URL.
MESSAGE_SIGNATURE, MESSAGE_TIMESTAMP, MESSAGE_NONCE = (
    "477715d11cdb4164915debcba66cb864d751f3e6",
    "1409659813",
    "1372623149",
)
MESSAGE_ENCRYPTED = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvu"
    "JTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+Ltw"
    "Gc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2"
    "t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptD"
    "AVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


def test_the_fake_signs_and_opens_tencents_url_check() -> None:
    assert signature(TOKEN, ECHO_TIMESTAMP, ECHO_NONCE, ECHOSTR) == ECHO_SIGNATURE
    assert CallbackCipher(AES_KEY, CORP_ID).decrypt(ECHOSTR) == ECHO_PLAIN


def test_the_fake_signs_and_opens_tencents_message() -> None:
    assert signature(TOKEN, MESSAGE_TIMESTAMP, MESSAGE_NONCE, MESSAGE_ENCRYPTED) == MESSAGE_SIGNATURE
    plain = CallbackCipher(AES_KEY, CORP_ID).decrypt(MESSAGE_ENCRYPTED)
    for part in (
        "<FromUserName><![CDATA[mycreate]]></FromUserName>",
        "<CreateTime>1409659813</CreateTime>",
        "<MsgType><![CDATA[text]]></MsgType>",
        "<Content><![CDATA[hello]]></Content>",
        "<MsgId>4561255354251345929</MsgId>",
    ):
        assert part in plain


def test_the_product_opens_tencents_vectors_and_what_the_fake_seals() -> None:
    product = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    assert product.check_signature(ECHO_SIGNATURE, ECHO_TIMESTAMP, ECHO_NONCE, ECHOSTR) == ECHO_PLAIN
    fake = CallbackCipher(AES_KEY, CORP_ID)
    xml = "<xml><Content><![CDATA[绑定 ABCD2345EF，你好]]></Content></xml>"
    sealed = fake.encrypt(xml)
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
    assert product.decrypt_message(body, signature(TOKEN, "1", "n", sealed), "1", "n") == xml
    with pytest.raises(InvalidSignatureException):
        product.decrypt_message(body, signature(TOKEN, "2", "n", sealed), "1", "n")


def test_the_fake_refuses_what_is_not_for_its_corp() -> None:
    sealed = CallbackCipher(AES_KEY, "another-corp").encrypt("<xml/>")
    with pytest.raises(CryptoError):
        CallbackCipher(AES_KEY, CORP_ID).decrypt(sealed)
    with pytest.raises(CryptoError):
        CallbackCipher(AES_KEY, CORP_ID).decrypt("not base64!")
