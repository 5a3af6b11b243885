"""weatherbot: answers questions about the weather, remembers notes, searches its docs."""
