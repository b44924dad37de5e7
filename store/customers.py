"""Group customers (集团客户) and their hierarchy: acquisition and the provinces' record changes."""

from sqlalchemy import Engine
from sqlmodel import Session, delete, select

from models.customer import CustomerChange, CustomerHierarchy, ProvincialCustomerRecord
from store.tables import CustomerUnit, GroupCustomer, utcnow


class CustomerRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save_customer(self, hierarchy: CustomerHierarchy) -> None:
        """Store the identified customer and replace its hierarchy (group + branches)."""
        with Session(self.engine) as session:
            customer = session.get(GroupCustomer, hierarchy.customer_code, with_for_update=True)
            if customer is None:
                customer = GroupCustomer(
                    customer_code=hierarchy.customer_code,
                    name=hierarchy.name,
                    credit_code=hierarchy.credit_code,
                    group_province=hierarchy.group_province,
                )
            else:
                customer.name = hierarchy.name
                customer.credit_code = hierarchy.credit_code
                customer.group_province = hierarchy.group_province
                customer.updated_at = utcnow()
            session.add(customer)
            session.exec(
                delete(CustomerUnit).where(CustomerUnit.customer_code == hierarchy.customer_code)
            )
            session.flush()
            group = CustomerUnit(
                customer_code=hierarchy.customer_code,
                province=hierarchy.group_province,
                name=hierarchy.name,
                level="group",
            )
            session.add(group)
            session.flush()
            session.add_all(
                CustomerUnit(
                    customer_code=hierarchy.customer_code,
                    province=branch.province,
                    name=branch.name,
                    level="branch",
                    parent_id=group.id,
                )
                for branch in hierarchy.branches
            )
            session.commit()

    def get_customer(self, customer_code: str) -> CustomerHierarchy | None:
        with Session(self.engine) as session:
            customer = session.get(GroupCustomer, customer_code)
            if customer is None:
                return None
            branches = session.exec(
                select(CustomerUnit)
                .where(CustomerUnit.customer_code == customer_code, CustomerUnit.level == "branch")
                .order_by(CustomerUnit.province)
            ).all()
            return CustomerHierarchy(
                customer_code=customer.customer_code,
                name=customer.name,
                credit_code=customer.credit_code,
                group_province=customer.group_province,
                branches=[
                    ProvincialCustomerRecord(
                        province=unit.province,
                        customer_code=customer_code,
                        name=unit.name,
                        credit_code=customer.credit_code,
                        level="branch",
                    )
                    for unit in branches
                ],
            )

    def apply_customer_change(self, change: CustomerChange) -> str:
        """Apply one province's changed record of a customer to the stored customer and its hierarchy; return what changed, in one line.

        A branch record adds or renames the province's branch; a deleted one removes it; the
        group-level record renames the customer, sets its credit code and the group's province.
        Raises LookupError when the customer was never acquired. Idempotent."""
        with Session(self.engine) as session:
            customer = session.get(GroupCustomer, change.customer_code, with_for_update=True)
            if customer is None:
                raise LookupError(f"customer {change.customer_code} is not in GPMS: "
                                  f"run `vpdn customer acquire {change.customer_code}` first")
            units = {unit.province: unit for unit in session.exec(
                select(CustomerUnit).where(CustomerUnit.customer_code == change.customer_code))}
            group = units.pop(customer.group_province)
            branch = units.get(change.province)
            in_group_province = change.province == customer.group_province
            if in_group_province and change.deleted:
                return f"{change.province} no longer holds the group record: the customer stays in GPMS"
            if in_group_province and change.level == "branch":
                return f"{change.province} holds the group record: a branch record there is not applied"
            if change.deleted:
                if branch is None:
                    return f"{change.province} had no branch: nothing to remove"
                session.delete(branch)
                done = f"branch {change.province} removed"
            elif change.level == "group":
                if branch is not None:  # the group moves to a province that held a branch
                    session.delete(branch)
                    session.flush()
                customer.name = group.name = change.name
                customer.credit_code = change.credit_code or customer.credit_code
                customer.group_province = group.province = change.province
                session.add(group)
                done = f"group in {change.province}: {change.name} ({customer.credit_code})"
            else:
                done = f"branch {change.province} {'updated' if branch else 'added'}: {change.name}"
                branch = branch or CustomerUnit(customer_code=change.customer_code, province=change.province,
                                                level="branch", parent_id=group.id)
                branch.name = change.name
                session.add(branch)
            customer.updated_at = utcnow()
            session.add(customer)
            session.commit()
            return done
