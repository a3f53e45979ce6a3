"""Professional learning communities (PLCs): a facilitator and the teachers who learn together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organization, User
from app.db import Base, PublicId, UTCDateTime, utcnow

MEMBER_ROLES = ("facilitator", "member")


class Community(PublicId, Base):
    __tablename__ = "community"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The language its meetings are held and recorded in (the record's PDF); each member reads pages in their own.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    members: Mapped[list[CommunityMember]] = relationship(back_populates="community", cascade="all, delete-orphan",
                                                          passive_deletes=True, order_by="CommunityMember.added_at")


class CommunityMember(Base):
    __tablename__ = "community_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")  # facilitator | member
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    community: Mapped[Community] = relationship(back_populates="members")
    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("community_id", "user_id", name="uq_community_member_community_user"),)
