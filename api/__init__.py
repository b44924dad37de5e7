"""GPMS's front door: the authenticated HTTP API for staff and for the hub (`vpdn api`).

Every order, decision and read goes through here to the intake and the order store; the
routers say what a caller may do, `auth` says who the caller is.
"""
