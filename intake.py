"""The intake: how every order and every decision enters GPMS.

One place does the checks, stages a member order's members and starts or queues the order;
anything it will not take is a `Refusal` with the text the person reads (and the kind of
refusal, which the API turns into its HTTP status). Nothing is started when it refuses.
The CLI, the demo, the benchmarks and the tests submit through here.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from pydantic import BaseModel, ValidationError
from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.acceptance import AcceptanceTable
from models.contract import ContractAmendment
from models.fallout import FalloutDecision
from models.customer import AcquireCustomerInput, CustomerChange, customer_sync_workflow_id
from models.hub import REPORT_SIGNAL, CompletionReport
from models.member_changes import MemberNotification, standing_refusal
from models.member_file import MemberFile, MemberFileError
from models.members import MemberOrder
from models.words import are, counted
from models.plans import MemberPlan, MemberPlanChangeOrder, PlanRefused, check_plan
from models.orders import MEMBER_CHANGE_PREFIX, OrderState, OrderStatus, OrderType, OrderView, workflow_id_for
from models.service import (
    ServiceChangeOrder,
    ServiceClosureOrder,
    ServiceOpeningOrder,
    ServiceView,
    TariffChange,
    TariffChangeOrder,
    TariffChangeRefused,
    apply_tariff_change,
)
from models.service_orders import ServiceOrder, SubmissionAnswer
from models.provinces import PROVINCE_CODES
from reads import Reads
from refusal import Refusal, RefusalKind, Unavailable
from settings import Settings
from store import NotificationConflict, OrderStore, StagingConflict
from submission import notify_customer_change, notify_member_change, start_order, submit_service_order
from workflows.common import FOUR_EYES, failure_text
from workflows.customer_acquisition import CustomerAcquisition
from workflows.customer_sync import CustomerSync
from workflows.service_opening import ServiceOpening


class Accepted(BaseModel):
    """An order taken: its workflow started, or queued on its service."""

    order_no: str
    order_type: OrderType
    workflow_id: str
    service_id: str | None = None
    member_count: int | None = None
    # The encoding the member file was read in (utf-8, or gb18030 as Excel writes it in Chinese).
    member_file_encoding: str | None = None
    queue: SubmissionAnswer | None = None


def validation_text(error: ValidationError, within: str = "") -> str:
    """A pydantic error as an operator reads it: `field: what is wrong`, one per problem
    (fields named `within.field` for a part of a larger input)."""
    return "; ".join(
        (".".join(str(part) for part in ([within] if within else []) + list(e["loc"])) + ": "
         if e["loc"] or within else "")
        + problem_text(e)
        for e in error.errors()
    )


def problem_text(problem: dict) -> str:
    """One problem in the CLI's words, not the validation library's."""
    if problem["type"] in ("literal_error", "enum"):
        return f"{problem['input']!r} is not one of {problem['ctx']['expected'].replace(chr(39), '')}"
    if problem["type"] == "missing":
        return "is required"
    return problem["msg"].removeprefix("Value error, ")


def validated(model: type[BaseModel], fields: Any, within: str = "") -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise Refusal(validation_text(error, within)) from None


def new_order_no(prefix: str) -> str:
    """An order number GPMS gives when the person gives none: OPN20261203193400329730."""
    return f"{prefix}{datetime.now(UTC):%Y%m%d%H%M%S%f}"


def list_some(first: list[str], count: int) -> str:
    """The first numbers of `count`, and how many more."""
    return " ".join(first) + (f" … and {count - len(first)} more" if count > len(first) else "")


# Audit decisions, and how long one made right after the submission waits for the audit to open.
AUDIT_DECISIONS = ("approve", "reject")
# Orders whose workflow the intake starts itself (the others are queued on their service,
# which records them when it takes them).
STARTED_DIRECTLY = (OrderType.service_opening, OrderType.customer_acquisition)
ACCEPTANCE_WAIT = timedelta(seconds=15)

# A staging nobody submitted within this time is an orphan (its command died): cleared.
ORPHANS_CLEARED_AFTER = timedelta(minutes=15)


class Intake:
    def __init__(self, settings: Settings, store: OrderStore, connect: Callable[[], Awaitable[Client]]) -> None:
        self._settings = settings
        self._store = store
        self._connect = connect
        self.reads = Reads(store, self._client)

    @property
    def settings(self) -> Settings:
        return self._settings

    async def _client(self) -> Client:
        try:
            return await self._connect()
        except RuntimeError as error:
            raise Unavailable(f"cannot reach Temporal at {self._settings.temporal_address}: is `vpdn up` running? "
                              f"({error})") from None

    @staticmethod
    def _unconfirmed(order_no: str, error: Exception) -> Unavailable:
        """Temporal did not confirm a submission: it may have been taken all the same."""
        return Unavailable(f"Temporal did not confirm order {order_no} ({getattr(error, 'message', '') or 'no answer in time'}"
                           f"; are the workers running?): see `vpdn order show {order_no}` before submitting it again")

    async def temporal(self) -> Client:
        """The Temporal client, connected when first needed (for the routers that start workflows);
        Unavailable when it cannot be reached."""
        return await self._client()

    # Orders that start their own workflow

    async def acquire_customer(self, fields: dict) -> Accepted:
        """Customer information acquisition (客户信息获取) for a 10-digit customer code."""
        order = validated(AcquireCustomerInput, fields)
        self._check_order_no(order.order_no)
        await self._start(CustomerAcquisition.run, order, OrderType.customer_acquisition, order.order_no,
                          order.customer_code, list(PROVINCE_CODES))
        return self._accepted(order.order_no, OrderType.customer_acquisition)

    async def open_service(self, fields: dict) -> Accepted:
        """Service opening (业务开通): refused for a customer not acquired or an APN in use."""
        order: ServiceOpeningOrder = validated(ServiceOpeningOrder, fields)
        self._check_order_no(order.order_no)
        if self._store.customers.get_customer(order.customer_code) is None:
            raise Refusal(f"customer {order.customer_code} is not acquired: run `vpdn customer acquire "
                          f"{order.customer_code}` first")
        if owner := self._store.services.apn_in_use(order.apn):
            raise Refusal(f"APN {order.apn} is already used by service {owner}")
        if order.contract is None:
            raise Refusal("contract: an opening carries its contract: number, signed_on, signed_by (the signing "
                          "account manager) and tariff_reference (the approved tariff's reference)")
        self._refuse_contract_of_another_customer(order.contract.number, order.customer_code)
        await self._start(ServiceOpening.run, order, OrderType.service_opening, order.order_no,
                          order.customer_code, order.provinces)
        return self._accepted(order.order_no, OrderType.service_opening, service_id=order.service_id)

    # Orders on an existing service, queued one at a time

    async def change_tariff(self, service_id: str, fields: dict, change: dict) -> Accepted:
        """Group tariff package standard change: refused when a name is unknown or nothing changes.
        The change may carry an amended contract (`contract`)."""
        service = self.active_service(service_id, "tariff change")
        change, contract = self._amended_contract(service, change)
        parsed = validated(TariffChange, change)
        try:
            apply_tariff_change(service.tariff, parsed)
        except TariffChangeRefused as error:
            raise Refusal(str(error)) from None
        return await self._queue(TariffChangeOrder, service,
                                 {**fields, "change": parsed.model_dump(), "contract": contract})

    async def change_service(self, service_id: str, fields: dict, change: dict) -> Accepted:
        """Service change (业务变更): the line, the related provinces or the payer; it may carry
        an amended contract (`contract`)."""
        service = self.active_service(service_id, "service change")
        change, contract = self._amended_contract(service, change)
        return await self._queue(ServiceChangeOrder, service, {**fields, "change": change, "contract": contract})

    async def close_service(self, service_id: str, fields: dict) -> Accepted:
        """Service closure (业务关闭): refused while any member is in the VPDN."""
        service = self.active_service(service_id, "closure")
        if members := self._store.members.member_count(service.service_id):
            raise Refusal(
                f"service {service.service_id} still has {counted(members, 'member')}: a VPDN is closed only after every "
                f"member has left it. List them with `vpdn service members {service.service_id}` and let them "
                f"exit with `vpdn member exit {service.service_id} --file …`")
        return await self._queue(ServiceClosureOrder, service, fields)

    async def member_order(self, service_id: str, kind: str, member_file: bytes | BinaryIO,
                           fields: dict) -> Accepted:
        """Member join or exit (成员加入/退出): the file read as a stream and checked, its
        members staged (bound to the order number and the file's content), checked against
        the service, and the order queued. Recording the order is the commit point: a
        refused submission takes back what it staged, and never what another one did."""
        service = self.active_service(service_id, f"member {kind}")
        members, count = self._member_file(member_file)
        order: MemberOrder = validated(MemberOrder, {
            **fields, "kind": kind, "service_id": service.service_id, "customer_code": service.customer_code,
            "apn": service.apn, "access_province": service.access_province, "provinces": service.provinces,
            "member_count": count})
        answer = await self._stage_and_submit(order, members, self._refuse_members)
        return self._accepted(order.order_no, OrderType(f"member_{kind}"), service_id=service.service_id,
                              member_count=count, member_file_encoding=members.encoding, queue=answer)

    async def member_plan_change(self, service_id: str, member_file: bytes | BinaryIO, plan: dict,
                                 fields: dict) -> Accepted:
        """Member plan change (成员套餐变更): refused for numbers that are not members, a plan
        that does not fit the service's current tariff version, or one that changes nothing
        for some of the members; the members staged, the order queued."""
        service = self.active_service(service_id, "member plan change")
        members, count = self._member_file(member_file)
        parsed: MemberPlan = validated(MemberPlan, plan, "plan")
        try:
            check_plan(parsed, service.tariff, service.tariff_version)
        except PlanRefused as error:
            raise Refusal(str(error)) from None
        order: MemberPlanChangeOrder = validated(MemberPlanChangeOrder, {
            **fields, "service_id": service.service_id, "customer_code": service.customer_code, "apn": service.apn,
            "access_province": service.access_province, "provinces": service.provinces,
            "member_count": count, "plan": parsed.model_dump()})

        def refuse(order: MemberPlanChangeOrder) -> None:
            count, first = self._store.staging.refused_members(order.order_no, order.service_id, order.kind)
            if count:
                raise Refusal(f"{counted(count, 'number')} {are(count)} not an active member of service {order.service_id}: "
                              f"{list_some(first, count)}")
            on_plan, first = self._store.terms.staged_on_plan(order.order_no, order.service_id, parsed)
            if on_plan:
                raise Refusal(f"the plan changes nothing for {on_plan} members already on plan {parsed}: "
                              f"{list_some(first, on_plan)}")

        answer = await self._stage_and_submit(order, members, refuse)
        return self._accepted(order.order_no, OrderType.member_plan_change, service_id=service.service_id,
                              member_count=count, member_file_encoding=members.encoding, queue=answer)

    @staticmethod
    def _member_file(member_file: bytes | BinaryIO) -> tuple[MemberFile, int]:
        """The member file, checked (read as a stream), and how many members it lists."""
        members = MemberFile(member_file)
        try:
            return members, members.check()
        except MemberFileError as error:
            raise Refusal(str(error)) from None

    async def _stage_and_submit(self, order: MemberOrder, members: MemberFile,
                                refuse: Callable[[MemberOrder], None]) -> SubmissionAnswer:
        """Stage a member order's members (bound to its number and content), `refuse` what
        the service cannot take, then queue it. Recording the order is the commit point: a
        refused submission takes back what it staged, and never what another one did."""
        self._check_order_no(order.order_no)
        self._store.staging.clear_orphans(ORPHANS_CLEARED_AFTER)
        try:
            staged = self._store.staging.stage(order.order_no, order.service_id, order.kind, members)
        except StagingConflict as conflict:
            raise Refusal(staging_conflict_text(conflict), RefusalKind.conflict) from None
        try:
            refuse(order)
            return await self._submit(order)
        except BaseException:
            if staged:
                self._store.staging.discard(order.order_no)
            raise

    def _refuse_members(self, order: MemberOrder) -> None:
        """A join of members already in the VPDN, or an exit of numbers that are not in it."""
        count, first = self._store.staging.refused_members(order.order_no, order.service_id, order.kind)
        if count and order.kind == "join":
            raise Refusal(f"{counted(count, 'member')} {are(count)} already in service {order.service_id}: {list_some(first, count)}")
        if count:
            raise Refusal(f"{counted(count, 'number')} {are(count)} not a member of service {order.service_id} (unknown or already "
                          f"exited): {list_some(first, count)}")

    # What the provinces' CRMs tell GPMS

    async def member_notification(self, fields: dict) -> str:
        """A CRM's notification that a member cancelled or changed its number: kept in the
        store under its id; refused with the reason when GPMS's records refuse it (not a
        member, not its home province, service not active), else handed (by id only) to the
        service's member-changes workflow, which checks it again with the new number's home
        CRM and queues the orders it causes. Returns the service's id."""
        notification: MemberNotification = validated(MemberNotification, fields)
        service_id = self._store.members.service_of_member(notification.msisdn)
        if service_id is None:
            refused = "the number is not a member of any VPDN"
        else:
            service = self._store.services.get_service(service_id)
            refused = standing_refusal(service_id, service and service.state, self._store.members.active_member_home(
                service_id, notification.msisdn), notification.province)
        try:
            self._store.notifications.receive(notification, service_id, refused=refused)
        except NotificationConflict as error:
            raise Refusal(str(error), RefusalKind.conflict) from None
        if service_id is None:
            raise Refusal(f"{notification.msisdn} is not a member of any VPDN: nothing to do")
        if refused:
            raise Refusal(f"notification {notification.notification_id} changes nothing: {refused}")
        await notify_member_change(await self._connect(), self._settings.task_queue, service_id,
                                   notification.notification_id)
        return service_id

    async def customer_change(self, fields: dict) -> tuple[str, str]:
        """A CRM's changed record of a group customer; the customer's sync workflow applies it
        in version order. Returns the workflow's id, and why it is ignored when it is not
        newer than the version of that province's record already received (else "")."""
        change: CustomerChange = validated(CustomerChange, fields)
        client = await self._connect()
        try:
            latest = await client.get_workflow_handle(customer_sync_workflow_id(change.customer_code)).query(
                CustomerSync.latest_version, change.province)
        except RPCError:
            latest = 0  # no sync of this customer yet
        if change.version <= latest:
            return customer_sync_workflow_id(change.customer_code), (
                f"version {latest} of the {change.province} record was already received: "
                f"version {change.version} is {'a repeat' if change.version == latest else 'older'} and is ignored")
        handle = await notify_customer_change(client, self._settings.task_queue, change)
        return handle.id, ""

    async def completion_report(self, workflow_id: str, report: CompletionReport) -> None:
        """Hand a province's completion report (报竣) to its order's workflow, which believes it
        only for a work order it sent (else records it as unexpected). Refused once the order
        has ended: the report changes nothing."""
        client = await self._connect()
        try:
            await client.get_workflow_handle(workflow_id).signal(REPORT_SIGNAL, report)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            raise Refusal(f"report {report.report_id}: its order has ended, the report changes nothing",
                          RefusalKind.conflict) from None

    # People's decisions on an order

    async def decide(self, order_no: str, update: str, decision: BaseModel) -> str:
        """Send a decision to the order's workflow (an update with a validator): its answer,
        or a Refusal with the workflow's reason."""
        order = self._store.orders.get_order(order_no.strip()) or await self._recorded_order(order_no)
        client = await self._connect()
        handle = client.get_workflow_handle(order.workflow_id)
        if update in AUDIT_DECISIONS:
            await self._until_past_acceptance(handle)
        try:
            return await handle.execute_update(update, decision, result_type=str)
        except WorkflowUpdateFailedError as error:
            four_eyes = isinstance(error.cause, ApplicationError) and error.cause.type == FOUR_EYES
            raise Refusal(failure_text(error.cause),
                          RefusalKind.forbidden if four_eyes else RefusalKind.conflict) from None
        except RPCError as error:
            if order.sub_state.startswith("waiting behind"):
                raise Refusal(f"order {order.order_no} is queued, {order.sub_state}: it takes decisions once that "
                              "order has ended and this one has started", RefusalKind.conflict) from None
            if error.status == RPCStatusCode.NOT_FOUND or "already completed" in error.message:
                raise Refusal(f"order {order.order_no} is {order.state}: it takes no more decisions",
                              RefusalKind.conflict) from None
            raise

    async def resolve_fallout(self, fallout_id: str, action: str, by: str, reason: str = "") -> tuple[str, str]:
        """A person's decision on an open fallout, sent to its order: the order and its answer."""
        fallout = self._store.fallouts.get_fallout(fallout_id.strip())
        if fallout is None:
            raise Refusal(f"no fallout {fallout_id}; see `vpdn fallout list`", RefusalKind.not_found)
        if fallout.state != "open":
            raise Refusal(f"fallout {fallout.fallout_id} was already resolved: {fallout.decision} by {fallout.decided_by}"
                          + (f" ({fallout.reason})" if fallout.reason else ""), RefusalKind.conflict)
        decision = validated(FalloutDecision, {"fallout_id": fallout.fallout_id, "action": action, "by": by,
                                               "reason": reason})
        return fallout.order_no, await self.decide(fallout.order_no, "resolve_fallout", decision)

    async def _recorded_order(self, order_no: str) -> OrderView:
        """An order the store does not record (yet). One whose workflow was just started is
        recorded by its first step: wait for it (a few seconds at most) rather than refuse it."""
        try:
            client = await self._connect()
        except RuntimeError:  # Temporal unreachable: the order is unknown all the same
            return self.order(order_no)
        for order_type in STARTED_DIRECTLY:
            try:
                await client.get_workflow_handle(workflow_id_for(order_type, order_no.strip())).describe()
            except RPCError:
                continue
            deadline = asyncio.get_running_loop().time() + ACCEPTANCE_WAIT.total_seconds()
            while asyncio.get_running_loop().time() < deadline:
                if (order := self._store.orders.get_order(order_no.strip())) is not None:
                    return order
                await asyncio.sleep(0.2)
            raise Refusal(f"order {order_no} was submitted but is not recorded yet: try again in a moment",
                          RefusalKind.conflict)
        return self.order(order_no)

    @staticmethod
    async def _until_past_acceptance(handle: Any) -> None:
        """An audit decision made the moment the order was submitted waits (a few seconds at
        most) for the order to be accepted and open its audit, instead of being refused."""
        deadline = asyncio.get_running_loop().time() + ACCEPTANCE_WAIT.total_seconds()
        while asyncio.get_running_loop().time() < deadline:
            try:
                status: OrderStatus = await handle.query("status", result_type=OrderStatus)
            except RPCError:
                return  # not started (queued): the update says why
            if status.state != OrderState.acknowledged:
                return
            await asyncio.sleep(0.2)

    # The acceptance basic information table

    def acceptance_table(self, service_id: str, order_no: str | None = None) -> AcceptanceTable:
        """A service's table as it stands, or the one kept with one of its orders."""
        service = self._store.services.get_service(service_id.strip())
        if service is None:
            raise Refusal(f"no service {service_id}", RefusalKind.not_found)
        if order_no is None:
            return self._store.acceptance.service_table(service.service_id)
        if self.order(order_no).service_id != service.service_id:
            raise Refusal(f"order {order_no} is not an order of service {service.service_id}")
        return self.order_table(order_no)

    def order_table(self, order_no: str) -> AcceptanceTable:
        """The table kept with an order when it ended."""
        order = self.order(order_no)
        table = self._store.acceptance.order_table(order.order_no)
        if table is None:
            raise Refusal(f"order {order.order_no} has no acceptance table: it is {order.state}, and a table is "
                          "kept when an opening or a member order completes or ends partial", RefusalKind.not_found)
        return table

    # Look-ups the checks share

    def order(self, order_no: str) -> OrderView:
        return self.reads.order(order_no)

    def active_service(self, service_id: str, what: str) -> ServiceView:
        service = self._store.services.get_service(service_id.strip())
        if service is None:
            raise Refusal(f"no service {service_id}", RefusalKind.not_found)
        if service.state == "closing":
            closure = self._store.orders.latest_order_no(service.service_id, OrderType.service_closure)
            raise Refusal(f"service {service.service_id} is being closed" + (f" by order {closure}" if closure else "")
                          + ": it accepts no further orders")
        if service.state != "active":
            raise Refusal(f"service {service_id} is {service.state}: it takes no {what}")
        return service

    def _refuse_contract_of_another_customer(self, number: str, customer_code: str) -> None:
        others = {service: customer for service, customer in self._store.contracts.services_with_number(number).items()
                  if customer != customer_code}
        if others:
            service, customer = next(iter(others.items()))
            raise Refusal(f"contract {number} is already used by service {service} of customer {customer}")

    def _amended_contract(self, service: ServiceView, change: dict) -> tuple[dict, ContractAmendment | None]:
        """Split a change file's amended contract from the change; checked against the version
        in force and other customers' contracts."""
        change = dict(change)
        if change.get("contract") is None:
            change.pop("contract", None)
            return change, None
        amendment: ContractAmendment = validated(ContractAmendment, change.pop("contract"), "contract")
        current = service.contract.contract if service.contract else None
        try:
            amendment.applied_to(current)
        except ValidationError as error:
            raise Refusal(f"contract: {validation_text(error)} (service {service.service_id} has no contract "
                          "yet: give number, signed_on, signed_by and tariff_reference)") from None
        if current and amendment.applied_to(current) == current:
            raise Refusal(f"contract: {amendment.number} is the contract in force: an amendment changes it")
        self._refuse_contract_of_another_customer(amendment.number, service.customer_code)
        return change, amendment

    # Starting and queueing

    def _check_order_no(self, order_no: str) -> None:
        """An order number is unique across every order type; MCH-… ones are GPMS's own."""
        if order_no.startswith(MEMBER_CHANGE_PREFIX):
            raise Refusal(f"order numbers starting with {MEMBER_CHANGE_PREFIX} are reserved for members' own "
                          "number changes")
        if known := self._store.orders.get_order(order_no):
            raise Refusal(f"order {order_no} was already submitted ({known.order_type} {known.workflow_id})",
                          RefusalKind.conflict)

    async def _start(self, run: Any, order: Any, order_type: OrderType, order_no: str, customer_code: str,
                     provinces: list[str]) -> None:
        try:
            await start_order(await self._client(), self._settings.task_queue, run, order, order_type=order_type,
                              order_no=order_no, customer_code=customer_code, provinces=provinces)
        except WorkflowAlreadyStartedError:
            raise Refusal(f"order {order_no} was already submitted (workflow {workflow_id_for(order_type, order_no)})",
                          RefusalKind.conflict) from None
        except (RPCError, RPCTimeoutOrCancelledError) as error:
            raise self._unconfirmed(order_no, error) from None

    async def _queue(self, order_class: type, service: ServiceView, fields: dict) -> Accepted:
        order = validated(order_class, {**fields, "service_id": service.service_id,
                                        "customer_code": service.customer_code, "provinces": service.provinces,
                                        "apn": service.apn})
        self._check_order_no(order.order_no)
        answer = await self._submit(order)
        return self._accepted(order.order_no, OrderType(order.kind), service_id=service.service_id, queue=answer)

    async def _submit(self, order: ServiceOrder) -> SubmissionAnswer:
        try:
            return await submit_service_order(await self._client(), self._settings.task_queue, order)
        except WorkflowUpdateFailedError as error:
            raise Refusal(failure_text(error.cause), RefusalKind.conflict) from None
        except (RPCError, RPCTimeoutOrCancelledError) as error:
            raise self._unconfirmed(order.order_no, error) from None

    @staticmethod
    def _accepted(order_no: str, order_type: OrderType, **fields: Any) -> Accepted:
        return Accepted(order_no=order_no, order_type=order_type, workflow_id=workflow_id_for(order_type, order_no),
                        **fields)


def staging_conflict_text(conflict: StagingConflict) -> str:
    if conflict.submitted:
        return f"order {conflict.order_no} was already submitted: its members cannot change; choose a new order number"
    return (f"order {conflict.order_no} is being submitted with other members (staged at "
            f"{conflict.staged_at:%H:%M:%S} UTC): choose a new order number (an interrupted submission is "
            f"cleared {int(ORPHANS_CLEARED_AFTER.total_seconds() // 60)} minutes after it was staged)")
