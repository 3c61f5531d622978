"""The bundled sample and synthetic test videos, and their evaluation."""
