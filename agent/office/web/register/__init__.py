"""The register: units, households, residents, document checks and change requests."""
