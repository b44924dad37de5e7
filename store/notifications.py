"""Provincial CRMs' notifications of members' own number changes and cancellations: kept
under their id with the numbers (which never travel in a workflow), and what became of
each — accepted with the orders it caused, or refused with the reason (an operator reads
them with `vpdn member notifications`)."""

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from models.member_changes import MemberNotification, NotificationView
from store.tables import MemberNotificationRecord, utcnow

notifications = MemberNotificationRecord.__table__


class NotificationConflict(ValueError):
    """A notification id already received with other content."""


class NotificationRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def receive(self, notification: MemberNotification, service_id: str | None, *, refused: str = "") -> None:
        """Keep a notification (for `service_id`, the service its number is a member of);
        with `refused`, it is recorded refused at once. The same notification again changes
        nothing; the same id with other content raises NotificationConflict."""
        fields = notification.model_dump()
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(notifications).values(
                    **fields, service_id=service_id, state="refused" if refused else "received", reason=refused,
                    orders=[], received_at=utcnow()))
        except IntegrityError:
            before = self.get(notification.notification_id)
            if MemberNotification.model_validate(before.model_dump()) != notification:
                raise NotificationConflict(
                    f"notification {notification.notification_id} was already received with other content "
                    f"({before.kind} from {before.province})") from None

    def get(self, notification_id: str) -> NotificationView | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(notifications)
                                     .where(notifications.c.notification_id == notification_id)).first()
        return None if row is None else NotificationView(**row._mapping)

    def refuse(self, notification_id: str, reason: str) -> None:
        """Record why a notification changes nothing (more of it, once accepted)."""
        with self.engine.begin() as connection:
            connection.execute(update(notifications).where(notifications.c.notification_id == notification_id)
                               .values(state="refused", reason=reason))

    def accept(self, notification_id: str, orders: list[str]) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(notifications).where(
                notifications.c.notification_id == notification_id, notifications.c.state == "received",
            ).values(state="accepted", orders=orders))

    def list_notifications(self, service_id: str | None = None, limit: int = 100) -> list[NotificationView]:
        """The latest notifications first (of one service)."""
        query = select(notifications).order_by(notifications.c.received_at.desc()).limit(limit)
        if service_id:
            query = query.where(notifications.c.service_id == service_id)
        with self.engine.connect() as connection:
            return [NotificationView(**row._mapping) for row in connection.execute(query)]
