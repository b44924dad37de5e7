"""Activities that talk to the access province's AAA (and, for passwords, the SMS gateway)."""

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.batches import BatchMembers
from adapters.aaa import Aaa
from adapters.passwords import MemberPasswords, PasswordHashing, SecretVersionMissing
from adapters.sms import SmsGateway
from models.members import BatchOutcome, MemberStep
from store.passwords import PasswordRecords

PASSWORD_TEXT = "Your VPDN {apn} password is {password}. Keep it secret."


def password_sent(text: str, apn: str) -> str | None:
    """The password a password SMS for that APN carries (None: it is no such SMS)."""
    head, tail = PASSWORD_TEXT.split("{password}")
    head = head.format(apn=apn)
    return text[len(head):-len(tail)] if text.startswith(head) and text.endswith(tail) else None


class AaaActivities:
    def __init__(self, aaa: Aaa, sms: SmsGateway, passwords: MemberPasswords, issued: PasswordRecords,
                 batches: BatchMembers, hashing: PasswordHashing | None = None) -> None:
        self._aaa = aaa
        self._sms = sms
        self._passwords = passwords
        self._issued = issued
        self._batches = batches
        self._hashing = hashing or PasswordHashing()

    @activity.defn
    async def create_accounts(self, step: MemberStep) -> BatchOutcome:
        """AAA accounts for a batch, then each new member's password by SMS (所有用户AAA信息
        发送, 短信发送用户密码信息). Passwords exist only inside this function: the AAA gets
        hashes, the workflow learns counts. Every attempt derives them with the secret version
        the first one recorded. Heartbeats as the hashes are made and the AAA answers: however
        slow the machine, the step runs as long as it progresses. Key: (order, stage, access
        province, batch). Compensation: remove_accounts."""
        batch = step.batch
        version = await asyncio.to_thread(self._issued.issued_version, step.key, self._passwords.current_version)

        async def create(numbers: list[str]) -> list[dict]:
            try:
                passwords = {m: self._passwords.password(batch.order_no, m, version) for m in numbers}
            except SecretVersionMissing as error:
                raise ApplicationError(str(error), type="PasswordSecretMissing") from None
            hashes = await self._hashing.hashes(passwords, lambda done: activity.heartbeat(
                f"{done} of {len(passwords)} passwords hashed"))
            results = await self._aaa.create_accounts(batch.province, batch.service_id, batch.apn, hashes, step.key)
            activity.heartbeat("AAA accounts created")
            if created := [r["msisdn"] for r in results if r["ok"]]:
                await self._sms.send(
                    {m: PASSWORD_TEXT.format(apn=batch.apn, password=passwords[m]) for m in created},
                    batch.key(f"{step.stage}:sms"))
            return results

        return await self._batches.act(step, create)

    @activity.defn
    async def remove_accounts(self, step: MemberStep) -> BatchOutcome:
        """Remove the batch's AAA accounts where present (exit, compensation)."""
        return await self._batches.act(step, lambda numbers: self._aaa.remove_accounts(
            step.batch.province, step.batch.service_id, numbers, step.key))
