"""Long jobs of the attendance pages (exports, roll sheets)."""
