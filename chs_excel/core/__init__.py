"""The scoring core: measure types, the weighted roll-up and how scores are explained. Pure: no sheets, no files."""
