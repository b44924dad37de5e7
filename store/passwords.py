"""Which version of the password secret a batch's member passwords were issued with."""

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from store.tables import PasswordIssue, utcnow

issues = PasswordIssue.__table__


class PasswordRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def issued_version(self, key: str, current: int) -> int:
        """The secret version of the passwords issued under this step's idempotency key:
        `current` the first time, the recorded one on every retry (on any worker, after a
        rotation)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(issues).values(idempotency_key=key, version=current, issued_at=utcnow()))
            return current
        except IntegrityError:
            with self.engine.connect() as connection:
                return connection.execute(select(issues.c.version)
                                          .where(issues.c.idempotency_key == key)).scalar_one()
