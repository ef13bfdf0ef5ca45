"""The privacy notice a person reads, and consents to, before anything about them is stored."""

from __future__ import annotations

from dialogs.campaign import Campaign

#: What a channel's notice says of the messenger the messages travel through.
CHANNEL_NOTES = {
    "telegram": "· 请注意：Telegram 的服务器位于境外，您发送的消息和照片会经过境外服务器传输。",
    "wecom": (
        "· 消息经企业微信传输：企业微信由腾讯公司在中国境内运营；"
        "您填写的表格保存在本市{department}的服务器上，不存放在企业微信。"
    ),
    "mp": (
        "· 消息经微信公众号传输：微信由腾讯公司在中国境内运营；"
        "您填写的表格保存在本市{department}的服务器上，不存放在公众号。"
    ),
}


TRIAL_NOTE = "试用：本机试用数据，不用于正式报送"


def privacy_notice(campaign: Campaign, channel: str, unit_name: str | None, *, trial: bool = False) -> str:
    """What is collected, why, where it is kept, for how long — and what the messenger is: for
    Telegram, that it goes abroad; for 企业微信, that it is Tencent's, in China. ``unit_name`` is the
    unit the person will fill forms for; None for 组联部's own people, who review them (and so read
    every unit's personal data). In a trial (``intake run --trial``) it says so, and that the data is
    kept on this computer only."""
    kept = campaign.personal_data_kept_until
    department = campaign.contact.department
    if unit_name is None:
        role = f"您将作为{department}的审核人员，查看、接收或退回各单位报送的表格。"
        collected = (
            "· 收集哪些信息：您的聊天账号标识（用于确认您是本部门的审核人员）；您的审核记录"
            "（接收、退回及退回原因、推荐上报，带时间）。"
        )
        duty = (
            "· 您将看到各单位填写的个人信息（姓名、联系电话、出生年月、照片等），"
            "仅限审核和汇总使用，请勿转发或外传。"
        )
    else:
        role = f"您将作为“{unit_name}”的联系人填写。"
        collected = (
            "· 收集哪些信息：您的聊天账号标识（用于识别您所在的单位）；您填写的表格内容，可能包括候选人、"
            "主讲人、负责人的姓名、性别、出生年月、民族、联系电话、通讯地址和照片等。"
        )
        duty = "· 用途：仅用于本次活动的报送、审核和汇总，不作他用。"
    lines = [
        f"【个人信息保护告知·{TRIAL_NOTE}】" if trial else "【个人信息保护告知】",
        f"本服务由{campaign.issuer}{department}用于收集《{campaign.notice}》要求报送的表格，{role}",
        collected,
        duty,
        (
            "· 存放在哪里：运行本程序的这台电脑上（试用），不会报送到任何地方。"
            if trial
            else f"· 存放在哪里：{department}的服务器数据库和文件中；"
            f"只有各单位自己的联系人和{department}能看到该单位的表格。"
        ),
        (
            "· 保存多久：试用数据可随时删除；请不要填写真实的个人信息。"
            if trial
            else f"· 保存多久：保存至{kept.year}年{kept.month}月{kept.day}日，之后删除。"
        ),
    ]
    if channel in CHANNEL_NOTES:
        lines.append(CHANNEL_NOTES[channel].format(department=department))
    lines.append("点“同意”表示您同意按上述方式处理这些信息；不同意则不会保存您的任何信息。")
    return "\n".join(lines)
