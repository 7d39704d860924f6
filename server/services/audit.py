"""The audit log: who changed a score, a role, a regrade or an import, and why.

Shared by every area that changes members' results; entries are added to the session and
land with the change they describe (never committed here).
"""

from __future__ import annotations

from typing import Any

from server.extensions import db
from server.models.base import utcnow
from server.models.instructor import AuditLog
from server.models.user import User


def audit(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    comment: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit entry (not committed: it lands with the change it describes)."""
    row = AuditLog(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        comment=comment,
        detail=detail or {},
        created_at=utcnow(),
    )
    db.session.add(row)
    return row
