"""The 31 provinces (省) and the HQ-level systems, by the codes the hub uses."""

from enum import StrEnum

PROVINCES: dict[str, str] = {
    "BJ": "Beijing", "TJ": "Tianjin", "HE": "Hebei", "SX": "Shanxi", "NM": "Inner Mongolia",
    "LN": "Liaoning", "JL": "Jilin", "HL": "Heilongjiang", "SH": "Shanghai", "JS": "Jiangsu",
    "ZJ": "Zhejiang", "AH": "Anhui", "FJ": "Fujian", "JX": "Jiangxi", "SD": "Shandong",
    "HA": "Henan", "HB": "Hubei", "HN": "Hunan", "GD": "Guangdong", "GX": "Guangxi",
    "HI": "Hainan", "CQ": "Chongqing", "SC": "Sichuan", "GZ": "Guizhou", "YN": "Yunnan",
    "XZ": "Tibet", "SN": "Shaanxi", "GS": "Gansu", "QH": "Qinghai", "NX": "Ningxia",
    "XJ": "Xinjiang",
}
PROVINCE_CODES: tuple[str, ...] = tuple(PROVINCES)

# HQ settlement and the SMS gateway are not in a province; the hub addresses them as "HQ".
HQ = "HQ"


class System(StrEnum):
    """The external systems behind the hub, per province (or at HQ)."""

    crm = "crm"
    hlr = "hlr"
    billing = "billing"
    aaa = "aaa"
    line = "line"  # the access province's dedicated-line center (专线中心)
    settlement = "settlement"  # HQ fixed-network settlement platform
    sms = "sms"  # SMS gateway
    hub = "hub"  # the HQ hub itself: routes a number to its home province's CRM


HQ_SYSTEMS = frozenset({System.settlement, System.sms, System.hub})


def check_province(code: str) -> str:
    """Return the province code upper-cased, or raise ValueError naming the valid codes."""
    upper = code.strip().upper()
    if upper not in PROVINCES:
        raise ValueError(f"unknown province code {code!r}; valid codes: {' '.join(PROVINCE_CODES)}")
    return upper


def check_provinces(codes: list[str]) -> list[str]:
    """Each code checked (check_province); refuses a province listed twice."""
    checked = [check_province(code) for code in codes]
    if len(set(checked)) != len(checked):
        raise ValueError(f"provinces are listed twice: {' '.join(checked)}")
    return checked
