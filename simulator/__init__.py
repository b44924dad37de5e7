"""The embedded stand-in for the HQ hub and the 31 provinces' systems (plus HQ settlement and
SMS): an HTTP service with its own database, fault injection and completion reports."""

from simulator.app import create_app

__all__ = ["create_app"]
