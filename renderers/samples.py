"""Realistic sample records, as long as the forms allow, for previews, tests and timing.

Every text is plausible Chinese of (nearly) the maximum length its validator accepts: a 1000-字
主要事迹, ten courses of about 300 字, a 500-字 创建情况 and twelve photos, one of them stored
sideways with an EXIF orientation tag and one a PNG. Photos are drawn with Pillow (no files are
shipped) and written to ``photo_dir`` under their sha256, the way storage keeps them.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from dialogs.chinese_text import word_count
from renderers.records import FormRecord

SAMPLE_UNIT = "鱼峰区妇联"
SAMPLE_AREA = "鱼峰区"
SAMPLE_CITY = "柳州市"
SAMPLE_YEAR = 2021

_EXIF_ORIENTATION = 0x0112
_ROTATED_90_CW = 6  # stored sideways; a viewer turns it 90° clockwise to show it upright


def sample_record(form_id: str, photo_dir: Path) -> FormRecord:
    """A realistic, maximum-length record of ``form_id``; its photos are written into ``photo_dir``."""
    if form_id == "cadre_registration":
        return _registration(photo_dir)
    if form_id == "course_recommendation":
        return _course_recommendation()
    if form_id == "site_application":
        return sample_sites(photo_dir, 1)[0]
    raise ValueError(f"unknown form {form_id!r}; there is no sample of it")


# --- 登记表 ------------------------------------------------------------------------------------------

STORY = """\
欧阳春兰同志，壮族，1979年8月出生，中共党员，2014年3月起担任鱼峰区白沙镇新华村妇代会主任，2017年妇联改革后\
当选村妇联主席，现任村党总支副书记、村民委员会主任、村妇联主席。七年来，她扎根基层、甘于奉献，把妇女群众的\
小事当作自己的大事，带领全村妇女在产业发展、乡村治理、家庭文明建设中建功立业，先后获得柳州市“三八红旗手”、\
鱼峰区“优秀妇联主席”等荣誉称号。
一是带头发展产业，帮助妇女姐妹增收致富。新华村地处城郊，她主动对接\
区妇联“巾帼助力乡村振兴”项目，牵头成立新华村巾帼螺蛳粉原材料种植专业合作社，发动62名妇女种植竹笋、豆角、\
木耳等螺蛳粉配料，与柳州市两家螺蛳粉生产企业签订订单收购协议，解决了销路问题。2020年合作社产值达到310万元，\
参与的妇女人均年增收1.2万元。她联系区人社局开办螺蛳粉制作、电商直播等培训班8期，培训妇女430人次，帮助56名\
留守妇女实现家门口就业。
二是创新治理方式，让妇女在村务中唱主角。她推动建立村妇女议事会，每月召开一次议事会，围绕环境整治、邻里纠纷、\
留守儿童关爱等问题广泛听取妇女意见。在村道硬化和“三清三拆”工作中，她带领议事会成员逐户上门宣传，协调解决\
占道堆放、旱厕拆除等难题40余件，全村人居环境明显改善，新华村被评为自治区级生态村。她还组建“桂姐姐”调解队，\
2018年以来调解婚姻家庭、邻里矛盾纠纷97起，调解成功率达到95%以上，做到小事不出村、矛盾不上交。
三是用心关爱服务，当好妇女群众的贴心人。她坚持每周走访困难妇女和留守儿童家庭，建立困难妇女儿童台账，为23名\
困难单亲母亲申请“母亲邮包”和救助金，为两名患病妇女争取“两癌”救助资金共4万元。她在村里开设“儿童之家”，\
利用周末组织志愿者开展课业辅导、安全教育、亲子阅读等活动，受益儿童1200余人次。新冠肺炎疫情期间，她带领\
28名巾帼志愿者日夜值守卡点，为居家隔离人员代购生活物资，守护了群众健康。
四是倡树文明新风，推动家庭文明建设。她在村里开展“最美家庭”“好婆婆好媳妇”评选活动，创办“巾帼家美积分超市”，\
把庭院整洁、孝老爱亲、移风易俗等内容纳入积分，妇女凭积分兑换生活用品，全村420户家庭参与，形成了爱家乡、讲文明、\
比贡献的良好风气。近三年全村共评出各级“最美家庭”35户，其中1户获评自治区“最美家庭”。
欧阳春兰同志常说：“妇联干部就是要把妇女的事放在心上、扛在肩上。”她用实际行动诠释了新时代基层妇联干部的责任与\
担当，赢得了妇女群众的信赖。"""

WEB_STORY = """\
欧阳春兰，壮族，中共党员，柳州市鱼峰区白沙镇新华村党总支副书记、村委会主任、村妇联主席。她扎根村里七年，\
牵头成立巾帼螺蛳粉原材料种植专业合作社，发动62名妇女种植竹笋、豆角、木耳，与螺蛳粉企业签订订单收购协议，\
2020年合作社产值310万元，参与妇女人均年增收1.2万元；开办螺蛳粉制作、电商直播培训班8期，帮助56名留守妇女\
在家门口就业。她推动建立村妇女议事会，带领妇女参与“三清三拆”和人居环境整治，新华村被评为自治区级生态村；\
组建“桂姐姐”调解队，三年调解婚姻家庭和邻里纠纷97起。她为困难单亲母亲申请“母亲邮包”，为患病妇女争取“两癌”\
救助，开设“儿童之家”服务留守儿童1200余人次；疫情期间带领巾帼志愿者日夜值守卡点。她创办“巾帼家美积分超市”，\
全村420户家庭参与，35户家庭获评各级“最美家庭”。她先后获得柳州市“三八红旗手”、鱼峰区“优秀妇联主席”等荣誉称号，\
被群众亲切地称为“春兰姐”。在她的带动下，新华村妇联执委人人有分工、月月有活动，村里的妇女姐妹从“旁观者”变成了\
乡村振兴和基层治理的“参与者”。她说：“妇联干部就是要把妇女的事放在心上、扛在肩上。”"""


def _registration(photo_dir: Path) -> FormRecord:
    id_photo = _store_photo(photo_dir, _portrait_photo(seed=7))
    work_photo = _store_photo(photo_dir, _scene_photo(seed=8))
    answers: dict[str, Any] = {
        "name": "欧阳春兰",
        "gender": "女",
        "birth": "1979-08",
        "ethnicity": "壮族",
        "education": "大学专科",
        "political_status": "中共党员",
        "employer_post": (
            "柳州市鱼峰区白沙镇新华村党总支副书记、村民委员会主任、村妇联主席，"
            "白沙镇妇联兼职副主席、巾帼螺蛳粉种植专业合作社理事长"
        ),
        "address": (
            "广西壮族自治区柳州市鱼峰区白沙镇新华村村民委员会办公楼二楼妇女之家"
            "（白沙镇人民政府往东约三公里，新华村第三村民小组村道旁，新华村小学斜对面）"
        ),
        "postcode": "545116",
        "phone": "13978012345",
        "cadre_level": "村（社区）妇联执委",
        "service_start": "2014-03",
        "story": STORY,
        "web_story": WEB_STORY,
        "id_photo": id_photo.answer,
        "work_photo": work_photo.answer,
    }
    return FormRecord(
        form_id="cadre_registration",
        answers=answers,
        unit_name=SAMPLE_UNIT,
        unit_area=SAMPLE_AREA,
        city=SAMPLE_CITY,
        campaign_year=SAMPLE_YEAR,
        submitted_on=date(2021, 5, 20),
        photo_files={id_photo.sha256: id_photo.path, work_photo.sha256: work_photo.path},
    )


# --- 课程推荐表 ----------------------------------------------------------------------------------------

# (课程名称, 授课形式, 主讲人, 出生年月, 单位及职务, the course-specific part of 主要内容)
_COURSES = (
    ("巧用“妇女议事会”化解邻里矛盾", "典型案例", "覃美玲", "1982-07", "鱼峰区白沙镇新华村妇联主席",
     "本课以新华村妇女议事会调解宅基地和排水沟纠纷的真实案例为线索，讲述村妇联如何通过议事会收集问题、"
     "组织当事双方和村民代表协商、形成书面约定并跟踪落实，三年来化解邻里矛盾60余起。"),
    ("新时代家庭家教家风建设的几点做法", "讲授", "韦丽萍", "1975-11", "鱼峰区妇联副主席",
     "课程系统讲解家庭家教家风建设的政策要求，介绍鱼峰区开展“最美家庭”寻找、家风故事宣讲、"
     "家庭教育指导进社区等工作的做法，讲清基层妇联组织在家庭文明建设中的职责定位和工作抓手。"),
    ("从“门外汉”到“带头人”：我的螺蛳粉创业路", "访谈", "蓝秋菊", "1986-04",
     "鱼峰区里雍镇里雍村妇联执委、里雍巾帼螺蛳粉专业合作社理事长",
     "主讲人以访谈形式讲述自己从外出务工返乡，到学习螺蛳粉制作、成立合作社、带动32名姐妹就业的经历，"
     "分享妇联执委在发展产业中如何争取项目、联系企业、组织培训和解决销路问题。"),
    ("村级“儿童之家”如何建好管好用好", "讲授", "黄晓燕", "1984-02", "鱼峰区荣军街道妇联主席",
     "课程围绕场地设置、制度建设、志愿者队伍和活动设计四个方面，介绍荣军街道六个“儿童之家”的建设经验，"
     "重点讲解如何链接学校、社工机构和爱心企业资源，让“儿童之家”常年有人管、有活动、有实效。"),
    ("用好“巾帼家美积分超市”推动移风易俗", "典型案例", "梁春燕", "1980-09", "鱼峰区里雍镇妇联主席",
     "本课介绍里雍镇在12个村推广“巾帼家美积分超市”的做法，讲解积分项目如何设置、积分如何评定公示、"
     "物资从哪里来，以及如何把庭院整洁、孝老爱亲、红白事简办等内容融入积分，带动群众自觉移风易俗。"),
    ("妇联执委如何做好入户走访", "讲授", "罗玉梅", "1978-05", "鱼峰区五里亭街道红光社区妇联主席",
     "课程结合社区工作实际，讲解妇联执委入户走访前的准备、走访中的沟通技巧和走访后的台账管理，"
     "分享如何通过走访及时发现困难妇女、留守儿童和家庭矛盾，并分类转介到相关部门和服务机构。"),
    ("疫情防控中的巾帼志愿服务", "典型案例", "潘彩霞", "1983-12", "鱼峰区天马街道妇联副主席",
     "本课讲述天马街道妇联在疫情防控中组建巾帼志愿服务队的经过，介绍卡点值守、排查登记、物资代购、"
     "心理疏导等服务如何分工排班，如何保障志愿者自身安全，以及疫情后志愿服务队如何转为常态化服务。"),
    ("婚姻家庭纠纷调解“三步工作法”", "讲授", "吴秀珍", "1972-03", "鱼峰区驾鹤街道妇联主席、人民调解员",
     "课程讲解“听清诉求、找准症结、依法调处”三步工作法，结合家暴求助、离婚纠纷、赡养纠纷等案例，"
     "说明妇联执委在调解中如何把握情理法，何时需要联系公安、法院、民政等部门联动处置。"),
    ("返乡女大学生的电商助农故事", "访谈", "莫丽娟", "1995-06",
     "鱼峰区白沙镇妇联执委、白沙镇电商服务站负责人",
     "主讲人讲述大学毕业后返乡创业，通过直播带货帮助农户销售竹笋、酸笋、柑橘等农产品的经历，"
     "介绍如何组织妇女学习拍摄和直播，如何与快递、冷链企业合作降低成本，让姐妹们在家门口增收。"),
    ("社区“妇女微家”建设与服务", "典型案例", "廖秋萍", "1981-10", "鱼峰区麒麟街道东环社区妇联主席",
     "本课介绍东环社区依托小区党群服务站建设五个“妇女微家”的做法，讲解“微家”如何选址、如何由楼栋执委"
     "牵头、如何根据居民需求开展亲子活动、技能培训和邻里互助，让妇联组织延伸到居民家门口。"),
)  # fmt: skip

_COURSE_COMMON = (
    "课程注重把履职实践中的具体做法讲清楚、讲明白，配有现场画面和工作台账，便于基层执委对照学习。",
    "学员通过学习可以掌握开展此项工作的基本步骤、常用方法和注意事项，结合本村本社区实际灵活运用。",
    "课程还总结了工作中遇到的困难和解决办法，提醒执委在工作中既要热心也要依法依规、尊重群众意愿。",
    "该做法已在全区多个村、社区推广，得到当地党委政府和妇女群众的认可，具有较强的可复制性。",
    "课程视频时长约5分钟，配有字幕和现场画面。",
    "适合县、乡、村三级妇联执委学习。",
)


def _course_summary(index: int, specific: str, limit: int = 300) -> str:
    text = specific
    for offset in range(len(_COURSE_COMMON)):
        sentence = _COURSE_COMMON[(index + offset) % len(_COURSE_COMMON)]
        if word_count(text + sentence) <= limit:
            text += sentence
    return text


def _course_recommendation() -> FormRecord:
    courses = [
        {
            "course_title": title,
            "teaching_form": form,
            "summary": _course_summary(index, specific),
            "speaker_name": speaker,
            "speaker_birth": birth,
            "speaker_post": post,
        }
        for index, (title, form, speaker, birth, post, specific) in enumerate(_COURSES)
    ]
    return FormRecord(
        form_id="course_recommendation",
        answers={
            "courses": courses,
            "contact_name_post": "韦丽萍 鱼峰区妇联党组成员、副主席（分管组联工作）",
            "contact_phone": "0772-3856123",
        },
        unit_name=SAMPLE_UNIT,
        unit_area=SAMPLE_AREA,
        city=SAMPLE_CITY,
        campaign_year=SAMPLE_YEAR,
        submitted_on=date(2021, 5, 21),
    )


# --- 申报表 and 统计表 ----------------------------------------------------------------------------------

SITUATION = """\
产业园党委牵头，按照“党建带妇建”的思路，联合园区内12家螺蛳粉生产企业和3家物流电商企业，采取区域联建方式\
组建园区妇联，推选园区党委委员、女企业家莫小燕任主席，3名企业女职工代表任副主席，15名执委分布在各企业生产\
一线。
一是建阵地。在园区党群服务中心设立“妇女之家”和“爱心妈咪小屋”，配备哺乳、休息、阅读设施，各企业设立“巾帼\
服务岗”，形成“园区有家、企业有岗、班组有人”的工作格局。
二是强服务。针对女职工多为进城务工妇女、子女照顾难的问题，开办暑期“职工子女托管班”，托管儿童\
180人次；开展“两癌”免费筛查和心理健康讲座，覆盖女职工900余人次；建立困难女职工帮扶台账，走访慰问46户。
三是促发展。举办螺蛳粉包装、质量检验、电商直播等技能培训12期，培训女职工620人次，32名女职工晋升为班组长或\
技术骨干；开展“巾帼建功标兵”“巾帼文明岗”评选，激发女职工干事创业热情。
四是亮品牌。打造“粉红螺蛳·巾帼同行”服务品牌，执委每月“亮牌服务”，公开组织架构、执委身份和服务内容，女职工\
有事找妇联、妇联服务在身边成为常态。园区妇联自成立以来，女职工流失率下降了8个百分点，企业和女职工普遍认可，\
得到了市、区妇联的肯定。"""

_PHOTO_CAPTIONS = (
    "2021年6月18日，柳州市鱼峰区螺蛳粉产业园妇女联合会成立大会暨第一次妇女代表大会现场",
    "园区妇联主席、副主席和执委在党群服务中心“妇女之家”揭牌仪式上合影",
    "园区党群服务中心“爱心妈咪小屋”，为哺乳期女职工提供休息和哺乳场所",
    "暑期“职工子女托管班”开班，社工和巾帼志愿者带领孩子们开展手工活动",
    "联合区妇幼保健院为园区女职工开展“两癌”免费筛查",
    "螺蛳粉包装和质量检验技能培训班，女职工在老师指导下进行实操练习",
    "“巾帼电商直播”培训课上，女职工学习直播带货技巧",
    "执委开展“亮牌服务”，在生产车间向女职工介绍园区妇联的服务内容",
    "园区妇联执委走访慰问困难女职工家庭，送去慰问金和生活用品",
    "“巾帼建功标兵”“巾帼文明岗”表彰会现场，受表彰女职工代表发言",
    "园区妇联组织女职工开展“学党史、感党恩、跟党走”主题读书分享会",
    "“粉红螺蛳·巾帼同行”服务品牌发布，园区妇联执委和企业女职工代表合影",
)


@dataclass(frozen=True)
class _Site:
    unit_name: str
    unit_area: str
    org_name: str
    federation_name: str
    chair_name: str
    chair_phone: str
    vice_chairs: int
    committee: int
    founded_on: str


_SITES = (
    _Site("鱼峰区妇联", "鱼峰区", "柳州市鱼峰区螺蛳粉产业园（园区党委及入园生产、物流、电商企业）",
          "柳州市鱼峰区螺蛳粉产业园妇女联合会", "莫小燕", "13607724567", 3, 15, "2021-06-18"),
    _Site("鱼峰区妇联", "鱼峰区", "柳州市鱼峰区五星商业步行街商圈", "柳州市鱼峰区五星商圈妇女联合会",
          "谢红梅", "0772-2861234", 2, 9, "2021-07-06"),
    _Site("城中区妇联", "城中区", "柳州市城中区东堤路女性自由职业者联合会", "城中区自由职业女性妇女联合会",
          "周佳", "13768112345", 2, 7, "2021-05-28"),
    _Site("柳东新区党群工作部", "柳东新区", "柳东新区汽车产业园", "柳东新区汽车城妇女联合会",
          "阿依古丽·买买提", "18977298765", 3, 21, "2021-08-12"),
    _Site("融水苗族自治县妇联", "融水苗族自治县", "融水苗族自治县苗绣产业协会",
          "融水苗族自治县苗绣行业妇女联合会", "贾美仙", "15977212233", 2, 11, "2021-04-30"),
)  # fmt: skip


def sample_sites(photo_dir: Path, count: int = len(_SITES)) -> list[FormRecord]:
    """Up to five 申报表 records from several units (for the city-wide 统计表); the first is the
    full-length sample with 12 photos, the others have 3 photos each."""
    stored = [
        _store_photo(photo_dir, _scene_photo(seed=index), png=index == 4, sideways=index == 2)
        for index in range(len(_PHOTO_CAPTIONS))
    ]
    records = []
    for number, site in enumerate(_SITES[:count]):
        photos = stored if number == 0 else stored[number : number + 3]
        captions = _PHOTO_CAPTIONS if number == 0 else _PHOTO_CAPTIONS[number : number + 3]
        answers: dict[str, Any] = {
            "org_name": site.org_name,
            "staff_count": 1260,
            "female_count": 835,
            "leader_name": "黄建国",
            "leader_phone": "13907721234",
            "filler_name": "李秀梅",
            "filler_phone": "15878012345",
            "build_mode": "区域联建",
            "domain": "园区",
            "federation_name": site.federation_name,
            "chair_name": site.chair_name,
            "chair_phone": site.chair_phone,
            "vice_chair_count": site.vice_chairs,
            "committee_count": site.committee,
            "founded_on": site.founded_on,
            "situation": SITUATION,
            "photos": [
                {"photo": photo.answer, "caption": caption}
                for photo, caption in zip(photos, captions, strict=True)
            ],
        }
        records.append(
            FormRecord(
                form_id="site_application",
                answers=answers,
                unit_name=site.unit_name,
                unit_area=site.unit_area,
                city=SAMPLE_CITY,
                campaign_year=SAMPLE_YEAR,
                submitted_on=date(2021, 8, 20),
                photo_files={photo.sha256: photo.path for photo in photos},
            )
        )
    return records


# --- photos --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPhoto:
    """A photo file written the way storage keeps it, and the answer that refers to it."""

    sha256: str
    path: Path
    answer: dict[str, Any]


def store_photo_bytes(photo_dir: Path, data: bytes) -> StoredPhoto:
    """Write ``data`` under its sha256 and describe it as a stored photo answer (upright size)."""
    sha = hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if image.getexif().get(_EXIF_ORIENTATION) in (5, 6, 7, 8):
            width, height = height, width
        mime = Image.MIME.get(image.format or "", "application/octet-stream")
    photo_dir.mkdir(parents=True, exist_ok=True)
    path = photo_dir / f"{sha}.{'png' if mime == 'image/png' else 'jpg'}"
    if not path.exists():
        path.write_bytes(data)
    return StoredPhoto(sha, path, {"sha256": sha, "width": width, "height": height, "mime": mime})


def _store_photo(
    photo_dir: Path, image: Image.Image, *, png: bool = False, sideways: bool = False
) -> StoredPhoto:
    buffer = io.BytesIO()
    if png:
        image.save(buffer, format="PNG")
    elif sideways:
        exif = Image.Exif()
        exif[_EXIF_ORIENTATION] = _ROTATED_90_CW
        image.rotate(90, expand=True).save(buffer, format="JPEG", quality=85, exif=exif)
    else:
        image.save(buffer, format="JPEG", quality=85)
    return store_photo_bytes(photo_dir, buffer.getvalue())


def _scene_photo(seed: int, size: tuple[int, int] = (1200, 900)) -> Image.Image:
    """A meeting-room or workshop scene: wall, banner, rows of people, a table."""
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    wall = (rng.randint(200, 235), rng.randint(200, 230), rng.randint(185, 220))
    for y in range(height):
        shade = 1 - 0.25 * y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(c * shade) for c in wall))
    draw.rectangle([0, int(height * 0.72), width, height], fill=(150 + rng.randint(0, 30), 110, 80))
    draw.rectangle(
        [int(width * 0.12), int(height * 0.08), int(width * 0.88), int(height * 0.24)], fill=(190, 20, 30)
    )
    for x in range(int(width * 0.16), int(width * 0.84), 46):
        draw.rectangle([x, int(height * 0.13), x + 30, int(height * 0.19)], fill=(250, 230, 120))
    for row in range(3):
        y = int(height * (0.45 + row * 0.12))
        for col in range(7 + row):
            x = int(width * (0.08 + col * 0.84 / (6 + row))) + rng.randint(-12, 12)
            radius = 34 + row * 6
            coat = (rng.randint(20, 220), rng.randint(20, 160), rng.randint(40, 200))
            draw.rounded_rectangle([x - radius, y, x + radius, y + radius * 3], radius=radius // 2, fill=coat)
            draw.ellipse(
                [x - radius // 2 - 6, y - radius - 8, x + radius // 2 + 6, y + 4], fill=(236, 196, 160)
            )
            draw.chord(
                [x - radius // 2 - 8, y - radius - 12, x + radius // 2 + 8, y - 10],
                180,
                360,
                fill=(30, 25, 25),
            )
    draw.rectangle(
        [int(width * 0.2), int(height * 0.8), int(width * 0.8), int(height * 0.86)], fill=(245, 245, 240)
    )
    return image


def _portrait_photo(seed: int) -> Image.Image:
    """A 证件照-like head and shoulders on a blue background."""
    rng = random.Random(seed)
    image = Image.new("RGB", (600, 800), (60, 130, 200))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([90, 560, 510, 900], radius=120, fill=(25 + rng.randint(0, 20), 35, 60))
    draw.polygon([(260, 560), (340, 560), (300, 660)], fill=(250, 250, 250))
    draw.ellipse([190, 200, 410, 480], fill=(238, 200, 170))
    draw.chord([170, 150, 430, 420], 180, 360, fill=(25, 20, 20))
    return image
