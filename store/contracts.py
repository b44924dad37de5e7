"""Services' contracts (协议/合同), versioned: the opening's contract is version 1, each
amendment carried by a later order the next version."""

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from models.contract import Contract, ContractRecord, ContractVersion
from store.tables import ServiceContract, VpdnService


def add_contract_version(session: Session, service_id: str, order_no: str, contract: Contract) -> None:
    """Add the service's next contract version in the caller's transaction; an order that
    already recorded one adds nothing."""
    if session.exec(select(ServiceContract.id).where(
            ServiceContract.service_id == service_id, ServiceContract.order_no == order_no)).first():
        return
    latest = session.exec(select(func.max(ServiceContract.version)).where(
        ServiceContract.service_id == service_id)).one()
    session.add(ServiceContract(service_id=service_id, version=(latest or 0) + 1, order_no=order_no,
                                **contract.model_dump()))


def services_with_number(session: Session, number: str) -> dict[str, str]:
    """The services whose contract (any version) has this number, with their customer (in
    the caller's session: a write checks it without a second connection)."""
    return dict(session.exec(
        select(VpdnService.service_id, VpdnService.customer_code).join(
            ServiceContract, ServiceContract.service_id == VpdnService.service_id)
        .where(ServiceContract.number == number).distinct()).all())


def current_version(session: Session, service_id: str) -> ContractVersion | None:
    """The version in force (the latest), in the caller's session."""
    row = session.exec(select(ServiceContract).where(ServiceContract.service_id == service_id)
                       .order_by(ServiceContract.version.desc()).limit(1)).first()
    return _view(row) if row else None


def _view(row: ServiceContract) -> ContractVersion:
    return ContractVersion(service_id=row.service_id, version=row.version, order_no=row.order_no,
                           recorded_at=row.recorded_at,
                           contract=Contract(number=row.number, signed_on=row.signed_on, signed_by=row.signed_by,
                                             tariff_reference=row.tariff_reference))


class ContractRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def services_with_number(self, number: str) -> dict[str, str]:
        """The services whose contract (any version) has this number, with their customer."""
        with Session(self.engine) as session:
            return services_with_number(session, number)

    def record_amendment(self, record: ContractRecord) -> None:
        """Record an amended contract as the service's next version. Idempotent by order."""
        with Session(self.engine) as session:
            service = session.get(VpdnService, record.service_id, with_for_update=True)
            if service is None:
                raise LookupError(f"no service {record.service_id}")
            current = current_version(session, record.service_id)
            add_contract_version(session, record.service_id, record.order_no,
                                 record.amendment.applied_to(current.contract if current else None))
            session.commit()

    def current(self, service_id: str) -> ContractVersion | None:
        """The version in force (the latest)."""
        with Session(self.engine) as session:
            return current_version(session, service_id)

    def versions(self, service_id: str) -> list[ContractVersion]:
        with Session(self.engine) as session:
            return [_view(row) for row in session.exec(
                select(ServiceContract).where(ServiceContract.service_id == service_id)
                .order_by(ServiceContract.version))]
