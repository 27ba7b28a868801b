"""OTP-style supervision for the service's actors: child specs, restarts, escalation."""

from .logic import Action, Exit, RestartWindow, Verdict, decide
from .spec import ChildSpec, Intensity, Restart, Strategy
from .supervisor import ActorContext, ChildRecord, ChildState, SafeMode, Supervisor

__all__ = [
    "Action",
    "ActorContext",
    "ChildRecord",
    "ChildSpec",
    "ChildState",
    "Exit",
    "Intensity",
    "Restart",
    "RestartWindow",
    "SafeMode",
    "Strategy",
    "Supervisor",
    "Verdict",
    "decide",
]
