"""A plugin class shared by the local registry tests."""


class Notes:
    """Keep short notes."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> int:
        """Add a note; returns how many there are."""
        self.items.append(text)
        return len(self.items)

    async def show(self) -> list[str]:
        return list(self.items)

    def _private(self) -> None:
        raise AssertionError("private methods are not actions")
