"""Orders on a customer or a service as a whole: acquisition and opening (started directly),
tariff change, service change and closure (queued on the service, one at a time)."""

from datetime import date, datetime, timedelta, timezone

from pydantic import ValidationError

from intake.base import IntakeBase
from intake.validation import validated
from models.contract import ContractAmendment
from models.customer import AcquireCustomerInput
from models.orders import OrderType
from models.provinces import PROVINCE_CODES
from models.service import ServiceOpeningOrder, ServiceView, bad_fees
from models.service_changes import (
    ServiceChangeOrder,
    ServiceClosureOrder,
    TariffChange,
    TariffChangeOrder,
    TariffChangeRefused,
    apply_tariff_change,
)
from models.views import Accepted
from models.words import counted
from refusal import Refusal, validation_text
from workflows.customer_acquisition import CustomerAcquisition
from workflows.service_opening import ServiceOpening

BEIJING = timezone(timedelta(hours=8))


class ServiceOrderIntake(IntakeBase):
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
        if fees := bad_fees(order.tariff.parameters):
            raise Refusal(f"tariff.parameters: {fees}")
        self._check_order_no(order.order_no)
        if self._store.customers.get_customer(order.customer_code) is None:
            raise Refusal(f"customer {order.customer_code} is not acquired: run `vpdn customer acquire "
                          f"{order.customer_code}` first")
        if owner := self._store.services.apn_in_use(order.apn):
            raise Refusal(f"APN {order.apn} is already used by service {owner}")
        if order.contract is None:
            raise Refusal("contract: an opening carries its contract: number, signed_on, signed_by (the signing "
                          "account manager) and tariff_reference (the approved tariff's reference)")
        _refuse_a_future_signing(order.contract.signed_on)
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
        if fees := bad_fees(parsed.parameters):
            raise Refusal(fees)
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

    # Contracts

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
        if amendment.signed_on is not None:
            _refuse_a_future_signing(amendment.signed_on)
        if current and amendment.applied_to(current) == current:
            raise Refusal(f"contract: {amendment.number} is the contract in force: an amendment changes it")
        self._refuse_contract_of_another_customer(amendment.number, service.customer_code)
        return change, amendment


def _refuse_a_future_signing(signed_on: date) -> None:
    """A contract is reported once signed: not dated after today (Beijing time)."""
    if signed_on > datetime.now(BEIJING).date():
        raise Refusal(f"contract: signed_on {signed_on.isoformat()} is in the future: report a contract once it is "
                      "signed")
