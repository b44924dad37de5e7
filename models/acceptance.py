"""The VPDN acceptance basic information table (VPDN业务受理基础信息表): each province returns
its part, HQ compiles the table and returns it to the signing account manager. GPMS compiles
it per service (now) or per order (kept when the order ended) from what the provinces
reported, in the form staff use: a spreadsheet with a service section, one row per member
and per province its counts and completion dates."""

from datetime import datetime

from pydantic import BaseModel, Field

from models.members import BatchReport

# Column keys and their headers: (key, Chinese, English), in the spreadsheet's order.
SERVICE_FIELDS = [
    ("order_no", "订单编号", "Order number"),
    ("order_type", "订单类型", "Order type"),
    ("order_state", "订单状态", "Order state"),
    ("compiled_at", "编制时间", "Compiled at (UTC)"),
    ("customer_code", "客户编码", "Customer code"),
    ("customer_name", "客户名称", "Customer name"),
    ("service_id", "业务编号", "Service ID"),
    ("service_state", "业务状态", "Service state"),
    ("contract_number", "合同编号", "Contract number"),
    ("contract_signed_on", "签约日期", "Contract signed on"),
    ("contract_signed_by", "签约客户经理", "Signing account manager"),
    ("tariff_reference", "资费批复文号", "Approved tariff reference"),
    ("apn", "APN", "APN"),
    ("access_province", "接入省", "Access province"),
    ("related_provinces", "相关省", "Related provinces"),
    ("line", "专线", "Dedicated line"),
    ("tariff_version", "资费版本", "Tariff version"),
    ("tariff_parameters", "资费参数", "Tariff parameters"),
    ("discounts", "优惠", "Discounts"),
    ("rental_start", "起租日期", "Rental start"),
    ("paying_province", "付费省", "Paying province"),
]
MEMBER_COLUMNS = [
    ("msisdn", "号码", "Number"),
    ("name", "姓名", "Name"),
    ("home_province", "归属省", "Home province"),
    ("plan", "成员套餐", "Plan"),
    ("state", "状态", "State"),
    ("opened_on", "开通日期", "Opened on"),
    ("rental_from", "起租日期", "Rental from"),
    ("reported_on", "报竣日期", "Completion report received on"),
    ("note", "备注", "Note"),
]
PROVINCE_COLUMNS = [
    ("province", "省份", "Province"),
    ("role", "角色", "Role"),
    ("members", "成员数", "Members"),
    ("done", "成功", "Done"),
    ("failed", "失败", "Failed"),
    ("invalid", "核查不通过", "Refused by verification"),
    ("first_report", "首次报竣", "First completion report"),
    ("last_report", "末次报竣", "Last completion report"),
]
SECTIONS = {"service": ("业务信息", "Service"), "members": ("成员", "Members"), "provinces": ("省份", "Provinces")}


class ProvinceReport(BaseModel):
    """A province's completion report (报竣) received by an order: which step, and when."""

    province: str
    step: str
    reported_on: str  # ISO date, Beijing


class MemberRow(BaseModel):
    msisdn: str
    name: str = ""
    home_province: str | None = None
    plan: str = ""
    state: str
    opened_on: str | None = None
    rental_from: str | None = None
    reported_on: str | None = None
    note: str = ""


class ProvinceRow(BaseModel):
    province: str
    role: str
    members: int = 0
    done: int = 0
    failed: int = 0
    invalid: int = 0
    first_report: str | None = None
    last_report: str | None = None


class AcceptanceTable(BaseModel):
    """The table: the service section (field → value), member rows, province rows."""

    service: dict[str, str] = Field(default_factory=dict)
    members: list[MemberRow] = Field(default_factory=list)
    provinces: list[ProvinceRow] = Field(default_factory=list)
    compiled_at: datetime | None = None


class TableRequest(BaseModel):
    """Compile and keep the table of an order that ended, from the order store and the
    reports the order received (no member numbers: the store has them)."""

    order_no: str
    service_id: str
    order_state: str
    batch_reports: list[BatchReport] = Field(default_factory=list)
    province_reports: list[ProvinceReport] = Field(default_factory=list)

# The files an acceptance table is written to (acceptance_sheet.py).
FORMATS = (".xlsx", ".csv")
