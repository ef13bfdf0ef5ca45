"""The 公众号's commands: ``intake mp check``, and the QR code of ``intake invite UNIT --qr``.

``intake mp check`` tries the settings against the 公众号 API and the running callback: three
things, each one Chinese line, passed or not, a failure saying what to do in the words of the
公众号's admin console: the access token can be fetched (AppID, AppSecret, IP 白名单); the notice
template exists among the account's templates, with the two fields the settings name; the callback
(``INTAKE_WEB_URL`` + ``/mp/callback``) answers the URL check 服务器配置 makes. A failure that hides
the rest (no token: no template list) ends the check.

Both fetch the token into the database's store the running service reads (``DatabaseTokens``): a
new 公众号 token replaces the old one within minutes, so one held apart would break the service's.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from wechatpy.exceptions import WeChatClientException

from bot.app import Service
from bot.mp import CALLBACK_PATH, QR_LONGEST, MpApi
from bot.settings import Settings
from bot.web_app import public_url
from bot.wechat_api import url_check
from bot.wechat_tokens import DatabaseTokens
from storage.repository import Repository

CheckLine = tuple[bool, str]

MP_NOT_SET = (
    "公众号还没有配置：请在 .env 中写入 WECHAT_MP_APP_ID、WECHAT_MP_APP_SECRET、WECHAT_MP_TOKEN 和 "
    "WECHAT_MP_AES_KEY（公众号后台“设置与开发 → 基本配置”）。"
)

WRONG_SECRET = "AppSecret（WECHAT_MP_APP_SECRET）不对，请在“设置与开发 → 基本配置”重置开发者密码后填入"
#: What the 公众号 API's refusals of the token mean, and what to do.
TOKEN_ERRORS = {
    40013: "AppID（WECHAT_MP_APP_ID）不对，请从“设置与开发 → 基本配置”复制开发者ID(AppID)",
    40125: WRONG_SECRET,
    40001: WRONG_SECRET,
    40164: "本服务器的出口 IP 不在 IP 白名单中，请在“设置与开发 → 基本配置 → IP白名单”添加",
    89503: "本服务器的出口 IP 调用接口需要管理员确认，请管理员在公众号后台确认，或把它加入 IP 白名单",
    40243: "AppSecret 已被冻结，请在“设置与开发 → 基本配置”解冻或重置",
}


def check_setup(settings: Settings, repository: Repository) -> list[CheckLine]:
    """The token, the notice template and the callback, one line each (see the module docstring)."""
    api = MpApi(settings, DatabaseTokens(repository, lambda: datetime.now(UTC)), timeout=5.0)
    lines: list[CheckLine] = []
    try:
        api.client.fetch_access_token()
        lines.append((True, f"访问令牌：取得（{api.base_url}）"))
        lines.append(_check_template(settings, api.client.template.get_all_private_template()))
    except WeChatClientException as error:
        meaning = TOKEN_ERRORS.get(error.errcode, f"公众号接口返回错误 {error.errcode}")
        lines.append((False, f"公众号拒绝：{meaning}。"))
        return lines
    except requests.RequestException as error:
        problem = f"连不上公众号接口 {api.base_url}（{type(error).__name__}）"
        lines.append((False, f"{problem}，请检查网络和 WECHAT_MP_API_BASE_URL。"))
        return lines
    lines.append(_check_callback(settings, public_url(settings, CALLBACK_PATH)))
    return lines


def _check_template(settings: Settings, listed: dict[str, Any]) -> CheckLine:
    """The notice template (sent outside the 48 hours) among the account's, with the fields named."""
    template_id = settings.wechat_mp_notice_template_id
    if not template_id:
        return False, (
            "未设置 WECHAT_MP_NOTICE_TEMPLATE_ID：超过 48 小时没有发消息的联系人"
            "收不到提醒、退回和已接收通知。"
            "请在“广告与服务 → 模板消息”添加一个含“事项”（thing）和“时间”（time）两项的模板，把模板ID填入。"
        )
    templates = {str(t.get("template_id")): t for t in listed.get("template_list", []) if isinstance(t, dict)}
    template = templates.get(template_id)
    if template is None:
        return False, (
            f"模板 {template_id} 不在本公众号的模板列表中：请在“广告与服务 → 模板消息 → 我的模板”核对模板ID，"
            "改正 WECHAT_MP_NOTICE_TEMPLATE_ID。"
        )
    keys = [key.strip() for key in settings.wechat_mp_notice_template_keys.split(",") if key.strip()]
    content = str(template.get("content", ""))
    missing = [key for key in keys if f"{{{{{key}.DATA}}}}" not in content]
    if missing:
        return False, (
            f"模板“{template.get('title', template_id)}”没有 {'、'.join(missing)} 字段："
            "请按模板详情中的字段名改正 WECHAT_MP_NOTICE_TEMPLATE_KEYS"
            "（先写事项，再写时间，例如 thing1,time2）。"
        )
    return True, f"通知模板：“{template.get('title', '')}”（{template_id}）"


def _check_callback(settings: Settings, url: str) -> CheckLine:
    """The URL check 服务器配置 makes when saved, made here: a signed echostr, which must come back."""
    echo = str(secrets.randbits(60))
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    signed = hashlib.sha1("".join(sorted([settings.wechat_mp_token, timestamp, nonce])).encode()).hexdigest()
    params = {
        "signature": signed,
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": echo,
    }
    right = "（与“服务器配置”中的服务器地址(URL)一致即可）"
    return url_check(url, params, echo, right, "WECHAT_MP_TOKEN 与运行中的服务不一致，或服务器时间不准？")


def write_invite_qr_code(settings: Settings, service: Service, code: str, days: int, target: Path) -> bool:
    """The invite as the 公众号's temporary QR code (PNG), written to ``target``: scanning it follows
    the 公众号 and shows the privacy notice; 同意 binds. False (said why) when none was made."""
    if not settings.wechat_mp_enabled:
        raise SystemExit(MP_NOT_SET)
    seconds = days * 24 * 3600
    api = MpApi(settings, DatabaseTokens(service.repository, service.clock), timeout=10.0)
    try:
        picture = api.qr_code(code, seconds)
    except WeChatClientException as error:
        print(
            f"公众号没有生成二维码（错误 {error.errcode}）：请先运行 intake mp check 检查配置。",
            file=sys.stderr,
        )
        return False
    except requests.RequestException as error:
        problem = f"连不上公众号接口（{type(error).__name__}），二维码没有生成"
        print(f"{problem}：请检查网络和 WECHAT_MP_API_BASE_URL 后重试。", file=sys.stderr)
        return False
    target.write_bytes(picture)
    lasting = min(seconds, QR_LONGEST) // (24 * 3600)
    print(
        f"公众号二维码已保存到 {target}（{lasting} 天内有效）。对方用微信扫码、关注公众号后，"
        "阅读个人信息保护告知并回复“同意”即绑定。"
    )
    if seconds > QR_LONGEST:
        print(
            "注意：公众号的临时二维码最长 30 天有效，邀请码更久；二维码过期后，"
            "对方仍可在公众号中发送“绑定 邀请码”。"
        )
    return True
