"""The fake 公众号's cryptography against Tencent's published sample (the 公众平台 WXBizMsgCrypt sample
programs' test: token ``pamtest``, its EncodingAESKey and AppID, the random ``aaaabbbbccccdddd``), and
the product's (wechatpy's ``WeChatCrypto``) against the fake's: one side written apart from the other,
both pinned to Tencent's numbers. The scheme is WeCom's with the AppID as the receiver, so the fake
uses ``tests.wecom_fake.crypto`` (pinned to Tencent's WeCom vectors in ``tests/test_wecom_crypto.py``)."""

from __future__ import annotations

import pytest
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from tests.mp_fake.server import plain_signature
from tests.wecom_fake.crypto import CallbackCipher, CryptoError, signature

# Tencent's sample: token, EncodingAESKey, AppID, the 16 random bytes and two messages with their
# ciphertexts.
TOKEN, AES_KEY, APP_ID = "pamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxb11529c136998cb6"
TIMESTAMP, NONCE = "1409304348", "xxxxxx"
RANDOM = b"aaaabbbbccccdddd"
REPLY = "我是中文abcd123"
REPLY_ENCRYPTED = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
REPLY_2 = (
    "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName>"
    "<FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime>"
    "<MsgType><![CDATA[video]]></MsgType><Video><MediaId>"
    "<![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId>"
    "<Title><![CDATA[testCallBackReplyVideo]]></Title>"
    "<Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
)
REPLY_2_ENCRYPTED = (
    "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+w"
    "LMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9"
    "enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jL"
    "KJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xk"
    "a042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f"
    "8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
)


def envelope(encrypted: str) -> str:
    """A callback body in 安全模式, as the sample's ``xmlFormat`` makes it."""
    return f"<xml><ToUserName><![CDATA[toUser]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"


@pytest.mark.parametrize(("plain", "encrypted"), [(REPLY, REPLY_ENCRYPTED), (REPLY_2, REPLY_2_ENCRYPTED)])
def test_the_fake_seals_and_opens_tencents_sample_exactly(plain: str, encrypted: str) -> None:
    cipher = CallbackCipher(AES_KEY, APP_ID)
    assert cipher.encrypt(plain, RANDOM) == encrypted
    assert cipher.decrypt(encrypted) == plain


@pytest.mark.parametrize(("plain", "encrypted"), [(REPLY, REPLY_ENCRYPTED), (REPLY_2, REPLY_2_ENCRYPTED)])
def test_the_product_opens_tencents_sample_signed_by_the_fake(plain: str, encrypted: str) -> None:
    product = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    signed = signature(TOKEN, TIMESTAMP, NONCE, encrypted)
    assert product.decrypt_message(envelope(encrypted), signed, TIMESTAMP, NONCE) == plain
    with pytest.raises(InvalidSignatureException):
        product.decrypt_message(
            envelope(encrypted), signature(TOKEN, "1409304349", NONCE, encrypted), TIMESTAMP, NONCE
        )


def test_the_fake_opens_what_the_product_seals_and_both_keep_to_the_appid() -> None:
    product = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    sealed_xml = product.encrypt_message(
        "<xml><Content><![CDATA[绑定 ABCD2345EF]]></Content></xml>", NONCE, TIMESTAMP
    )
    sealed = sealed_xml.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert CallbackCipher(AES_KEY, APP_ID).decrypt(sealed).endswith("绑定 ABCD2345EF]]></Content></xml>")
    assert f"<MsgSignature><![CDATA[{signature(TOKEN, TIMESTAMP, NONCE, sealed)}]]>" in sealed_xml
    with pytest.raises(CryptoError):
        CallbackCipher(AES_KEY, "wx-another-account").decrypt(sealed)
    other = CallbackCipher(AES_KEY, "wx-another-account").encrypt("<xml/>")
    with pytest.raises(InvalidAppIdException):
        product.decrypt_message(envelope(other), signature(TOKEN, TIMESTAMP, NONCE, other), TIMESTAMP, NONCE)


def test_the_url_checks_signature_is_the_three_sorted() -> None:
    """The URL check and every callback's ``signature``: SHA-1 of token, timestamp and nonce sorted."""
    signed = plain_signature(TOKEN, TIMESTAMP, NONCE)
    check_signature(TOKEN, signed, TIMESTAMP, NONCE)  # raises when wrong
    with pytest.raises(InvalidSignatureException):
        check_signature(TOKEN, signed, TIMESTAMP, "yyyyyy")
