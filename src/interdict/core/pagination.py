from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


MAX_PAGE = 100_000  # far beyond any real browsing; keeps OFFSET inside the databases' integer range


class PageParams(BaseModel):
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    page_size: int = Field(default=25, ge=1, le=200)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Number of matches, exact when total_exact, else a lower bound.")
    total_exact: bool = True
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass
class Slice(Generic[T]):
    """One page of domain objects (services return this; the API wraps it in :class:`Page`)."""

    items: list[T]
    total: int
    page: int
    page_size: int
    total_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))
