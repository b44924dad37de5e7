"""The intake: how every order and every decision enters GPMS.

One place does the checks, stages a member order's members and starts or queues the order;
anything it will not take is a `Refusal` with the text the person reads (and the kind of
refusal, which the API turns into its HTTP status). Nothing is started when it refuses.
The API's routers, the demo, the benchmarks and the tests submit through here. One module
per kind of caller's business: service orders, member orders, the provinces' notices and
people's decisions.
"""

from intake.decisions import DecisionIntake
from intake.member_orders import ORPHANS_CLEARED_AFTER, MemberOrderIntake
from intake.province_notices import ProvinceNoticeIntake
from intake.service_orders import ServiceOrderIntake
from intake.validation import new_order_no
from refusal import Refusal, RefusalKind


class Intake(ServiceOrderIntake, MemberOrderIntake, ProvinceNoticeIntake, DecisionIntake):
    """Every way in, over one store and one Temporal connection."""


__all__ = ["Intake", "ORPHANS_CLEARED_AFTER", "Refusal", "RefusalKind", "new_order_no"]
