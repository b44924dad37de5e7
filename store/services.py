"""VPDN services and their versioned group tariff packages."""

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from models.service import ServiceRegistration, ServiceUpdate, ServiceView, TariffVersion
from models.service import TariffPackage as TariffPackageSpec
from store.contracts import add_contract_version, current_version, services_with_number
from store.tables import (
    GroupCustomer,
    Order,
    ServiceContract,
    TariffDiscount,
    TariffPackage,
    TariffParameter,
    VpdnService,
)

# A service the provinces should hold (a closing one until its closure completes).
OPEN_STATES = ("active", "closing")


class ServiceRefused(ValueError):
    """The service cannot be recorded: its customer is not acquired, its APN is taken, or its
    contract number is another customer's."""


class ServiceRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def apn_in_use(self, apn: str) -> str | None:
        """The service that uses this APN, if any."""
        with Session(self.engine) as session:
            return session.exec(select(VpdnService.service_id).where(VpdnService.apn == apn)).first()

    def register_service(self, registration: ServiceRegistration) -> None:
        """Record a service being opened, with version 1 of its tariff package.
        Idempotent by service id; raises ServiceRefused when the customer is not acquired or
        another service has the APN. One session (one connection) throughout."""
        with Session(self.engine) as session:
            if session.get(VpdnService, registration.service_id):
                return
            if session.get(GroupCustomer, registration.customer_code) is None:
                raise ServiceRefused(f"customer {registration.customer_code} is not acquired: "
                                     f"run `vpdn customer acquire {registration.customer_code}` first")
            owner = session.exec(
                select(VpdnService.service_id).where(VpdnService.apn == registration.apn)).first()
            if owner:
                raise ServiceRefused(f"APN {registration.apn} is already used by service {owner}")
            contract = registration.contract
            others = {service: customer for service, customer in
                      services_with_number(session, contract.number).items()
                      if customer != registration.customer_code} if contract else {}
            if others:
                service, customer = next(iter(others.items()))
                raise ServiceRefused(f"contract {contract.number} is already used by service {service} "
                                     f"of customer {customer}")
            session.add(
                VpdnService(
                    service_id=registration.service_id,
                    customer_code=registration.customer_code,
                    apn=registration.apn,
                    access_province=registration.access_province,
                    paying_province=registration.paying_province,
                    provinces=registration.provinces,
                    state="opening",
                    line=registration.line.model_dump() if registration.line else None,
                    rental_rule=registration.rental_rule,
                )
            )
            session.flush()
            package = TariffPackage(service_id=registration.service_id, version=1, name=registration.tariff.name)
            session.add(package)
            session.flush()
            tariff = registration.tariff
            session.add_all(
                [TariffParameter(package_id=package.id, name=name, value=value)
                 for name, value in tariff.parameters.items()]
                + [TariffDiscount(package_id=package.id, name=name, value=value)
                   for name, value in tariff.discounts.items()]
            )
            if contract:
                add_contract_version(session, registration.service_id, registration.order_no, contract)
            order = session.get(Order, registration.order_no)
            if order is not None:
                order.service_id = registration.service_id
                session.add(order)
            try:
                session.commit()
            except IntegrityError as error:
                raise ServiceRefused(f"APN {registration.apn} is already used by another service") from error

    def set_service_state(self, service_id: str, state: str) -> None:
        self.update_service(ServiceUpdate(service_id=service_id, state=state))

    def update_service(self, update: ServiceUpdate) -> None:
        """Record what a completed order changed on the service (fields left None stay)."""
        with Session(self.engine) as session:
            service = session.get(VpdnService, update.service_id, with_for_update=True)
            if service is None:
                raise LookupError(f"no service {update.service_id}")
            if update.line is not None:
                service.line = update.line.model_dump()
            if update.remove_line:
                service.line = None
            for field in ("provinces", "paying_province", "rental_id", "rental_start", "state"):
                if getattr(update, field) is not None:
                    setattr(service, field, getattr(update, field))
            session.add(service)
            session.commit()

    def record_tariff_version(self, version: TariffVersion) -> None:
        """Record a new version of the service's tariff package (idempotent by version)."""
        with Session(self.engine) as session:
            exists = session.exec(select(TariffPackage.id).where(
                TariffPackage.service_id == version.service_id, TariffPackage.version == version.version)).first()
            if exists:
                return
            package = TariffPackage(service_id=version.service_id, version=version.version, name=version.tariff.name)
            session.add(package)
            session.flush()
            session.add_all(
                [TariffParameter(package_id=package.id, name=n, value=v) for n, v in version.tariff.parameters.items()]
                + [TariffDiscount(package_id=package.id, name=n, value=v) for n, v in version.tariff.discounts.items()]
            )
            session.commit()

    def discard_service_if_present(self, service_id: str) -> None:
        """Forget a service that never opened (compensation of its registration)."""
        with Session(self.engine) as session:
            service = session.get(VpdnService, service_id)
            if service is None or service.state != "opening":
                return
            package_ids = session.exec(
                select(TariffPackage.id).where(TariffPackage.service_id == service_id)
            ).all()
            for table in (TariffParameter, TariffDiscount):
                session.exec(delete(table).where(table.package_id.in_(package_ids)))
            session.exec(delete(TariffPackage).where(TariffPackage.service_id == service_id))
            session.exec(delete(ServiceContract).where(ServiceContract.service_id == service_id))
            for order in session.exec(select(Order).where(Order.service_id == service_id)):
                order.service_id = None
                session.add(order)
            session.flush()
            session.delete(service)
            session.commit()

    def list_services(self) -> list[ServiceView]:
        with Session(self.engine) as session:
            service_ids = session.exec(select(VpdnService.service_id).order_by(VpdnService.service_id)).all()
        return [self.get_service(service_id) for service_id in service_ids]

    def get_service(self, service_id: str) -> ServiceView | None:
        """A service with its current (highest) tariff package version."""
        with Session(self.engine) as session:
            service = session.get(VpdnService, service_id)
            if service is None:
                return None
            package = session.exec(
                select(TariffPackage).where(TariffPackage.service_id == service_id)
                .order_by(TariffPackage.version.desc())
            ).first()
            parameters = session.exec(select(TariffParameter).where(TariffParameter.package_id == package.id))
            discounts = session.exec(select(TariffDiscount).where(TariffDiscount.package_id == package.id))
            return ServiceView(
                **service.model_dump(exclude={"created_at"}),
                tariff_version=package.version,
                tariff=TariffPackageSpec(
                    name=package.name or service.apn,
                    parameters={p.name: p.value for p in parameters},
                    discounts={d.name: d.value for d in discounts},
                ),
                contract=current_version(session, service_id),
            )
